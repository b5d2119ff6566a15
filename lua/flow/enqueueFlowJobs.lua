--[[
  Enqueues jobs that use flow control (dependencies, unique locks, batches), all or
  nothing. A job whose dependencies have all finished (or that has none) goes to
  `schedule` with its score (now, or its time), where the scheduler of any node moves it
  to its queue; a job that still waits goes to the blocked hash until its last
  dependency finishes (completeFlowJob). Nothing is written unless every dependency is
  known, so a typo in a jid cannot leave a job waiting forever.

  KEYS[1] schedule
  KEYS[2] verk:flow:pending      jid -> state of dependable jobs not finished successfully
  KEYS[3] verk:flow:done         dependable jobs that finished, by time
  KEYS[4] verk:flow:dependents   jid -> JSON array of jobs waiting for it
  KEYS[5] verk:flow:blocked      jid -> payload of a job waiting for dependencies
  KEYS[6] verk:flow:waiting_on   jid -> JSON array of dependencies it still waits for
  KEYS[7+] unique locks and the batch hash, referred to by index below
  ARGV[1] number of jobs
  ARGV[2] index in KEYS of the batch hash, 0 for none
  ARGV[3] the batch's callback payload, ARGV[4] the placeholder in it that receives the
          batch's counts, ARGV[5] the batch's creation time (epoch seconds), ARGV[6] its id
  then per job: jid, payload, score, lock key index (0 = none), lock TTL (ms),
                dependable (1/0), number of dependencies, the dependencies' jids

  Returns {'ok', jid...} with, for each job, its jid or that of the unique job already
  holding its lock (that job is then not written); or {'unknown', job number, jid} when
  a dependency is neither pending nor finished.
]]
local count = tonumber(ARGV[1])
local jobs = {}
local i = 7
for n = 1, count do
  local job = { jid = ARGV[i], payload = ARGV[i + 1], score = ARGV[i + 2], lock = tonumber(ARGV[i + 3]),
                ttl = ARGV[i + 4], dependable = ARGV[i + 5] == '1', deps = {} }
  local ndeps = tonumber(ARGV[i + 6])
  for d = 1, ndeps do job.deps[d] = ARGV[i + 6 + d] end
  i = i + 7 + ndeps
  jobs[n] = job
end

-- Check: unique locks and dependencies, before anything is written.
local effective = {}   -- jid in this call -> jid that stands for it (a unique duplicate's owner)
local lockOwner = {}   -- lock key index -> jid taking it in this call
for n, job in ipairs(jobs) do
  if job.lock > 0 then
    local owner = lockOwner[job.lock] or redis.call('GET', KEYS[job.lock])
    if owner then
      job.duplicateOf = owner
    else
      lockOwner[job.lock] = job.jid
    end
  end
  if not job.duplicateOf then
    job.waiting = {}
    for _, dep in ipairs(job.deps) do
      -- A job of this call is written now (and dependable); a unique duplicate stands for
      -- the job holding its lock, which must itself be pending.
      local target = effective[dep] or dep
      if effective[dep] == dep or redis.call('HEXISTS', KEYS[2], target) == 1 then
        job.waiting[#job.waiting + 1] = target
      elseif not redis.call('ZSCORE', KEYS[3], target) then
        return { 'unknown', n, dep }
      end
    end
  end
  effective[job.jid] = job.duplicateOf or job.jid
end

-- Write.
local result = { 'ok' }
for n, job in ipairs(jobs) do
  if job.duplicateOf then
    result[n + 1] = job.duplicateOf
  else
    result[n + 1] = job.jid
    if job.lock > 0 then
      redis.call('SET', KEYS[job.lock], job.jid, 'PX', job.ttl)
    end
    if #job.waiting > 0 then
      redis.call('HSET', KEYS[5], job.jid, job.payload)
      redis.call('HSET', KEYS[6], job.jid, cjson.encode(job.waiting))
      redis.call('HSET', KEYS[2], job.jid, 'blocked')
      for _, dep in ipairs(job.waiting) do
        local list = redis.call('HGET', KEYS[4], dep)
        list = list and cjson.decode(list) or {}
        list[#list + 1] = job.jid
        redis.call('HSET', KEYS[4], dep, cjson.encode(list))
      end
    else
      redis.call('ZADD', KEYS[1], job.score, job.payload)
      if job.dependable then redis.call('HSET', KEYS[2], job.jid, 'queued') end
    end
  end
end

local batch = tonumber(ARGV[2])
if batch > 0 then
  redis.call('HSET', KEYS[batch], 'total', count, 'pending', count, 'succeeded', 0, 'dead', 0,
    'callback', ARGV[3], 'placeholder', ARGV[4], 'created_at', ARGV[5], 'bid', ARGV[6])
end
return result
