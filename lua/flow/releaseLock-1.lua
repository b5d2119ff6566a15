--[[
  Deletes a unique lock if the given job still holds it (a lock that expired and was
  taken by a newer job is left alone).

  KEYS[1] verk:unique:<key>
  ARGV[1] the jid expected to hold it

  Returns 1 when deleted.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
