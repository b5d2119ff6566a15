--[[
  Claims one due tick of a recurring job and enqueues its job(s), in one atomic step.
  Every node runs the recurring scheduler; they all may read the same due tick, and the
  compare-and-set here lets exactly one of them enqueue it: the definition and its due
  tick must still be what the caller read. The winner also writes the definition with its
  run counted and the next tick (or removes the tick when the schedule has ended).

  A job with a priority goes to the end of its priority in the queue's sorted set of
  prioritized jobs (as enqueuePrioritized does), a plain job to the producer end of the
  list (Sidekiq's LPUSH); jobs are pushed oldest tick first.

  KEYS[1]  verk:recurring      (hash: name -> definition JSON)
  KEYS[2]  verk:recurring:due  (sorted set: name -> next tick, epoch ms)
  KEYS[3]  queues (set of queue names)
  KEYS[4]  verk:wake (pub/sub channel)
  KEYS[5+] for each target queue, three keys: queue:<q>, verk:queue:<q>:prioritized,
           verk:queue:<q>:priority_seq
  ARGV[1]  name
  ARGV[2]  the definition the caller read ('' = there was none)
  ARGV[3]  the due tick the caller read (epoch ms)
  ARGV[4]  the definition to write ('' = leave it as it is)
  ARGV[5]  the next tick ('' = none: remove the name from the due set)
  then triples per job: index in KEYS of its queue:<q> key, priority (0 = plain), payload;
  and the queue name of every target queue, in KEYS order, as the last (#KEYS - 4) / 3
  arguments.

  Returns the number of jobs enqueued, or -1 when the tick was no longer this caller's.
]]

--- @include "includes/redisError"
--- @include "includes/pushJob"
local current = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if current ~= ARGV[2] then return -1 end
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[3]) then return -1 end

local queueCount = (#KEYS - 4) / 3
local firstName = #ARGV - queueCount + 1
local pushed = 0
for i = 6, firstName - 1, 3 do
  local target, priority, payload = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), ARGV[i + 2]
  local name = ARGV[firstName + (target - 5) / 3]
  local err = pushJob(KEYS[target], KEYS[target + 1], KEYS[target + 2], KEYS[4], name, payload, priority ~= 0 and priority or nil)
  -- Nothing was taken from anywhere: the error reaches the recurring scheduler, which logs it.
  if err then return redis.error_reply('could not enqueue a recurring job into queue ' .. name .. ': ' .. err) end
  redis.call('SADD', KEYS[3], name)
  pushed = pushed + 1
end

if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[4]) end
if ARGV[5] == '' then
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
end
return pushed
