--[[
  Moves jobs of `retry`, `schedule` or `dead` to the end of their queues now, as
  retryNow does for one (a prioritized job to the end of its priority in the queue's
  sorted set): the batched form behind "Retry now" on a selection and "Retry all". The
  member's presence decides: one that the scheduler or another call moved or deleted
  first is left alone, so each job is enqueued once; calling again with the same members
  moves nothing more.

  A member leaves its set only once it is in its queue: when a queue key is of the wrong
  type, that job stays where it is, the others move, and the reply carries the error.

  KEYS[1]  the sorted set the jobs are taken from
  KEYS[2]  queues (set of queue names)
  KEYS[3]  verk:wake (pub/sub channel)
  KEYS[4+] for each target queue, three keys: queue:<q>, verk:queue:<q>:prioritized,
           verk:queue:<q>:priority_seq
  ARGV     triples per job: member as stored, index in KEYS of its queue:<q>, payload to
           enqueue (with enqueued_at set); then the name of every target queue, in KEYS
           order, as the last (#KEYS - 3) / 3 arguments

  Returns { error text or '', then the number (1-based) of each job this call moved }.
]]

--- @include "includes/priorityOf"
--- @include "includes/redisError"
--- @include "includes/pushJob"

local queueCount = (#KEYS - 3) / 3
local firstName = #ARGV - queueCount + 1
local reply = { '' }
for i = 1, firstName - 1, 3 do
  local member, target, payload = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  if redis.call('ZSCORE', KEYS[1], member) then
    local name = ARGV[firstName + (target - 4) / 3]
    local err = pushJob(KEYS[target], KEYS[target + 1], KEYS[target + 2], KEYS[3], name, payload, priorityOf(payload))
    if err then
      if reply[1] == '' then reply[1] = 'could not enqueue a job into queue ' .. name .. ': ' .. err end
    else
      redis.call('SADD', KEYS[2], name)
      redis.call('ZREM', KEYS[1], member)
      reply[#reply + 1] = (i + 2) / 3
    end
  end
end
return reply
