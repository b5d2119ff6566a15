--[[
  Takes jobs out of an in-progress list whose node is gone (crashed, or this node
  restarting) and puts each back at the consumer end of its queue (a prioritized job: at
  the head of its priority in the queue's sorted set, sequence 0), or into `dead` when it
  has been recovered too often (a poison job that kills every node running it). The JS
  side decides, per job, where it goes and with which payload; LREM decides who moves it,
  so two nodes recovering the same dead node move each job once.

  KEYS[1] inprogress:<q>:<node>
  KEYS[2] queue:<q>
  KEYS[3] dead
  KEYS[4] stat:failed
  KEYS[5] stat:failed:<YYYY-MM-DD>
  KEYS[6] verk:stat:failed:queue:<q>
  KEYS[7] verk:stat:failed:daily:<YYYY-MM-DD>:<q>
  KEYS[8] verk:queue:<q>:prioritized
  KEYS[9] verk:wake (pub/sub channel)
  ARGV[1] maxDeadJobs
  ARGV[2] now (epoch seconds), the score of a job sent to dead
  ARGV[3] queue name
  then triples: job as stored in in-progress, 'queue' or 'dead', payload to write

  Returns { put back in the queue, sent to dead }.
]]

--- @include "includes/priorityOf"
--- @include "includes/pushBackJob"
--- @include "includes/incrDaily"

local wake = redis.call('EXISTS', KEYS[8]) == 0
local requeued, dead, prioritized = 0, 0, 0
for i = 4, #ARGV, 3 do
  if redis.call('LREM', KEYS[1], -1, ARGV[i]) == 1 then
    if ARGV[i + 1] == 'dead' then
      redis.call('ZADD', KEYS[3], ARGV[2], ARGV[i + 2])
      dead = dead + 1
    else
      if pushBackJob(KEYS[2], KEYS[8], ARGV[i + 2]) then prioritized = prioritized + 1 end
      requeued = requeued + 1
    end
  end
end
if wake and prioritized > 0 then redis.call('PUBLISH', KEYS[9], ARGV[3]) end
if dead > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[1]) - 1)
  -- A poison job is a failure like any other in the counters.
  redis.call('INCRBY', KEYS[4], dead)
  incrDaily(KEYS[5], dead)
  redis.call('INCRBY', KEYS[6], dead)
  incrDaily(KEYS[7], dead)
end
return { requeued, dead }
