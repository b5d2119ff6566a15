-- Adds a job at the end of its queue, where consumers take it last: with a priority (from
-- priorityOf), after the others of that priority in the prioritized set, waking idle
-- nodes when the set was empty; without one, Sidekiq's LPUSH on the list.
local function pushJob(listKey, zsetKey, seqKey, wakeChannel, queueName, payload, priority)
  if priority then
    local empty = redis.call('EXISTS', zsetKey) == 0
    if empty then redis.call('SET', seqKey, 0) end
    redis.call('ZADD', zsetKey, -priority * PRIORITY_SCORE_STEP + redis.call('INCR', seqKey), payload)
    if empty then redis.call('PUBLISH', wakeChannel, queueName) end
  else
    redis.call('LPUSH', listKey, payload)
  end
end
