--[[
  Moves due jobs from `schedule` or `retry` to their queues. Several nodes run this at
  once; ZREM decides which one moves a job, so each job is enqueued exactly once. A
  member that cannot be enqueued (not a job) goes to `dead` instead of blocking the set.

  KEYS[1]  the sorted set the jobs are taken from (schedule or retry)
  KEYS[2]  queues (set of queue names)
  KEYS[3]  dead
  KEYS[4]  stat:failed
  KEYS[5]  stat:failed:<YYYY-MM-DD>
  KEYS[6+] queue:<q> for each target queue
  ARGV[1]  maxDeadJobs
  ARGV[2]  now (epoch seconds), the score of a job sent to dead
  then triples per job:
    member as stored, index in KEYS of its target (3 = dead), payload to write
  and for every KEYS[i], i >= 6, its queue name at ARGV[...]: passed as the last
  (#KEYS - 5) arguments in KEYS order.

  Returns how many members were moved.
]]
local queueCount = #KEYS - 5
local firstName = #ARGV - queueCount + 1
local moved = 0
local dead = 0
for i = 3, firstName - 1, 3 do
  local member, target, payload = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  if redis.call('ZREM', KEYS[1], member) == 1 then
    moved = moved + 1
    if target == 3 then
      redis.call('ZADD', KEYS[3], ARGV[2], payload)
      dead = dead + 1
    else
      redis.call('LPUSH', KEYS[target], payload)
      redis.call('SADD', KEYS[2], ARGV[firstName + target - 6])
    end
  end
end
if dead > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[1]) - 1)
  redis.call('INCRBY', KEYS[4], dead)
  redis.call('INCRBY', KEYS[5], dead)
end
return moved
