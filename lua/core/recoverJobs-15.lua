--[[
  Takes jobs out of an in-progress list whose node is gone (crashed, or this node
  restarting) and puts each back at the consumer end of its queue (a prioritized job: at
  the head of its priority in the queue's sorted set, sequence 0), or into `dead` when it
  has been recovered too often (a poison job that kills every node running it). The JS
  side decides, per job, where it goes and with which payload; its presence in the list
  (checked and removed in this one step) decides who moves it, so two nodes recovering
  the same dead node move each job once.

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
  KEYS[10..14] verk:flow:pending, dependents, blocked, waiting_on, lost (see trimDead)
  KEYS[15] verk:node:<node> (its heartbeat key)
  ARGV[1] maxDeadJobs
  ARGV[2] now (epoch seconds), the score of a job sent to dead
  ARGV[3] queue name
  ARGV[4] 1 when the node recovers its own in-progress list at start, else 0
  then triples: job as stored in in-progress, 'queue' or 'dead', payload to write

  A job leaves in-progress only once it is written elsewhere: when the queue cannot take
  it (a key of the wrong type) it goes to `dead` with error_class RedisWriteError; when
  `dead` refuses it too, it stays and the script returns the error after moving the
  others (the recovery logs it and tries again). `dead` is trimmed to maxDeadJobs; a
  trimmed dependable job takes its dependents to dead (trimDead).

  Returns { put back in the queue, sent to dead, 1 when the node is alive (nothing moved) }.
]]

--- @include "includes/priorityOf"
--- @include "includes/redisError"
--- @include "includes/pushBackJob"
--- @include "includes/setJsonFields"
--- @include "includes/withError"
--- @include "includes/flow/loseDependable"
--- @include "includes/flow/trimDead"
--- @include "includes/stats/countJobs"

if ARGV[4] ~= '1' and redis.call('EXISTS', KEYS[15]) == 1 then return { 0, 0, 1 } end

local wake = redis.call('EXISTS', KEYS[8]) == 0
local requeued, dead, prioritized = 0, 0, 0
local failure
for i = 5, #ARGV, 3 do
  local job = ARGV[i]
  if redis.call('LPOS', KEYS[1], job) then
    local err
    if ARGV[i + 1] == 'dead' then
      err = redisError(redis.pcall('ZADD', KEYS[3], ARGV[2], ARGV[i + 2]))
      if not err then dead = dead + 1 end
    else
      local ranked
      ranked, err = pushBackJob(KEYS[2], KEYS[8], ARGV[i + 2])
      if err then
        local failed = withError(ARGV[i + 2], 'RedisWriteError', 'Could not put the recovered job back into queue ' .. ARGV[3] .. ' (' .. err .. ')', ARGV[2])
        err = redisError(redis.pcall('ZADD', KEYS[3], ARGV[2], failed))
        if not err then dead = dead + 1 end
      else
        if ranked then prioritized = prioritized + 1 end
        requeued = requeued + 1
      end
    end
    if err then
      failure = failure or err
    else
      redis.call('LREM', KEYS[1], -1, job)
    end
  end
end
if wake and prioritized > 0 then redis.call(PUBLISH_COMMAND, KEYS[9], ARGV[3]) end
if dead > 0 then
  trimDead({ dead = KEYS[3], pending = KEYS[10], dependents = KEYS[11], blocked = KEYS[12], waitingOn = KEYS[13], lost = KEYS[14] }, tonumber(ARGV[1]), ARGV[2])
  -- A poison job is a failure like any other in the counters.
  countJobs(KEYS[4], KEYS[5], KEYS[6], KEYS[7], dead)
end
if failure then return redis.error_reply('could not put recovered jobs back into queue ' .. ARGV[3] .. ' nor into ' .. KEYS[3] .. ': ' .. failure) end
return { requeued, dead, 0 }
