--[[
  Deletes the histories of jobs whose last event is not newer than a bound (retention by
  age or by count). The caller read the candidates; a job that recorded an event since
  then (its index score rose above the bound) is kept.

  KEYS[1]   verk:history (sorted set: jid -> time of its last event)
  KEYS[1+i] verk:history:<jid> of the i-th jid
  ARGV[1]   the bound (epoch ms)
  ARGV[1+i] the i-th jid

  Returns how many histories were deleted.
]]
local bound = tonumber(ARGV[1])
local removed = 0
for i = 2, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) <= bound then
    redis.call('DEL', KEYS[i])
    redis.call('ZREM', KEYS[1], ARGV[i])
    removed = removed + 1
  end
end
return removed
