--[[
  Puts every job of an in-progress list back at the consumer end of its queue, so they
  run next: used on shutdown for jobs that did not finish in time, and at start for a
  node's own leftovers from a crash (Verk's behaviour). A prioritized job goes back to the
  queue's sorted set at the head of its priority (sequence 0).

  A job leaves in-progress only once it is written elsewhere: when the queue cannot take
  it (a key of the wrong type) it goes to `dead` with error_class RedisWriteError (not
  trimmed here: the next failure trims); when `dead` refuses it too, it and the jobs after
  it stay in in-progress and the script returns the error.

  KEYS[1] inprogress:<q>:<node>
  KEYS[2] queue:<q>
  KEYS[3] verk:queue:<q>:prioritized
  KEYS[4] verk:wake (pub/sub channel)
  KEYS[5] dead
  ARGV[1] queue name

  Returns how many jobs were put back in the queue.
]]

--- @include "includes/priorityOf"
--- @include "includes/redisError"
--- @include "includes/pushBackJob"
--- @include "includes/setJsonFields"
--- @include "includes/withError"
--- @include "includes/nowText"

local wake = redis.call('EXISTS', KEYS[3]) == 0
local moved, prioritized = 0, 0
local failure
-- Take the newest first from the left and push to the right: the oldest ends up at the
-- very end the consumers read from, so the original order is kept.
while true do
  local job = redis.call('LINDEX', KEYS[1], 0)
  if not job then break end
  local ranked, err = pushBackJob(KEYS[2], KEYS[3], job)
  if err then
    local now = nowText()
    local failed = withError(job, 'RedisWriteError', 'Could not put the job back into queue ' .. ARGV[1] .. ' (' .. err .. ')', now)
    local deadErr = redisError(redis.pcall('ZADD', KEYS[5], now, failed))
    if deadErr then
      failure = deadErr
      break
    end
  else
    if ranked then prioritized = prioritized + 1 end
    moved = moved + 1
  end
  redis.call('LPOP', KEYS[1])
end
if wake and prioritized > 0 then redis.call(PUBLISH_COMMAND, KEYS[4], ARGV[1]) end
if failure then return redis.error_reply('could not put in-progress jobs back into queue ' .. ARGV[1] .. ' nor into ' .. KEYS[5] .. ': ' .. failure) end
return moved
