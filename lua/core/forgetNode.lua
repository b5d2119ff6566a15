--[[
  Removes a node from verk_nodes once it is dead (its heartbeat key is gone) and holds
  no more work. Does nothing when the node came back or still has in-progress jobs.

  KEYS[1]  verk_nodes
  KEYS[2]  verk:node:<id>
  KEYS[3]  verk:node:<id>:queues
  KEYS[4+] inprogress:<q>:<id> for each of its queues
  ARGV[1]  node id

  Returns 1 when forgotten, 0 otherwise.
]]
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
for i = 4, #KEYS do
  if redis.call('LLEN', KEYS[i]) > 0 then return 0 end
end
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[3])
return 1
