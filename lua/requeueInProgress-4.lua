--[[
  Puts every job of an in-progress list back at the consumer end of its queue, so they
  run next: used on shutdown for jobs that did not finish in time, and at start for a
  node's own leftovers from a crash (Verk's behaviour). A prioritized job goes back to the
  queue's sorted set at the head of its priority (sequence 0).

  KEYS[1] inprogress:<q>:<node>
  KEYS[2] queue:<q>
  KEYS[3] verk:queue:<q>:prioritized
  KEYS[4] verk:wake (pub/sub channel)
  ARGV[1] queue name

  Returns how many jobs were moved.
]]

--- @include "includes/priorityOf"
--- @include "includes/pushBackJob"

local wake = redis.call('EXISTS', KEYS[3]) == 0
local moved, prioritized = 0, 0
-- Take the newest first from the left and push to the right: the oldest ends up at the
-- very end the consumers read from, so the original order is kept.
while true do
  local job = redis.call('LPOP', KEYS[1])
  if not job then break end
  if pushBackJob(KEYS[2], KEYS[3], job) then prioritized = prioritized + 1 end
  moved = moved + 1
end
if wake and prioritized > 0 then redis.call('PUBLISH', KEYS[4], ARGV[1]) end
return moved
