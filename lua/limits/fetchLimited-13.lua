--[[
  The fetch of a queue with limits or groups (docs/limits.md); queues without either use
  core/fetchJobs, which this script extends. Moves up to ARGV[1] jobs into this node's
  in-progress list in one atomic step, within the queue's limits as stored in Redis:

  - paused_until (a VerkRateLimitError without group): nothing starts before it;
  - global: at most that many of the queue's jobs held at once across nodes (`running`);
  - rate_max per rate_duration ms: a sliding window over the starts (no more than rate_max
    starts in any rate_duration ms), kept in KEYS[8]: one member `<seq>:<count>` per fetch
    that took jobs, scored by its time, trimmed here, and their sum in `started`;
  - groups: grouped jobs are served round-robin across groups, ungrouped jobs counting as
    one more group; group_concurrency, group_rate_max/group_rate_duration and a group's
    own pause (`p:<g>`) apply per group.

  Grouped jobs arrive in the queue's list or prioritized set like any other (every path
  that enqueues or puts back a job stays as it is); when one reaches the head of the
  ungrouped order it is moved into the grouped set (KEYS[10]) at the tail of its group, and
  its group joins the ring (KEYS[11]) with the current round's tag if it was not there.

  Every job taken holds a slot: its field in this node's held hash (KEYS[9]) and +1 in
  `running` (and `r:<g>`), given back by limits/releaseSlots after its outcome is written,
  or by limits/releaseNodeSlots when the node's work is put back.

  KEYS[1] queue:<q>   KEYS[2] inprogress:<q>:<node>   KEYS[3] verk_nodes
  KEYS[4] verk:node:<node>:queues   KEYS[5] verk:paused_queues   KEYS[6] verk:queue:<q>:prioritized
  KEYS[7] verk:limits:<q>   KEYS[8] verk:limits:<q>:starts   KEYS[9] verk:limits:<q>:held:<node>
  KEYS[10] verk:queue:<q>:grouped   KEYS[11] verk:limits:<q>:ring   KEYS[12] verk:limits:<q>:groups
  KEYS[13] verk:limits:<q>:touched
  ARGV[1] how many jobs at most (free slots)   ARGV[2] node id   ARGV[3] queue name

  Returns nil when the queue is paused (as fetchJobs), else { wait, jobs... }: the jobs in
  the order they should start; with none, wait is 0 when nothing waits (block until a job
  arrives), > 0 the ms until a known limit resets, -1 when only a concurrency limit holds
  jobs back (the node is woken on the wake channel when a slot is released; `waiting` set).
]]
--- @include "includes/limits/groupOf"
--- @include "includes/limits/groupedMember"

if redis.call('SISMEMBER', KEYS[5], ARGV[3]) == 1 then return false end
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[3])
local n = tonumber(ARGV[1])
if n <= 0 then return { 0 } end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local cfg = redis.call('HMGET', KEYS[7], 'rate_max', 'rate_duration', 'global', 'group_concurrency', 'group_rate_max', 'group_rate_duration', 'paused_until', 'running', 'v', 'u', 'started')
local pausedUntil = tonumber(cfg[7]) or 0
if pausedUntil > now then return { pausedUntil - now } end

local room = n
local global, running = tonumber(cfg[3]), tonumber(cfg[8]) or 0
if global then
  if running >= global then
    redis.call('HSET', KEYS[7], 'waiting', 1)
    return { -1 }
  end
  room = math.min(room, global - running)
end
local rateMax, rateDuration = tonumber(cfg[1]), tonumber(cfg[2])
if rateMax and rateDuration then
  -- The window is (now - duration, now]: a start exactly `duration` ago no longer counts.
  local started = tonumber(cfg[11]) or 0
  local expired = redis.call('ZRANGEBYSCORE', KEYS[8], '-inf', now - rateDuration)
  if #expired > 0 then
    for _, member in ipairs(expired) do started = started - tonumber(string.match(member, ':(%d+)$')) end
    redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', now - rateDuration)
  end
  -- The set expires when idle (PEXPIRE below); then nothing is in the window.
  if started ~= 0 and (started < 0 or redis.call('EXISTS', KEYS[8]) == 0) then started = 0 end
  if started ~= (tonumber(cfg[11]) or 0) then redis.call('HSET', KEYS[7], 'started', started) end
  if started >= rateMax then
    -- Until enough of the oldest starts have left the window for one more to fit.
    local leave, offset = started - rateMax + 1, 0
    while true do
      local page = redis.call('ZRANGE', KEYS[8], offset, offset + 99, 'WITHSCORES')
      if #page == 0 then return { 1 } end
      for i = 1, #page, 2 do
        leave = leave - tonumber(string.match(page[i], ':(%d+)$'))
        if leave <= 0 then return { math.max(1, tonumber(page[i + 1]) + rateDuration - now) } end
      end
      offset = offset + 100
    end
  end
  room = math.min(room, rateMax - started)
