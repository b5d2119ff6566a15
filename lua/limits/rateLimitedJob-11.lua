--[[
  A handler threw VerkRateLimitError: the job goes back to the head of its queue (of its
  group, for a grouped job) as it was fetched - no failure counted, no retry count - and
  the queue (ARGV[3] = '') or the group ARGV[3] pauses for ARGV[2] ms on every node: the
  limited fetch starts nothing of it before then. A longer pause already set is kept. The
  queue's limits hash now exists, so every node fetches it with limits/fetchLimited; the
  announcement on the control channel makes nodes that did not yet switch at once.

  A job without priority goes back to the prioritized set at score -0.5 instead of the
  list (see below).

  The job leaves in-progress only once it is back: when the queue refuses it (a key of
  the wrong type) it stays and the script returns the error (the manager retries).

  KEYS[1] inprogress:<q>:<node>   KEYS[2] queue:<q>   KEYS[3] verk:queue:<q>:prioritized
  KEYS[4] verk:limits:<q>   KEYS[5] verk:limits:<q>:held:<node>   KEYS[6] verk:limits:<q>:groups
  KEYS[7] verk:queue:<q>:grouped   KEYS[8] verk:limits:<q>:ring   KEYS[9] verk:limits:<q>:touched
  KEYS[10] verk:wake (pub/sub channel)   KEYS[11] verk:control (pub/sub channel)
  ARGV[1] the job exactly as fetched   ARGV[2] pause, ms   ARGV[3] group to pause ('' = the queue)
  ARGV[4] queue name

  Returns 1 when the job went back, 0 when it was not in in-progress.
]]
--- @include "includes/redisError"
--- @include "includes/pushBackJob"
--- @include "includes/limits/groupOf"
--- @include "includes/limits/groupedMember"
--- @include "includes/limits/releaseHeld"

local job = ARGV[1]
if not redis.call('LPOS', KEYS[1], job) then return 0 end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local untilMs = now + tonumber(ARGV[2])

local group = groupOf(job)
local err
if group then
  err = redisError(redis.pcall('ZADD', KEYS[7], 0, groupedMember(group, job, 0)))
  if not err then redis.call('ZADD', KEYS[8], 'NX', tonumber(redis.call('HGET', KEYS[4], 'v')) or 0, group) end
elseif not priorityOf(job) then
  -- Not at the list's end: a node blocked in BLMOVE on the list (one that has not heard
  -- that the queue now has limits) would take it at once. In the prioritized set at score
  -- -0.5 it is still next for both fetches (after priorities above 0, before the list), and
  -- no BLMOVE sees it. Once fetched, it is a plain job again (it has no priority field).
  err = redisError(redis.pcall('ZADD', KEYS[3], -0.5, job))
else
  local _
  _, err = pushBackJob(KEYS[2], KEYS[3], job)
end
if err then return redis.error_reply('could not put the rate-limited job back into queue ' .. ARGV[4] .. ': ' .. err) end
redis.call('LREM', KEYS[1], -1, job)

if ARGV[3] == '' then
  if (tonumber(redis.call('HGET', KEYS[4], 'paused_until')) or 0) < untilMs then redis.call('HSET', KEYS[4], 'paused_until', untilMs) end
else
  local field = 'p:' .. ARGV[3]
  if (tonumber(redis.call('HGET', KEYS[6], field)) or 0) < untilMs then
    redis.call('HSET', KEYS[6], field, untilMs)
    redis.call('ZADD', KEYS[9], 'GT', untilMs, ARGV[3])
  end
  -- The limits hash exists from now on: every node fetches this queue with its limits.
  redis.call('HSETNX', KEYS[4], 'paused_until', 0)
end
local released = { total = 0, groups = {} }
if takeHeld(KEYS[5], job, released) then
  giveBack(KEYS[4], KEYS[6], released)
  wakeWaiting(KEYS[4], KEYS[10], ARGV[4])
end
redis.call(PUBLISH_COMMAND, KEYS[11], cjson.encode({ type = 'limits', queue = ARGV[4] }))
return 1
