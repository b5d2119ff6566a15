--[[
  Writes a recurring job's definition and its next tick (create, replace, update) only if
  neither changed since the caller read them: a compare-and-set, so concurrent writers and
  the nodes ticking the job never undo each other's work. The loser reads again and retries.

  KEYS[1] verk:recurring      (hash: name -> definition JSON)
  KEYS[2] verk:recurring:due  (sorted set: name -> next tick, epoch ms)
  ARGV[1] name
  ARGV[2] the definition the caller read ('' = there was none)
  ARGV[3] the next tick the caller read ('' = there was none)
  ARGV[4] the definition to write ('' = delete it)
  ARGV[5] the next tick to write ('' = none: the schedule has ended)

  Returns 1 when written, 0 when the definition or its tick changed meanwhile.
]]
local current = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if current ~= ARGV[2] then return 0 end
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if ARGV[3] == '' then
  if score then return 0 end
elseif not score or tonumber(score) ~= tonumber(ARGV[3]) then
  return 0
end
if ARGV[4] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
end
if ARGV[5] == '' then
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
end
return 1
