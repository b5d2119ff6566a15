--[[
  Puts every job of an in-progress list back at the consumer end of its queue, so they
  run next: used on shutdown for jobs that did not finish in time, and at start for a
  node's own leftovers from a crash (Verk's behaviour).

  KEYS[1] inprogress:<q>:<node>
  KEYS[2] queue:<q>

  Returns how many jobs were moved.
]]
local moved = 0
-- Take the newest first from the left and push to the right: the oldest ends up at the
-- very end the consumers read from, so the original order is kept.
while redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') do
  moved = moved + 1
end
return moved
