-- Counts a job of a batch as `outcome` ('succeeded' or 'dead'). When it was the batch's
-- last pending job, puts the callback in `schedule` (due `now`) with the counts in place
-- of its placeholder argument, once (HSETNX completed_at), and lets the batch expire
-- after `retention` seconds. Returns 1 when it scheduled the callback.
local function countInBatch(batchKey, scheduleKey, outcome, now, retention)
  if redis.call('EXISTS', batchKey) == 0 then return 0 end
  redis.call('HINCRBY', batchKey, outcome, 1)
  if redis.call('HINCRBY', batchKey, 'pending', -1) > 0 or redis.call('HSETNX', batchKey, 'completed_at', now) == 0 then return 0 end
  local b = redis.call('HMGET', batchKey, 'callback', 'placeholder', 'total', 'succeeded', 'dead', 'bid')
  local counts = string.format('{"bid":"%s","total":%d,"succeeded":%d,"dead":%d}', b[6], b[3], b[4], b[5])
  local s, e = string.find(b[1], b[2], 1, true)
  redis.call('ZADD', scheduleKey, now, string.sub(b[1], 1, s - 1) .. counts .. string.sub(b[1], e + 1))
  redis.call('EXPIRE', batchKey, retention)
  return 1
end
