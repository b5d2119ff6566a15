--[[
  After a fetch whose reply was lost (the connection dropped mid-command), this node's
  in-progress list may hold jobs the node never received. Every job in the list that is
  not among the ones the node is running (ARGV[2..], with multiplicity) goes back to the
  consumer end of the queue, oldest nearest the end, so it runs next; a prioritized job
  goes back to the head of its priority in the queue's sorted set (sequence 0).

  A job leaves in-progress only once it is written elsewhere: when the queue cannot take
  it it goes to `dead` with error_class RedisWriteError; when `dead` refuses it too, it
  stays and the script returns the error (the manager reconciles again later).

  KEYS[1] inprogress:<q>:<node>
  KEYS[2] queue:<q>
  KEYS[3] verk:queue:<q>:prioritized
  KEYS[4] verk:wake (pub/sub channel)
  KEYS[5] dead
  ARGV[1] queue name
  ARGV[2..] the jobs this node holds for the queue, exactly as fetched

  Returns how many jobs were put back.
]]

--- @include "includes/priorityOf"
--- @include "includes/redisError"
--- @include "includes/pushBackJob"
--- @include "includes/setJsonFields"
--- @include "includes/withError"
--- @include "includes/nowText"

local keep = {}
for i = 2, #ARGV do keep[ARGV[i]] = (keep[ARGV[i]] or 0) + 1 end
local items = redis.call('LRANGE', KEYS[1], 0, -1)
local wake = redis.call('EXISTS', KEYS[3]) == 0
local moved, prioritized = 0, 0
local failure
-- items[1] is the newest; pushing newest first to the right leaves the oldest outermost.
for i = 1, #items do
  local job = items[i]
  local held = keep[job]
  if held and held > 0 then
    keep[job] = held - 1
  else
    local ranked, err = pushBackJob(KEYS[2], KEYS[3], job)
    if err then
      local now = nowText()
      local failed = withError(job, 'RedisWriteError', 'Could not put the job back into queue ' .. ARGV[1] .. ' (' .. err .. ')', now)
      err = redisError(redis.pcall('ZADD', KEYS[5], now, failed))
    else
      if ranked then prioritized = prioritized + 1 end
      moved = moved + 1
    end
    if err then
      failure = failure or err
    else
      redis.call('LREM', KEYS[1], 1, job)
    end
  end
end
if wake and prioritized > 0 then redis.call(PUBLISH_COMMAND, KEYS[4], ARGV[1]) end
if failure then return redis.error_reply('could not put in-progress jobs back into queue ' .. ARGV[1] .. ' nor into ' .. KEYS[5] .. ': ' .. failure) end
return moved
