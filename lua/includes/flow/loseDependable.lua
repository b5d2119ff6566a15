-- Dependency loss: no job waits on a job that no longer exists. Needs setJsonFields and
-- withError. `k` holds the keys: dead, pending, dependents, blocked, waitingOn, lost
-- (verk:flow:lost, payloads whose batch and unique lock are still to be settled; see
-- settleLostJobs).

-- The jid of a dependable job's payload, or nil (decoded to read only).
local function dependableJid(payload)
  if not string.find(payload, '"dependable"', 1, true) then return nil end
  local ok, job = pcall(cjson.decode, payload)
  if not ok or type(job) ~= 'table' or job.dependable ~= true or type(job.jid) ~= 'string' then return nil end
  return job.jid
end

-- True when a job that leaves without finishing still has to be counted in a batch or
-- free a unique lock (a false positive only costs a look in settleLostJobs).
local function needsSettling(payload)
  return string.find(payload, '"bid"', 1, true) ~= nil or string.find(payload, '"unique_key"', 1, true) ~= nil
end

-- Removes `jid` from the JSON array of jids in a hash field (dropped when empty).
local function dropJid(hash, field, jid)
  local list = redis.call('HGET', hash, field)
  if not list then return end
  local rest = {}
  for _, item in ipairs(cjson.decode(list)) do
    if item ~= jid then rest[#rest + 1] = item end
  end
  if #rest == 0 then redis.call('HDEL', hash, field) else redis.call('HSET', hash, field, cjson.encode(rest)) end
end

-- The dependable job `jid` is gone for good (`how` says why, e.g. 'was trimmed from
-- dead'): its flow records go, and every job waiting for it goes to dead with
-- DependencyLostError, transitively (a dead dependent's own dependents can never run
-- either). `now` is the time's text. Returns how many jobs it sent to dead.
local function loseDependable(k, jid, how, now)
  redis.call('HDEL', k.pending, jid)
  local sent = 0
  local todo = { { jid = jid, why = 'dependency ' .. jid .. ' ' .. how } }
  while #todo > 0 do
    local item = table.remove(todo)
    local list = redis.call('HGET', k.dependents, item.jid)
    redis.call('HDEL', k.dependents, item.jid)
    if list then
      for _, dependent in ipairs(cjson.decode(list)) do
        local payload = redis.call('HGET', k.blocked, dependent)
        -- nil: cancelled, or already sent to dead through another lost dependency.
        if payload then
          local waiting = redis.call('HGET', k.waitingOn, dependent)
          if waiting then
            for _, other in ipairs(cjson.decode(waiting)) do
              if other ~= item.jid then dropJid(k.dependents, other, dependent) end
            end
          end
          redis.call('ZADD', k.dead, now, withError(payload, 'DependencyLostError', 'Job can never run: ' .. item.why, now))
          redis.call('HDEL', k.blocked, dependent)
          redis.call('HDEL', k.waitingOn, dependent)
          -- Dead like a job that failed for good: retryNow can still run it, a trim forgets it.
          redis.call('HSET', k.pending, dependent, 'dead')
          if needsSettling(payload) then redis.call('RPUSH', k.lost, payload) end
          sent = sent + 1
          todo[#todo + 1] = { jid = dependent, why = 'dependency ' .. dependent .. ' can never run (' .. item.why .. ')' }
        end
      end
    end
  end
  return sent
end

-- Called for every job that left a set or queue for good (not by a retry): when it is a
-- dependable job still recorded as pending, it is lost.
local function forgetIfDependable(k, payload, how, now)
  local jid = dependableJid(payload)
  if jid and redis.call('HEXISTS', k.pending, jid) == 1 then return loseDependable(k, jid, how, now) end
  return 0
end