end

local groupConcurrency = tonumber(cfg[4])
local groupRateMax, groupRateDuration = tonumber(cfg[5]), tonumber(cfg[6])
local v, u = tonumber(cfg[9]) or 0, tonumber(cfg[10]) or 0

-- Per-group fields of groups that have been quiet for a window are dropped (bounded work).
for _, g in ipairs(redis.call('ZRANGEBYSCORE', KEYS[13], '-inf', now, 'LIMIT', 0, 20)) do
  redis.call('HDEL', KEYS[12], 's:' .. g, 'p:' .. g)
  redis.call('ZREM', KEYS[13], g)
end

-- A group's recent starts: `s:<g>` = its start times within the group window, oldest first.
local function recentStarts(g)
  local text = redis.call('HGET', KEYS[12], 's:' .. g)
  local starts = {}
  if text then
    for t in string.gmatch(text, '%d+') do
      local at = tonumber(t)
      if at > now - groupRateDuration then starts[#starts + 1] = at end
    end
  end
  return starts
end

-- 0 when group g may start a job now, else the ms until it may (-1: until a slot is released).
local function groupWait(g)
  local paused = tonumber(redis.call('HGET', KEYS[12], 'p:' .. g)) or 0
  if paused > now then return paused - now end
  if groupConcurrency and (tonumber(redis.call('HGET', KEYS[12], 'r:' .. g)) or 0) >= groupConcurrency then return -1 end
  if groupRateMax and groupRateDuration then
    local starts = recentStarts(g)
    if #starts >= groupRateMax then return math.max(1, starts[#starts - groupRateMax + 1] + groupRateDuration - now) end
  end
  return 0
end

-- The head of the ungrouped order (as fetchJobs: priority > 0, the list, priority < 0),
-- and where it is. Grouped jobs found there move to the grouped set first (at most
-- INTAKE per call; `more` then tells the caller to fetch again at once).
local INTAKE = 2000
local intake, more = 0, false
local function ungroupedHead()
  while true do
    local job, from = nil, nil
    job = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', '(0', 'LIMIT', 0, 1)[1]
    if job then from = 'zset' else
      job = redis.call('LINDEX', KEYS[1], -1)
      if job then from = 'list' else
        job = redis.call('ZRANGE', KEYS[6], 0, 0)[1]
        if job then from = 'zset' end
      end
    end
    if not job then return nil end
    local g = groupOf(job)
    if not g then return job, from end
    if intake >= INTAKE then more = true return nil end
    if from == 'list' then
      -- The grouped jobs at the list's end, up to the first ungrouped one, in one move.
      local run = redis.call('LRANGE', KEYS[1], -math.min(500, INTAKE - intake), -1)
      local members, joined = {}, {}
      local count = 0
      for i = #run, 1, -1 do
        local group = groupOf(run[i])
        if not group then break end
        count = count + 1
        members[#members + 1] = 0
        members[#members + 1] = { group, run[i] }
        if not joined[group] then
          joined[group] = true
          joined[#joined + 1] = group
        end
      end
      local last = redis.call('HINCRBY', KEYS[7], 'seq', count)
      for i = 2, #members, 2 do
        local entry = members[i]
        members[i] = groupedMember(entry[1], entry[2], last - count + math.floor(i / 2))
      end
      local err = redis.pcall('ZADD', KEYS[10], unpack(members))
      if type(err) == 'table' and err.err then return redis.error_reply('could not move grouped jobs into ' .. KEYS[10] .. ': ' .. err.err) end
      redis.call('LTRIM', KEYS[1], 0, -count - 1)
      for _, group in ipairs(joined) do redis.call('ZADD', KEYS[11], 'NX', v, group) end
      intake = intake + count
    else
      -- A grouped job in the prioritized set: one at a time.
      intake = intake + 1
      local member = groupedMember(g, job, redis.call('HINCRBY', KEYS[7], 'seq', 1))
      local err = redis.pcall('ZADD', KEYS[10], 0, member)
      if type(err) == 'table' and err.err then return redis.error_reply('could not move a grouped job into ' .. KEYS[10] .. ': ' .. err.err) end
      redis.call('ZREM', KEYS[6], job)
      redis.call('ZADD', KEYS[11], 'NX', v, g)
    end
  end
end

-- The ready group with the lowest tag (bounded scan past groups held back by their limits).
local SCAN = 1000
local held = {}
local groupReset, concurrencyHeld = nil, false
local function nextGroup()
  local offset = 0
  while offset < SCAN do
    local page = redis.call('ZRANGE', KEYS[11], offset, offset + 49, 'WITHSCORES')
    if #page == 0 then return nil end
    for i = 1, #page, 2 do
      local g = page[i]
      if not held[g] then
        local wait = groupWait(g)
        if wait == 0 then return g, tonumber(page[i + 1]) end
        held[g] = true
        if wait < 0 then concurrencyHeld = true
        elseif groupReset == nil or wait < groupReset then groupReset = wait end
      end
    end
    offset = offset + 50
  end
  return nil
end

local taken = {}
-- Slots taken by this call, added to `running` once at the end (room was computed above).
local newlyHeld = 0
-- Into in-progress, holding a slot at once (a later pick of this call sees the group's count).
-- A payload already held (the same job twice) holds one slot.
local function take(job, group)
  local pushed = redis.pcall('LPUSH', KEYS[2], job)
  if type(pushed) == 'table' and pushed.err then return pushed.err end
  taken[#taken + 1] = job
  if redis.call('HSETNX', KEYS[9], job, group or '') == 1 then
    newlyHeld = newlyHeld + 1
    if group then redis.call('HINCRBY', KEYS[12], 'r:' .. group, 1) end
  end
  return nil
end

while #taken < room do
  local job, from = ungroupedHead()
  if type(job) == 'table' then return job end
  local g, tag = nextGroup()
  local uTag = math.max(u, v)
  if job and not g and from == 'list' and room - #taken > 1 then
    -- No group is ready: the ungrouped jobs at the list's end, up to the first grouped
    -- one, are taken in one move as fetchJobs takes them (a grouped one waits for intake).
    local run = redis.call('LRANGE', KEYS[1], -(room - #taken), -1)
    local batch = {}
    for i = #run, 1, -1 do
      if groupOf(run[i]) then break end
      batch[#batch + 1] = run[i]
    end
    local pushed = redis.pcall('LPUSH', KEYS[2], unpack(batch))
    if type(pushed) == 'table' and pushed.err then
      if #taken == 0 then return redis.error_reply('could not move jobs into ' .. KEYS[2] .. ' (nothing was taken from the queue): ' .. pushed.err) end
      break
    end
    redis.call('LTRIM', KEYS[1], 0, -#batch - 1)
    for i = 1, #batch do
      taken[#taken + 1] = batch[i]
      if redis.call('HSETNX', KEYS[9], batch[i], '') == 1 then newlyHeld = newlyHeld + 1 end
    end
    v, u = uTag + #batch - 1, uTag + #batch
  elseif job and (not g or uTag <= tag) then
    local err = take(job, nil)
    if err then
      if #taken == 0 then return redis.error_reply('could not move jobs into ' .. KEYS[2] .. ' (nothing was taken from the queue): ' .. err) end
      break
    end
    if from == 'zset' then redis.call('ZREM', KEYS[6], job) else redis.call('RPOP', KEYS[1]) end
    v, u = uTag, uTag + 1
  elseif g then
    local member = groupHead(KEYS[10], g)
    if not member then
      redis.call('ZREM', KEYS[11], g)
    else
      local err = take(groupedPayload(g, member), g)
      if err then
        if #taken == 0 then return redis.error_reply('could not move jobs into ' .. KEYS[2] .. ' (nothing was taken from the queue): ' .. err) end
        break
      end
      redis.call('ZREM', KEYS[10], member)
      v = tag
      if groupHead(KEYS[10], g) then redis.call('ZADD', KEYS[11], tag + 1, g) else redis.call('ZREM', KEYS[11], g) end
      if groupRateMax and groupRateDuration then
        local starts = recentStarts(g)
        starts[#starts + 1] = now
        while #starts > groupRateMax do table.remove(starts, 1) end
        redis.call('HSET', KEYS[12], 's:' .. g, table.concat(starts, ','))
        redis.call('ZADD', KEYS[13], 'GT', now + groupRateDuration, g)
      end
    end
  else
    break
  end
end

redis.call('HSET', KEYS[7], 'v', v, 'u', u)
if #taken == 0 then
  if more then return { 1 } end
  if concurrencyHeld then redis.call('HSET', KEYS[7], 'waiting', 1) end
  if groupReset then return { groupReset } end
  if concurrencyHeld then return { -1 } end
  return { 0 }
end
if newlyHeld > 0 then redis.call('HINCRBY', KEYS[7], 'running', newlyHeld) end
if rateMax and rateDuration then
  redis.call('ZADD', KEYS[8], now, redis.call('HINCRBY', KEYS[7], 'seq', 1) .. ':' .. #taken)
  redis.call('HINCRBY', KEYS[7], 'started', #taken)
  redis.call('PEXPIRE', KEYS[8], rateDuration * 2)
end
local result = { 0 }
for i = 1, #taken do result[#result + 1] = taken[i] end
return result
