--[[
  Takes jobs out of an in-progress list whose node is gone (crashed, or this node
  restarting) and puts each back at the consumer end of its queue, or into `dead` when it
  has been recovered too often (a poison job that kills every node running it). The JS
  side decides, per job, where it goes and with which payload; LREM decides who moves it,
  so two nodes recovering the same dead node move each job once.

  KEYS[1] inprogress:<q>:<node>
  KEYS[2] queue:<q>
  KEYS[3] dead
  KEYS[4] stat:failed
  KEYS[5] stat:failed:<YYYY-MM-DD>
  KEYS[6] verk:stat:failed:queue:<q>
  KEYS[7] verk:stat:failed:queue:<q>:<YYYY-MM-DD>
  ARGV[1] maxDeadJobs
  ARGV[2] now (epoch seconds), the score of a job sent to dead
  then triples: job as stored in in-progress, 'queue' or 'dead', payload to write

  Returns { put back in the queue, sent to dead }.
]]
local requeued, dead = 0, 0
for i = 3, #ARGV, 3 do
  if redis.call('LREM', KEYS[1], -1, ARGV[i]) == 1 then
    if ARGV[i + 1] == 'dead' then
      redis.call('ZADD', KEYS[3], ARGV[2], ARGV[i + 2])
      dead = dead + 1
    else
      redis.call('RPUSH', KEYS[2], ARGV[i + 2])
      requeued = requeued + 1
    end
  end
end
if dead > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[1]) - 1)
  -- A poison job is a failure like any other in the counters.
  for k = 4, 7 do redis.call('INCRBY', KEYS[k], dead) end
end
return { requeued, dead }
