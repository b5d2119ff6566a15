-- Puts a job back at the head of its queue, where consumers take it next (shutdown,
-- reconcile, recovery): sequence 0 of its priority in the prioritized set, or the
-- consumer end of the list. Returns true when it went to the set.
--- @include "includes/priorityOf"
local function pushBackJob(listKey, zsetKey, job)
  local priority = priorityOf(job)
  if priority then
    redis.call('ZADD', zsetKey, -priority * PRIORITY_SCORE_STEP, job)
    return true
  end
  redis.call('RPUSH', listKey, job)
  return false
end
