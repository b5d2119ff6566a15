--[[
  Moves one stored job, exactly as stored, from where it is to where it goes, with a new
  payload, in one step (cancel/move of the management API). Nothing happens when the job
  is no longer there as stored (a worker or the scheduler moved it first): the caller
  looks again.

  KEYS[1] where it is: a list (a queue, an in-progress list), a sorted set (schedule,
          retry, dead, a prioritized queue) or the blocked hash
  KEYS[2] where it goes: a sorted set (schedule, or the same set) or the same hash
  ARGV[1] 'list', 'zset' or 'hash': the type of KEYS[1]
  ARGV[2] the job as stored
  ARGV[3] 'zset' or 'hash' (the type of KEYS[2]), or 'none' to only remove it
  ARGV[4] the new payload
  ARGV[5] its score (zset) or field (hash; for a hash source, also the field it is in)

  Returns 1 when moved, 0 when the job was not there.
]]
local kind, raw = ARGV[1], ARGV[2]
if kind == 'list' then
  if redis.call('LREM', KEYS[1], 1, raw) == 0 then return 0 end
elseif kind == 'zset' then
  if redis.call('ZREM', KEYS[1], raw) == 0 then return 0 end
else
  if redis.call('HGET', KEYS[1], ARGV[5]) ~= raw then return 0 end
  redis.call('HDEL', KEYS[1], ARGV[5])
end
if ARGV[3] == 'zset' then
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
elseif ARGV[3] == 'hash' then
  redis.call('HSET', KEYS[2], ARGV[5], ARGV[4])
end
return 1
