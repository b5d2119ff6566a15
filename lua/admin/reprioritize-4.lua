--[[
  Changes the priority of one waiting job: removes the exact stored member from the
  queue's list or sorted set and adds the new payload with the new priority, as an
  enqueue would (priority 0: to the producer end of the list, so it runs after the plain
  jobs already waiting; else to the end of its priority in the sorted set). The removal
  decides: when a worker fetched the job or another call moved it first, nothing is
  written.

  KEYS[1] queue:<q>
  KEYS[2] verk:queue:<q>:prioritized
  KEYS[3] verk:queue:<q>:priority_seq
  KEYS[4] verk:wake (pub/sub channel)
  ARGV[1] the member exactly as stored
  ARGV[2] where it was found: 'list' or 'zset'
  ARGV[3] the payload to store (with its new "priority" field, or none for 0)
  ARGV[4] the new priority (an integer from -1000 to 1000)
  ARGV[5] the queue name

  Returns 1 when moved, 0 when the member was no longer there.
]]
local removed
if ARGV[2] == 'zset' then
  removed = redis.call('ZREM', KEYS[2], ARGV[1])
else
  removed = redis.call('LREM', KEYS[1], 1, ARGV[1])
end
if removed == 0 then return 0 end
local priority = tonumber(ARGV[4])
if priority == 0 then
  redis.call('LPUSH', KEYS[1], ARGV[3])
else
  local empty = redis.call('EXISTS', KEYS[2]) == 0
  if empty then redis.call('SET', KEYS[3], 0) end
  redis.call('ZADD', KEYS[2], -priority * PRIORITY_SCORE_STEP + redis.call('INCR', KEYS[3]), ARGV[3])
  if empty then redis.call(PUBLISH_COMMAND, KEYS[4], ARGV[5]) end
end
return 1
