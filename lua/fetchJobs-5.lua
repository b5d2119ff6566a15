--[[
  Reliable fetch: moves up to ARGV[1] jobs from the consumer end of a queue into this
  node's in-progress list in one atomic step, and records that this node holds work for
  the queue (Verk 1.6: verk_nodes and verk:node:<id>:queues).

  KEYS[1] queue:<q>
  KEYS[2] inprogress:<q>:<node>
  KEYS[3] verk_nodes
  KEYS[4] verk:node:<node>:queues
  KEYS[5] verk:paused_queues
  ARGV[1] how many jobs at most (free slots)
  ARGV[2] node id
  ARGV[3] queue name

  Returns the jobs, oldest first (the order in which they were enqueued), or nil when the
  queue is paused: the pause is checked here, atomically with the move, so no node takes a
  job from a paused queue even before the pause announcement reaches it.
]]
if redis.call('SISMEMBER', KEYS[5], ARGV[3]) == 1 then return false end
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[3])

local n = tonumber(ARGV[1])
if n <= 0 then return {} end

-- LRANGE from the right end: jobs[1] is the newest taken, jobs[#jobs] the oldest.
local jobs = redis.call('LRANGE', KEYS[1], -n, -1)
local count = #jobs
if count == 0 then return jobs end
redis.call('LTRIM', KEYS[1], 0, -count - 1)

local oldestFirst = {}
for i = count, 1, -1 do oldestFirst[#oldestFirst + 1] = jobs[i] end
-- Same final order as repeated RPOPLPUSH: the oldest ends deepest in in-progress.
redis.call('LPUSH', KEYS[2], unpack(oldestFirst))
return oldestFirst
