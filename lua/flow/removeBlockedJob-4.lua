--[[
  Removes one job that waits for its dependencies (cancel without cascade), if it is
  still waiting and nothing depends on it.

  KEYS[1] verk:flow:pending   KEYS[2] verk:flow:dependents
  KEYS[3] verk:flow:blocked   KEYS[4] verk:flow:waiting_on
  ARGV[1] its jid

  Returns its payload, false when it is no longer waiting, or the error `dependents`
  when jobs wait for it.
]]
local payload = redis.call('HGET', KEYS[3], ARGV[1])
if not payload then return false end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return redis.error_reply('dependents') end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
return payload
