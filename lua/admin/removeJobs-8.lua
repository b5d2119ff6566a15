--[[
  Removes jobs for good (admin deleteJob and clear): given members of a set or queue, or a
  chunk of it from its oldest end. A removed dependable job is lost: every job waiting for
  it goes to `dead` with DependencyLostError (transitively), and its flow records go. A
  removed job that belongs to a batch or holds a unique lock (and was not in `dead`,
  where it was already counted and freed) is queued in verk:flow:lost, where
  settleLostJobs counts it as dead in its batch and frees its lock.

  KEYS[1] the set or list the jobs are removed from
  KEYS[2..7] dead, verk:flow:pending, dependents, blocked, waiting_on, lost (see trimDead)
  KEYS[8] with 'grouped': the queue's round-robin ring (verk:limits:<q>:ring), from which a
          group whose last waiting job went is removed; else unused
  ARGV[1] 'list' or 'zset': the type of KEYS[1]; 'grouped': KEYS[1] is a queue's grouped set
          (verk:queue:<q>:grouped), its members `<group>\0<19 digits><payload>`
  ARGV[2] 'members' (ARGV[8..] are the members to remove) or 'oldest' (ARGV[8] is how many
          to take: a list from its consumer end, a sorted set from its lowest score)
  ARGV[3] maxDeadJobs
  ARGV[4] now (epoch seconds)
  ARGV[5] where the jobs were, for the dependents' error message (e.g. 'deleted from dead')
  ARGV[6] 1 when KEYS[1] is dead
  ARGV[7] 'lose' to send dependents to dead, 'keep' to leave them (cancel with cascade
          removes them itself)

  Returns how many jobs were removed.
]]
--- @include "includes/setJsonFields"
--- @include "includes/withError"
--- @include "includes/flow/loseDependable"
--- @include "includes/flow/trimDead"
--- @include "includes/limits/groupedMember"

local k = deadFlowKeys(2)
-- Dependents go to dead: with dead unusable, change nothing rather than strand them.
local deadType = redis.call('TYPE', k.dead).ok
if deadType ~= 'none' and deadType ~= 'zset' then
  return redis.error_reply('WRONGTYPE ' .. k.dead .. ' is a ' .. deadType .. '; nothing was removed')
end

local kind, fromDead, now = ARGV[1], ARGV[6] == '1', ARGV[4]
local removed = {}
if ARGV[2] == 'members' then
  for i = 8, #ARGV do
    local gone
    if kind == 'list' then gone = redis.call('LREM', KEYS[1], 1, ARGV[i]) else gone = redis.call('ZREM', KEYS[1], ARGV[i]) end
    if gone > 0 then removed[#removed + 1] = ARGV[i] end
  end
else
  local count = tonumber(ARGV[8])
  if kind == 'list' then
    removed = redis.call('LRANGE', KEYS[1], -count, -1)
    if #removed > 0 then redis.call('LTRIM', KEYS[1], 0, -#removed - 1) end
  else
    removed = redis.call('ZRANGE', KEYS[1], 0, count - 1)
    if #removed > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, #removed - 1) end
  end
end

if kind == 'grouped' then
  -- The jobs are the members' payloads; a group left without waiting jobs leaves the ring
  -- (the limited fetch would drop it on its turn; stats count the ring's groups meanwhile).
  local groups, payloads = {}, {}
  for i, member in ipairs(removed) do
    local group = string.sub(member, 1, string.find(member, '\0', 1, true) - 1)
    groups[group] = true
    payloads[i] = groupedPayload(group, member)
  end
  for group in pairs(groups) do
    if not groupHead(KEYS[1], group) then redis.call('ZREM', KEYS[8], group) end
  end
  removed = payloads
end

local how = 'was ' .. ARGV[5]
for _, job in ipairs(removed) do
  if ARGV[7] == 'lose' then forgetIfDependable(k, job, how, now) end
  if not fromDead and needsSettling(job) then redis.call('RPUSH', k.lost, job) end
end
if #removed > 0 and ARGV[7] == 'lose' then trimDead(k, tonumber(ARGV[3]), now) end
return #removed
