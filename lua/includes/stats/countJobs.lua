-- Counts n jobs of one outcome (processed or failed) in the four counters every
-- acknowledgement keeps: the total and the day's, overall (Sidekiq's `stat:<kind>`) and
-- for the queue (ours). The daily ones get their TTL (incrDaily).
--- @include "includes/stats/incrDaily"
local function countJobs(total, day, queueTotal, queueDay, n)
  redis.call('INCRBY', total, n)
  incrDaily(day, n)
  redis.call('INCRBY', queueTotal, n)
  incrDaily(queueDay, n)
end
