-- Gives back the slot of a job a node held under its queue's limits (its field in the
-- node's held hash): the queue's running count and its group's. Returns 1 when the job
-- held a slot, 0 when it did not (released already, or fetched without limits).
local function releaseHeld(heldKey, limitsKey, groupStateKey, job)
  local group = redis.call('HGET', heldKey, job)
  if not group then return 0 end
  redis.call('HDEL', heldKey, job)
  if redis.call('HINCRBY', limitsKey, 'running', -1) < 0 then redis.call('HSET', limitsKey, 'running', 0) end
  if group ~= '' then
    if redis.call('HINCRBY', groupStateKey, 'r:' .. group, -1) <= 0 then redis.call('HDEL', groupStateKey, 'r:' .. group) end
  end
  return 1
end

-- After slots were given back: nodes that found the queue or a group at its concurrency
-- (they set `waiting`) are woken on the wake channel, instead of polling.
local function wakeWaiting(limitsKey, wakeChannel, queueName)
  if redis.call('HDEL', limitsKey, 'waiting') == 1 then redis.call('PUBLISH', wakeChannel, queueName) end
end
