--[[
  Adds jobs with a nonzero priority to a queue's sorted set of prioritized jobs (the
  prioritized counterpart of enqueueJob: SADD queues + the add, in one call).

  score = -priority * 2^42 + seq, seq from INCR on the queue's counter: a higher priority
  is a lower score (fetched first), and within a priority the enqueue order. The counter
  restarts at 0 whenever the set is empty, so it never comes near 2^42. When the set was
  empty the queue name is published on the wake channel: a node whose manager waits in
  BLMOVE on the (empty) list fetches again.

  KEYS[1] queues
  KEYS[2] verk:queue:<q>:prioritized
  KEYS[3] verk:queue:<q>:priority_seq
  KEYS[4] verk:wake (pub/sub channel)
  ARGV[1] queue name
  then pairs: priority (a nonzero integer), the job's JSON

  Returns the number of prioritized jobs now waiting in the queue.
]]
local empty = redis.call('EXISTS', KEYS[2]) == 0
if empty then redis.call('SET', KEYS[3], 0) end
for i = 2, #ARGV, 2 do
  local seq = redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[2], -tonumber(ARGV[i]) * PRIORITY_SCORE_STEP + seq, ARGV[i + 1])
end
redis.call('SADD', KEYS[1], ARGV[1])
if empty then redis.call(PUBLISH_COMMAND, KEYS[4], ARGV[1]) end
return redis.call('ZCARD', KEYS[2])
