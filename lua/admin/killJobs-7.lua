--[[
  Sidekiq's "Kill": moves jobs of `retry` or `schedule` to `dead` now, as stored (no
  field changes; score = now), then trims dead to maxDeadJobs as a failure does. A job
  that dies this way counts as one that failed for good: a dependable job's state becomes
  'dead' (its dependents keep waiting, as for a job that died by failing; a retry from
  dead can still run it), and a job of a batch or holding a unique lock is queued in
  verk:flow:lost, where settleLostJobs counts it as dead in its batch and frees its lock.
  The member's presence decides, so calling again moves nothing more.

  KEYS[1] retry or schedule (where the jobs are)
  KEYS[2..7] dead, verk:flow:pending, dependents, blocked, waiting_on, lost (see trimDead)
  ARGV[1] maxDeadJobs
  ARGV[2] now (epoch seconds), the score in dead
  ARGV[3..] the members as stored

  Returns the number (1-based) of each member this call moved. With `dead` of the wrong
  type nothing moves and the script returns the error.
]]
--- @include "includes/setJsonFields"
--- @include "includes/withError"
--- @include "includes/flow/loseDependable"
--- @include "includes/flow/trimDead"
--- @include "includes/redisError"

local k = deadFlowKeys(2)
local deadType = redis.call('TYPE', k.dead).ok
if deadType ~= 'none' and deadType ~= 'zset' then
  return redis.error_reply('WRONGTYPE ' .. k.dead .. ' is a ' .. deadType .. '; nothing was killed')
end

local now = ARGV[2]
local moved = {}
for i = 3, #ARGV do
  local member = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], member) then
    local err = redisError(redis.pcall('ZADD', k.dead, now, member))
    if err then return redis.error_reply('could not write a job to ' .. k.dead .. ': ' .. err) end
    redis.call('ZREM', KEYS[1], member)
    local jid = dependableJid(member)
    if jid and redis.call('HEXISTS', k.pending, jid) == 1 then redis.call('HSET', k.pending, jid, 'dead') end
    if needsSettling(member) then redis.call('RPUSH', k.lost, member) end
    moved[#moved + 1] = i - 2
  end
end
if #moved > 0 then trimDead(k, tonumber(ARGV[1]), now) end
return moved
