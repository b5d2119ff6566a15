--[[
  Forgets a job as a dependency and removes every job waiting for it, transitively
  (cascading cancel): they can never run once it is gone. A removed job is also dropped
  from the waiting lists of its other dependencies' (completeFlowJob skips dependents it
  no longer finds).

  KEYS[1] verk:flow:pending   KEYS[2] verk:flow:dependents
  KEYS[3] verk:flow:blocked   KEYS[4] verk:flow:waiting_on
  ARGV[1] the jid of the job being cancelled

  Returns the payloads of the removed waiting jobs (so their unique locks can be freed).
]]
local removed = {}
local todo = { ARGV[1] }
redis.call('HDEL', KEYS[1], ARGV[1])
while #todo > 0 do
  local jid = table.remove(todo)
  local dependents = redis.call('HGET', KEYS[2], jid)
  redis.call('HDEL', KEYS[2], jid)
  if dependents then
    for _, dependent in ipairs(cjson.decode(dependents)) do
      local payload = redis.call('HGET', KEYS[3], dependent)
      if payload then
        removed[#removed + 1] = payload
        redis.call('HDEL', KEYS[3], dependent)
        redis.call('HDEL', KEYS[4], dependent)
        redis.call('HDEL', KEYS[1], dependent)
        todo[#todo + 1] = dependent
      end
    end
  end
end
return removed
