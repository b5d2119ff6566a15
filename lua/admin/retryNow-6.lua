--[[
  Moves one job from `retry`, `schedule` or `dead` to the producer end of its queue, as
  the scheduler does for a due job (a prioritized job: to the end of its priority in the
  queue's sorted set, as enqueueDue does). ZREM decides: when the scheduler (or another
  call) moved or deleted the member first, nothing is written, so the job is enqueued once.

  KEYS[1] the sorted set the job is taken from (retry, schedule or dead)
  KEYS[2] queues (set of queue names)
  KEYS[3] queue:<q>
  KEYS[4] verk:queue:<q>:prioritized
  KEYS[5] verk:queue:<q>:priority_seq
  KEYS[6] verk:wake (pub/sub channel)
  ARGV[1] the member exactly as stored
  ARGV[2] the payload to enqueue (with enqueued_at set)
  ARGV[3] the queue name

  The member leaves its set only once it is in its queue: when a queue key is of the wrong
  type, it stays where it is and the script returns Redis's error (the caller throws it).

  Returns 1 when this call moved the job, 0 when it was no longer in the set.
]]

--- @include "includes/priorityOf"
--- @include "includes/redisError"
--- @include "includes/pushJob"

if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local err = pushJob(KEYS[3], KEYS[4], KEYS[5], KEYS[6], ARGV[3], ARGV[2], priorityOf(ARGV[2]))
if err then return redis.error_reply('could not enqueue the job into queue ' .. ARGV[3] .. ': ' .. err) end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[3])
return 1
