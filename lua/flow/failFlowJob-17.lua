--[[
  failJob for a job that uses flow control: moves it out of in-progress into `retry` or
  `dead` and counts the failure, and in the same step records its state for jobs that
  depend on it (they keep waiting while it is in retry or dead). When it dies it releases
  its unique lock and counts as dead in its batch, whose callback goes to `schedule`
  once, when the batch's last job is done. Nothing happens when the job is no longer in
  in-progress. As failJob: `dead` is trimmed (a trimmed dependable job takes its
  dependents to dead), and when `retry` cannot take the job it goes to `dead` with
  RedisWriteError; when `dead` cannot either, it stays in in-progress and the script
  returns the error.

  KEYS[1]  inprogress:<q>:<node>
  KEYS[2]  retry or dead (the target)     KEYS[3] dead
  KEYS[4]  stat:failed   KEYS[5] stat:failed:<day>
  KEYS[6]  verk:stat:failed:queue:<q>     KEYS[7] verk:stat:failed:daily:<day>:<q>
  KEYS[8]  schedule
  KEYS[9]  verk:flow:pending
  KEYS[10] the job's unique lock (or any key when it has none)
  KEYS[11] the job's batch hash (or any key when it has none)
  KEYS[12..15] verk:flow:dependents, blocked, waiting_on, lost (see trimDead)
  KEYS[16] verk:hist:run:<day>:<q>       KEYS[17] verk:hist:wait:<day>:<q>
  ARGV[1] the job exactly as fetched   ARGV[2] the job with its failure fields
  ARGV[3] score   ARGV[4] maxDeadJobs   ARGV[5] jid   ARGV[6] now (epoch seconds)
  ARGV[7] 1 when it has a unique lock   ARGV[8] 1 when it belongs to a batch
  ARGV[9] how long a completed batch is remembered (seconds)
  ARGV[10] 1 when it is dependable
  ARGV[11] when the histograms of the day expire (epoch seconds)
  ARGV[12] the run's time, ARGV[13] its wait time, as histogram sums ('' for none: a
           poison job recovered from a dead node did not run here)

  Returns how many jobs it put in `schedule` (a batch callback), or -1 when the job was
  not in in-progress.
]]
--- @include "includes/flow/countInBatch"
--- @include "includes/redisError"
--- @include "includes/setJsonFields"
--- @include "includes/withError"
--- @include "includes/flow/loseDependable"
--- @include "includes/flow/trimDead"
--- @include "includes/stats/countJobs"
--- @include "includes/stats/addHistogram"

if not redis.call('LPOS', KEYS[1], ARGV[1]) then return -1 end
local died = KEYS[2] == KEYS[3]
local err = redisError(redis.pcall('ZADD', KEYS[2], ARGV[3], ARGV[2]))
if err and not died then
  local payload = withError(ARGV[2], 'RedisWriteError', 'Could not write the failed job to ' .. KEYS[2] .. ' (' .. err .. '); it had failed with ' .. failureOf(ARGV[2]), ARGV[6])
  err = redisError(redis.pcall('ZADD', KEYS[3], ARGV[6], payload))
  died = true
end
if err then return redis.error_reply('could not write the failed job to ' .. KEYS[3] .. ': ' .. err) end
redis.call('LREM', KEYS[1], -1, ARGV[1])
local jid = ARGV[5]
if ARGV[10] == '1' then
  redis.call('HSET', KEYS[9], jid, died and 'dead' or 'retry')
end
if died then
  local k = { dead = KEYS[3], pending = KEYS[9], dependents = KEYS[12], blocked = KEYS[13], waitingOn = KEYS[14], lost = KEYS[15] }
  trimDead(k, tonumber(ARGV[4]), ARGV[6])
end
countJobs(KEYS[4], KEYS[5], KEYS[6], KEYS[7], 1)
addHistogram(KEYS[16], ARGV[12], ARGV[11])
addHistogram(KEYS[17], ARGV[13], ARGV[11])
if not died then return 0 end

if ARGV[7] == '1' and redis.call('GET', KEYS[10]) == jid then
  redis.call('DEL', KEYS[10])
end

if ARGV[8] == '1' then
  return countInBatch(KEYS[11], KEYS[8], 'dead', ARGV[6], tonumber(ARGV[9]))
end
return 0
