--[[
  Gives back the slots of jobs this node ran under its queue's limits, once their outcome
  has been written (finished, retry, dead: the job is out of in-progress). Idempotent: a
  job whose slot was given back already (a resent command) gives nothing twice. Nodes
  waiting for a slot (`waiting`) are woken on the wake channel.

  KEYS[1] verk:limits:<q>   KEYS[2] verk:limits:<q>:held:<node>   KEYS[3] verk:limits:<q>:groups
  KEYS[4] verk:wake (pub/sub channel)
  ARGV[1] queue name   ARGV[2..] the jobs, exactly as fetched

  Returns how many slots were given back.
]]
--- @include "includes/limits/releaseHeld"

local released = { total = 0, groups = {} }
for i = 2, #ARGV do takeHeld(KEYS[2], ARGV[i], released) end
giveBack(KEYS[1], KEYS[3], released)
if released.total > 0 then wakeWaiting(KEYS[1], KEYS[4], ARGV[1]) end
return released.total
