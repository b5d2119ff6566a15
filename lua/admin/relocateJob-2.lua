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

  The job leaves where it is only once it is written where it goes: when that key is of
  the wrong type, nothing changes and the script returns Redis's error (the caller
  throws it).

  Returns 1 when moved, 0 when the job was not there.
]]
local kind, raw = ARGV[1], ARGV[2]
local sameSpot = KEYS[1] == KEYS[2] and kind == ARGV[3]
if kind == 'list' then
  if not redis.call('LPOS', KEYS[1], raw) then return 0 end
elseif kind == 'zset' then
  if not redis.call('ZSCORE', KEYS[1], raw) then return 0 end
else
  if redis.call('HGET', KEYS[1], ARGV[5]) ~= raw then return 0 end
end
-- Same set or hash field, same payload: nothing to move (removing after writing would drop it).
if sameSpot and raw == ARGV[4] then
  if kind == 'zset' then redis.call('ZADD', KEYS[1], ARGV[5], raw) end
  return 1
end
local written
if ARGV[3] == 'zset' then
  written = redis.pcall('ZADD', KEYS[2], ARGV[5], ARGV[4])
elseif ARGV[3] == 'hash' then
  written = redis.pcall('HSET', KEYS[2], ARGV[5], ARGV[4])
end
if type(written) == 'table' and written.err then
  return redis.error_reply('could not write the job to ' .. KEYS[2] .. ': ' .. written.err)
end
if kind == 'list' then
  redis.call('LREM', KEYS[1], 1, raw)
elseif kind == 'zset' then
  redis.call('ZREM', KEYS[1], raw)
elseif not sameSpot then
  -- A hash source: the field was overwritten in place when the target is the same hash.
  redis.call('HDEL', KEYS[1], ARGV[5])
end
return 1
