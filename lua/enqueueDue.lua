--[[
  Moves due jobs from `schedule` or `retry` to their queues. Several nodes run this at
  once; ZREM decides which one moves a job, so each job is enqueued exactly once. A
  member that cannot be enqueued (not a job) goes to `dead` instead of blocking the set.
  A job with a priority goes to the end of its priority in the queue's sorted set of
  prioritized jobs (see enqueuePrioritized), a plain job to the producer end of the list.

  KEYS[1]  the sorted set the jobs are taken from (schedule or retry)
  KEYS[2]  queues (set of queue names)
  KEYS[3]  dead
  KEYS[4]  stat:failed
  KEYS[5]  stat:failed:<YYYY-MM-DD>
  KEYS[6]  verk:wake (pub/sub channel)
  KEYS[7+] for each target queue, three keys: queue:<q>, verk:queue:<q>:prioritized,
           verk:queue:<q>:priority_seq
  ARGV[1]  maxDeadJobs
  ARGV[2]  now (epoch seconds), the score of a job sent to dead
  then triples per job:
    member as stored, index in KEYS of its target (3 = dead, else the queue:<q> key),
    payload to write
  and the queue name of every target queue, in KEYS order, as the last (#KEYS - 6) / 3
  arguments.

  Returns how many members were moved.
]]

--- @include "includes/priorityOf"
--- @include "includes/pushJob"
--- @include "includes/incrDaily"

local queueCount = (#KEYS - 6) / 3
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
      local name = ARGV[firstName + (target - 7) / 3]
      pushJob(KEYS[target], KEYS[target + 1], KEYS[target + 2], KEYS[6], name, payload, priorityOf(payload))
      redis.call('SADD', KEYS[2], name)
    end
  end
end
if dead > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[1]) - 1)
  redis.call('INCRBY', KEYS[4], dead)
  incrDaily(KEYS[5], dead)
end
return moved
