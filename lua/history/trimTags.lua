--[[
  Trims tag indexes: drops entries tagged before a cutoff, and forgets a tag whose index
  is then empty.

  KEYS[1]   verk:tags (set of tag names)
  KEYS[1+i] verk:tag:<name> of the i-th tag
  ARGV[1]   cutoff (epoch ms)
  ARGV[1+i] the i-th tag name

  Returns how many entries were dropped.
]]
local removed = 0
for i = 2, #ARGV do
  removed = removed + redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[1])
  if redis.call('EXISTS', KEYS[i]) == 0 then redis.call('SREM', KEYS[1], ARGV[i]) end
end
return removed
