--[[
  Reliable fetch: moves up to ARGV[1] jobs of a queue into this node's in-progress list in
  one atomic step, and records that this node holds work for the queue (Verk 1.6:
  verk_nodes and verk:node:<id>:queues).

  Order: prioritized jobs with priority > 0 (score < 0), highest first; then the plain
  list from its consumer end (FIFO, Sidekiq's); then prioritized jobs with priority < 0.
  Within a priority the score's sequence keeps enqueue order. A queue without prioritized
  jobs costs one EXISTS more than the plain fetch.

  KEYS[1] queue:<q>
  KEYS[2] inprogress:<q>:<node>
  KEYS[3] verk_nodes
  KEYS[4] verk:node:<node>:queues
  KEYS[5] verk:paused_queues
  KEYS[6] verk:queue:<q>:prioritized
  ARGV[1] how many jobs at most (free slots)
  ARGV[2] node id
  ARGV[3] queue name

  Returns the jobs in the order they should start, or nil when the queue is paused: the
  pause is checked here, atomically with the move, so no node takes a job from a paused
  queue even before the pause announcement reaches it.
]]
if redis.call('SISMEMBER', KEYS[5], ARGV[3]) == 1 then return false end
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[3])

local n = tonumber(ARGV[1])
if n <= 0 then return {} end

local taken = {}
local prioritized = redis.call('EXISTS', KEYS[6]) == 1

-- Read first, write in-progress, and only then remove from the queue: when in-progress
-- cannot take the jobs (a key of the wrong type), they stay in the queue and the error
-- reaches the queue manager, which logs it and tries again.

-- Priority > 0: the lowest scores, all negative.
local high = {}
if prioritized then
  high = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', '(0', 'LIMIT', 0, n)
  for i = 1, #high do taken[#taken + 1] = high[i] end
end

-- Plain jobs. LRANGE from the right end: jobs[1] is the newest taken, jobs[#jobs] the oldest.
local room = n - #taken
local plain = 0
if room > 0 then
  local jobs = redis.call('LRANGE', KEYS[1], -room, -1)
  plain = #jobs
  for i = plain, 1, -1 do taken[#taken + 1] = jobs[i] end
end

-- Priority < 0: what remains of the sorted set, lowest score first (after the high ones).
room = n - #taken
local low = 0
if prioritized and room > 0 then
  local rest = redis.call('ZRANGE', KEYS[6], #high, #high + room - 1)
  low = #rest
  for i = 1, low do taken[#taken + 1] = rest[i] end
end

if #taken == 0 then return taken end
-- Same final order as repeated RPOPLPUSH: the first to start ends deepest in in-progress.
local pushed = redis.pcall('LPUSH', KEYS[2], unpack(taken))
if type(pushed) == 'table' and pushed.err then
  return redis.error_reply('could not move jobs into ' .. KEYS[2] .. ' (nothing was taken from the queue): ' .. pushed.err)
end
if #high + low > 0 then redis.call('ZREMRANGEBYRANK', KEYS[6], 0, #high + low - 1) end
if plain > 0 then redis.call('LTRIM', KEYS[1], 0, -plain - 1) end
return taken
