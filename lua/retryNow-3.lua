--[[
  Moves one job from `retry`, `schedule` or `dead` to the producer end of its queue, as
  the scheduler does for a due job. ZREM decides: when the scheduler (or another call)
  moved or deleted the member first, nothing is written, so the job is enqueued once.

  KEYS[1] the sorted set the job is taken from (retry, schedule or dead)
  KEYS[2] queues (set of queue names)
  KEYS[3] queue:<q>
  ARGV[1] the member exactly as stored
  ARGV[2] the payload to enqueue (with enqueued_at set)
  ARGV[3] the queue name

  Returns 1 when this call moved the job, 0 when it was no longer in the set.
]]
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return 1
