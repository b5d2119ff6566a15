--[[
  Acknowledges finished jobs: removes each from in-progress and counts it as processed.
  A job that is no longer in in-progress (already acknowledged by a resent command, or
  requeued by a shutdown that gave up on it) is not counted twice.

  In the same step it adds the batch's run and wait times to the queue's histograms of
  the day (summed by the queue manager, see lib/engine/core/histogram.ts), unless no job
  was removed: a resent command adds nothing the first call added.

  KEYS[1] inprogress:<q>:<node>
  KEYS[2] stat:processed
  KEYS[3] stat:processed:<YYYY-MM-DD>
  KEYS[4] verk:stat:processed:queue:<q>
  KEYS[5] verk:stat:processed:daily:<YYYY-MM-DD>:<q>
  KEYS[6] verk:hist:run:<YYYY-MM-DD>:<q>
  KEYS[7] verk:hist:wait:<YYYY-MM-DD>:<q>
  ARGV[1] when the histograms of the day expire (epoch seconds)
  ARGV[2] the run times, ARGV[3] the wait times, summed ('' for none: histograms off)
  ARGV[4..] the finished jobs, exactly as they were fetched

  Returns how many jobs were removed.
]]
--- @include "includes/stats/countJobs"
--- @include "includes/stats/addHistogram"

local removed = 0
for i = 4, #ARGV do
  removed = removed + redis.call('LREM', KEYS[1], -1, ARGV[i])
end
if removed > 0 then
  countJobs(KEYS[2], KEYS[3], KEYS[4], KEYS[5], removed)
  addHistogram(KEYS[6], ARGV[2], ARGV[1])
  addHistogram(KEYS[7], ARGV[3], ARGV[1])
end
return removed
