--[[
  Acknowledges a finished job that uses flow control (the batched finishJobs handles
  plain jobs): removes it from in-progress, counts it, and in the same step records it
  as finished for jobs that depend on it, releases the dependents whose last dependency
  it was (into `schedule`, due now), releases its unique lock and counts it in its batch,
  whose callback goes to `schedule` once, when the batch's last job is done. Nothing
  happens when the job is no longer in in-progress (a resent command).

  KEYS[1]  inprogress:<q>:<node>
  KEYS[2]  stat:processed          KEYS[3] stat:processed:<day>
  KEYS[4]  verk:stat:processed:queue:<q>   KEYS[5] verk:stat:processed:daily:<day>:<q>
  KEYS[6]  schedule
  KEYS[7]  verk:flow:pending       KEYS[8]  verk:flow:done
  KEYS[9]  verk:flow:dependents    KEYS[10] verk:flow:blocked
  KEYS[11] verk:flow:waiting_on
  KEYS[12] the job's unique lock (or any key when it has none)
  KEYS[13] the job's batch hash (or any key when it has none)
  KEYS[14] verk:hist:run:<day>:<q>         KEYS[15] verk:hist:wait:<day>:<q>
  ARGV[1] the job exactly as fetched   ARGV[2] its jid   ARGV[3] now (epoch seconds)
  ARGV[4] how long finished jobs and batches are remembered (seconds)
  ARGV[5] most finished jobs remembered
  ARGV[6] 1 when it has a unique lock   ARGV[7] 1 when it belongs to a batch
  ARGV[8] 1 when it is dependable
  ARGV[9] when the histograms of the day expire (epoch seconds)
  ARGV[10] the run's time, ARGV[11] its wait time, as histogram sums ('' for none)

  Returns how many jobs it put in `schedule` (released dependents, a batch callback),
  or -1 when the job was not in in-progress.
]]
--- @include "includes/flow/countInBatch"
--- @include "includes/stats/countJobs"
--- @include "includes/stats/addHistogram"

-- A key of the wrong type would fail a write half way (Redis does not roll a script back)
-- and strand the dependents already taken off the list: look first, and change nothing.
-- The job stays in in-progress; the queue manager logs the error and tries again.
for _, spec in ipairs({ { 6, 'zset' }, { 7, 'hash' }, { 8, 'zset' }, { 9, 'hash' }, { 10, 'hash' }, { 11, 'hash' } }) do
  local kind = redis.call('TYPE', KEYS[spec[1]]).ok
  if kind ~= 'none' and kind ~= spec[2] then
    return redis.error_reply('WRONGTYPE ' .. KEYS[spec[1]] .. ' is a ' .. kind .. ', not a ' .. spec[2] .. '; the finished job stays in in-progress')
  end
end
if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then return -1 end
countJobs(KEYS[2], KEYS[3], KEYS[4], KEYS[5], 1)
addHistogram(KEYS[14], ARGV[10], ARGV[9])
addHistogram(KEYS[15], ARGV[11], ARGV[9])

local jid, now, retention = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local released = 0

if ARGV[8] == '1' then
  redis.call('HDEL', KEYS[7], jid)
  redis.call('ZADD', KEYS[8], now, jid)
  redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', now - retention)
  redis.call('ZREMRANGEBYRANK', KEYS[8], 0, -tonumber(ARGV[5]) - 1)
  local dependents = redis.call('HGET', KEYS[9], jid)
  if dependents then
    redis.call('HDEL', KEYS[9], jid)
    for _, dependent in ipairs(cjson.decode(dependents)) do
      local waiting = redis.call('HGET', KEYS[11], dependent)
      -- nil: the dependent was deleted meanwhile.
      if waiting then
        local rest = {}
        for _, dep in ipairs(cjson.decode(waiting)) do
          if dep ~= jid then rest[#rest + 1] = dep end
        end
        if #rest == 0 then
          redis.call('ZADD', KEYS[6], now, redis.call('HGET', KEYS[10], dependent))
          redis.call('HDEL', KEYS[10], dependent)
          redis.call('HDEL', KEYS[11], dependent)
          redis.call('HSET', KEYS[7], dependent, 'queued')
          released = released + 1
        else
          redis.call('HSET', KEYS[11], dependent, cjson.encode(rest))
        end
      end
    end
  end
end

if ARGV[6] == '1' and redis.call('GET', KEYS[12]) == jid then
  redis.call('DEL', KEYS[12])
end

if ARGV[7] == '1' then
  released = released + countInBatch(KEYS[13], KEYS[6], 'succeeded', ARGV[3], retention)
end
return released
