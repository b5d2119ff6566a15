--[[
  Moves a failed job out of in-progress into `retry` (to run again at ARGV[3]) or into
  `dead` (trimmed to ARGV[5] jobs, oldest first), and counts the failure. Nothing
  happens when the job is no longer in in-progress, so a resent command cannot add it
  twice.

  KEYS[1] inprogress:<q>:<node>
  KEYS[2] retry or dead (the target sorted set)
  KEYS[3] dead
  KEYS[4] stat:failed
  KEYS[5] stat:failed:<YYYY-MM-DD>
  KEYS[6] verk:stat:failed:queue:<q>
  KEYS[7] verk:stat:failed:daily:<YYYY-MM-DD>:<q>
  ARGV[1] the job exactly as fetched
  ARGV[2] the job with its failure fields
  ARGV[3] score: when to retry, or when it died (epoch seconds)
  ARGV[4] maxDeadJobs

  Returns 1 when moved, 0 when the job was not in in-progress.
]]
--- @include "includes/incrDaily"

if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
if KEYS[2] == KEYS[3] then
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[4]) - 1)
end
redis.call('INCR', KEYS[4])
incrDaily(KEYS[5], 1)
redis.call('INCR', KEYS[6])
incrDaily(KEYS[7], 1)
return 1
