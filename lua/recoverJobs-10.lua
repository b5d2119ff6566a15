--[[
  Takes jobs out of an in-progress list whose node is gone (crashed, or this node
  restarting) and puts each back at the consumer end of its queue (a prioritized job: at
  the head of its priority in the queue's sorted set, sequence 0), or into `dead` when it
  has been recovered too often (a poison job that kills every node running it). The JS
  side decides, per job, where it goes and with which payload; LREM decides who moves it,
  so two nodes recovering the same dead node move each job once.

  Nothing moves while the node's heartbeat key exists: the caller saw it gone several
  round trips ago, and a node that was only stale (a GC pause) and beats again still runs
  those jobs and may have fetched more. Checking here, in the same atomic step as the
  moves, closes that window. The exception is a node taking back its own leftovers at
  start (ARGV[4] = 1): node ids are unique among running nodes, so a key under its own id
  is its earlier run's, which is gone; that key lives on for up to two heartbeats, and
  the new run beats under the same id, so no other node would ever recover those jobs.

  KEYS[1] inprogress:<q>:<node>
  KEYS[2] queue:<q>
  KEYS[3] dead
  KEYS[4] stat:failed
  KEYS[5] stat:failed:<YYYY-MM-DD>
  KEYS[6] verk:stat:failed:queue:<q>
  KEYS[7] verk:stat:failed:daily:<YYYY-MM-DD>:<q>
  KEYS[8] verk:queue:<q>:prioritized
  KEYS[9] verk:wake (pub/sub channel)
  KEYS[10] verk:node:<node> (its heartbeat key)
  ARGV[1] maxDeadJobs
  ARGV[2] now (epoch seconds), the score of a job sent to dead
  ARGV[3] queue name
  ARGV[4] 1 when the node recovers its own in-progress list at start, else 0
  then triples: job as stored in in-progress, 'queue' or 'dead', payload to write

  Returns { put back in the queue, sent to dead, 1 when the node is alive (nothing moved) }.
]]

--- @include "includes/priorityOf"
--- @include "includes/pushBackJob"
--- @include "includes/incrDaily"

if ARGV[4] ~= '1' and redis.call('EXISTS', KEYS[10]) == 1 then return { 0, 0, 1 } end

local wake = redis.call('EXISTS', KEYS[8]) == 0
local requeued, dead, prioritized = 0, 0, 0
for i = 5, #ARGV, 3 do
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
return { requeued, dead, 0 }
