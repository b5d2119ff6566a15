--[[
  Acknowledges finished jobs: removes each from in-progress and counts it as processed.
  A job that is no longer in in-progress (already acknowledged by a resent command, or
  requeued by a shutdown that gave up on it) is not counted twice.

  KEYS[1] inprogress:<q>:<node>
  KEYS[2] stat:processed
  KEYS[3] stat:processed:<YYYY-MM-DD>
  KEYS[4] verk:stat:processed:queue:<q>
  KEYS[5] verk:stat:processed:daily:<YYYY-MM-DD>:<q>
  ARGV    the finished jobs, exactly as they were fetched

  Returns how many jobs were removed.
]]
--- @include "includes/incrDaily"

local removed = 0
for i = 1, #ARGV do
  removed = removed + redis.call('LREM', KEYS[1], -1, ARGV[i])
end
if removed > 0 then
  redis.call('INCRBY', KEYS[2], removed)
  incrDaily(KEYS[3], removed)
  redis.call('INCRBY', KEYS[4], removed)
  incrDaily(KEYS[5], removed)
end
return removed
