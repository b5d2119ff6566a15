-- Adds a job at the end of its queue, where consumers take it last: with a priority (from
-- priorityOf), after the others of that priority in the prioritized set, waking idle
-- nodes when the set was empty; without one, Sidekiq's LPUSH on the list.
-- Returns nil, or Redis's error text when a key is of the wrong type (the
-- job was then not written).
--- @include "includes/redisError"
local function pushJob(listKey, zsetKey, seqKey, wakeChannel, queueName, payload, priority)
  if priority then
    local empty = redis.call('EXISTS', zsetKey) == 0
    if empty then
      local err = redisError(redis.pcall('SET', seqKey, 0))
      if err then return err end
    end
    local seq = redis.pcall('INCR', seqKey)
    local err = redisError(seq) or redisError(redis.pcall('ZADD', zsetKey, -priority * PRIORITY_SCORE_STEP + seq, payload))
    if err then return err end
    if empty then redis.call(PUBLISH_COMMAND, wakeChannel, queueName) end
  else
    local err = redisError(redis.pcall('LPUSH', listKey, payload))
    if err then return err end
  end
  return nil
end
