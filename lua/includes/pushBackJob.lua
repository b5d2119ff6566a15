-- Puts a job back at the head of its queue, where consumers take it next (shutdown,
-- reconcile, recovery): sequence 0 of its priority in the prioritized set, or the
-- consumer end of the list. Returns whether it went to
-- the set, and Redis's error text when a key is of the wrong type (nothing written).
--- @include "includes/priorityOf"
--- @include "includes/redisError"
local function pushBackJob(listKey, zsetKey, job)
  local priority = priorityOf(job)
  if priority then
    return true, redisError(redis.pcall('ZADD', zsetKey, -priority * PRIORITY_SCORE_STEP, job))
  end
  return false, redisError(redis.pcall('RPUSH', listKey, job))
end
