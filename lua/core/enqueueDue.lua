--[[
  Moves due jobs from `schedule` or `retry` to their queues. Several nodes run this at
  once; the member's presence decides which one moves a job, so each job is enqueued
  exactly once. A member that cannot be enqueued (not a job) goes to `dead` instead of
  blocking the set. A job with a priority goes to the end of its priority in the queue's
  sorted set of prioritized jobs (see enqueuePrioritized), a plain job to the producer end
  of the list.

  A member is removed only once it is written elsewhere: when its queue's key is of the
  wrong type it goes to `dead` with error_class RedisWriteError; when `dead` refuses it
  too, it stays where it is and the script returns the error after moving the others (the
  scheduler logs it, rate-limited, and tries again next round). `dead` is trimmed to
  maxDeadJobs; a trimmed dependable job takes its dependents to dead (trimDead).

  KEYS[1]  the sorted set the jobs are taken from (schedule or retry)
  KEYS[2]  queues (set of queue names)
  KEYS[3]  dead
  KEYS[4]  stat:failed
  KEYS[5]  stat:failed:<YYYY-MM-DD>
  KEYS[6]  verk:wake (pub/sub channel)
  KEYS[7+] for each target queue, three keys: queue:<q>, verk:queue:<q>:prioritized,
           verk:queue:<q>:priority_seq
  and last, five keys: verk:flow:pending, dependents, blocked, waiting_on, lost
  ARGV[1]  maxDeadJobs
  ARGV[2]  now (epoch seconds), the score of a job sent to dead
  then triples per job:
    member as stored, index in KEYS of its target (3 = dead, else the queue:<q> key),
    payload to write
  and the queue name of every target queue, in KEYS order, as the last (#KEYS - 11) / 3
  arguments.

  Returns how many members were moved.
]]

--- @include "includes/priorityOf"
--- @include "includes/redisError"
--- @include "includes/pushJob"
--- @include "includes/setJsonFields"
--- @include "includes/withError"
--- @include "includes/flow/loseDependable"
--- @include "includes/flow/trimDead"
--- @include "includes/stats/incrDaily"

local queueCount = (#KEYS - 11) / 3
local firstName = #ARGV - queueCount + 1
local moved = 0
local dead = 0
local failure
for i = 3, firstName - 1, 3 do
  local member, target, payload = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  if redis.call('ZSCORE', KEYS[1], member) then
    local err
    if target == 3 then
      err = redisError(redis.pcall('ZADD', KEYS[3], ARGV[2], payload))
    else
      local name = ARGV[firstName + (target - 7) / 3]
      err = pushJob(KEYS[target], KEYS[target + 1], KEYS[target + 2], KEYS[6], name, payload, priorityOf(payload))
      if err then
        -- The job as it was stored (it never reached its queue), with the reason.
        local failed = withError(member, 'RedisWriteError', 'Could not enqueue the job into queue ' .. name .. ' (' .. err .. ')', ARGV[2])
        err = redisError(redis.pcall('ZADD', KEYS[3], ARGV[2], failed))
        target = 3
      else
        redis.call('SADD', KEYS[2], name)
      end
    end
    if err then
      failure = failure or err
    else
      redis.call('ZREM', KEYS[1], member)
      moved = moved + 1
      if target == 3 then dead = dead + 1 end
    end
  end
end
if dead > 0 then
  local n = #KEYS
  trimDead({ dead = KEYS[3], pending = KEYS[n - 4], dependents = KEYS[n - 3], blocked = KEYS[n - 2], waitingOn = KEYS[n - 1], lost = KEYS[n] }, tonumber(ARGV[1]), ARGV[2])
  redis.call('INCRBY', KEYS[4], dead)
  incrDaily(KEYS[5], dead)
end
if failure then return redis.error_reply('could not move a due job to its queue nor to ' .. KEYS[3] .. ': ' .. failure) end
return moved
