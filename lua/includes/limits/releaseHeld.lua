-- Slots a node held under its queue's limits (its held hash: job -> group, '' for none).
-- takeHeld removes a job's entry and returns its group ('' ungrouped), or nil when the job
-- held no slot (given back already, or fetched without limits); giveBack then lowers the
-- queue's running count and each group's by what was taken, one command per group.
local function takeHeld(heldKey, job, released)
  local group = redis.call('HGET', heldKey, job)
  if not group then return nil end
  redis.call('HDEL', heldKey, job)
  released.total = released.total + 1
  if group ~= '' then released.groups[group] = (released.groups[group] or 0) + 1 end
  return group
end

local function giveBack(limitsKey, groupStateKey, released)
  if released.total == 0 then return end
  if redis.call('HINCRBY', limitsKey, 'running', -released.total) < 0 then redis.call('HSET', limitsKey, 'running', 0) end
  for group, count in pairs(released.groups) do
    if redis.call('HINCRBY', groupStateKey, 'r:' .. group, -count) <= 0 then redis.call('HDEL', groupStateKey, 'r:' .. group) end
  end
end

-- After slots were given back: nodes that found the queue or a group at its concurrency
-- (they set `waiting`) are woken on the wake channel, instead of polling.
local function wakeWaiting(limitsKey, wakeChannel, queueName)
  if redis.call('HDEL', limitsKey, 'waiting') == 1 then redis.call(PUBLISH_COMMAND, wakeChannel, queueName) end
end
