--[[
  Moves a failed job out of in-progress into `retry` (to run again at ARGV[3]) or into
  `dead` (trimmed to ARGV[4] jobs, oldest first; a trimmed dependable job takes its
  dependents to dead), and counts the failure. Nothing happens when the job is no longer
  in in-progress, so a resent command cannot add it twice.

  The job leaves in-progress only once it is written: when `retry` cannot take it (a key
  of the wrong type), it goes to `dead` with error_class RedisWriteError; when `dead`
  cannot take it either, it stays in in-progress and the script returns the error (the
  queue manager logs it and tries again).

  KEYS[1] inprogress:<q>:<node>
  KEYS[2] retry or dead (the target sorted set)
  KEYS[3] dead
  KEYS[4] stat:failed
  KEYS[5] stat:failed:<YYYY-MM-DD>
  KEYS[6] verk:stat:failed:queue:<q>
  KEYS[7] verk:stat:failed:daily:<YYYY-MM-DD>:<q>
  KEYS[8..12] verk:flow:pending, dependents, blocked, waiting_on, lost (see trimDead)
  KEYS[13] verk:hist:run:<YYYY-MM-DD>:<q>   KEYS[14] verk:hist:wait:<YYYY-MM-DD>:<q>
  ARGV[1] the job exactly as fetched
  ARGV[2] the job with its failure fields
  ARGV[3] score: when to retry, or when it died (epoch seconds)
  ARGV[4] maxDeadJobs
  ARGV[5] now (epoch seconds)
  ARGV[6] when the histograms of the day expire (epoch seconds)
  ARGV[7] the run's time, ARGV[8] its wait time, as histogram sums ('' for none); a failed
          run counts in the run-time histogram like a finished one

  Returns 1 when moved, 2 when it went to dead because `retry` refused it, 0 when the job
  was not in in-progress.
]]
--- @include "includes/redisError"
--- @include "includes/setJsonFields"
--- @include "includes/withError"
--- @include "includes/flow/loseDependable"
--- @include "includes/flow/trimDead"
--- @include "includes/stats/countJobs"
--- @include "includes/stats/addHistogram"

if not redis.call('LPOS', KEYS[1], ARGV[1]) then return 0 end
local died = KEYS[2] == KEYS[3]
local moved = 1
local err = redisError(redis.pcall('ZADD', KEYS[2], ARGV[3], ARGV[2]))
if err and not died then
  local payload = withError(ARGV[2], 'RedisWriteError', 'Could not write the failed job to ' .. KEYS[2] .. ' (' .. err .. '); it had failed with ' .. failureOf(ARGV[2]), ARGV[5])
  err = redisError(redis.pcall('ZADD', KEYS[3], ARGV[5], payload))
  died, moved = true, 2
end
if err then return redis.error_reply('could not write the failed job to ' .. KEYS[3] .. ': ' .. err) end
redis.call('LREM', KEYS[1], -1, ARGV[1])
if died then
  local k = { dead = KEYS[3], pending = KEYS[8], dependents = KEYS[9], blocked = KEYS[10], waitingOn = KEYS[11], lost = KEYS[12] }
  trimDead(k, tonumber(ARGV[4]), ARGV[5])
end
countJobs(KEYS[4], KEYS[5], KEYS[6], KEYS[7], 1)
addHistogram(KEYS[13], ARGV[7], ARGV[6])
addHistogram(KEYS[14], ARGV[8], ARGV[6])
return moved
