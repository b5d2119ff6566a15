--[[
  Gives back every slot a node holds in a queue's limits: after its in-progress jobs were
  put back (graceful stop, a node taking back its own leftovers at start) or recovered
  from a crashed node. As recoverJobs, nothing happens while the node's heartbeat key
  exists, unless ARGV[2] = 1 (the node itself, see core/recoverJobs-15.lua).

  With ARGV[3..] given, the slots of those jobs are kept (the jobs the node still runs:
  after a fetch whose reply was lost, see QueueManager.reconcile); the rest are given back.

  KEYS[1] verk:limits:<q>   KEYS[2] verk:limits:<q>:held:<node>   KEYS[3] verk:limits:<q>:groups
  KEYS[4] verk:wake (pub/sub channel)   KEYS[5] verk:node:<node> (its heartbeat key)
  ARGV[1] queue name   ARGV[2] 1 when the node gives back its own slots, else 0
  ARGV[3..] jobs whose slots stay held

  Returns how many slots were given back.
]]
--- @include "includes/limits/releaseHeld"

if ARGV[2] ~= '1' and redis.call('EXISTS', KEYS[5]) == 1 then return 0 end
local keep = {}
for i = 3, #ARGV do keep[ARGV[i]] = true end
local released = { total = 0, groups = {} }
for _, job in ipairs(redis.call('HKEYS', KEYS[2])) do
  if not keep[job] then takeHeld(KEYS[2], job, released) end
end
giveBack(KEYS[1], KEYS[3], released)
if released.total > 0 then wakeWaiting(KEYS[1], KEYS[4], ARGV[1]) end
return released.total
