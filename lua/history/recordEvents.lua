--[[
  Records job events (history and tracking), a batch at a time, after the transitions
  they describe have landed. For each event: appends it to the job's history list when
  its queue keeps a history (mode 1), or when the job already has one (mode 2: events
  whose queue is not known here, such as a tag added later); and publishes it when the job
  is tracked. A tracked job stays tracked for maxAge after its last event, and for `grace`
  after an event that ends it (finished, dead, canceled).

  KEYS[1]   verk:history (sorted set: jid -> time of its last event, for retention)
  KEYS[2]   verk:tracked (sorted set: jid -> when its tracking expires)
  KEYS[3]   verk:track (pub/sub channel)
  KEYS[3+i] verk:history:<jid> of the i-th event
  ARGV[1]   now (epoch ms)
  ARGV[2]   maxAge (ms): expiry of a history list, tracking after the last event
  ARGV[3]   grace (ms): tracking after an event that ends the job
  ARGV[4]   '1' when any job may be tracked (else tracking is not looked at)
  ARGV[5]   most events kept per job (the oldest are dropped)
  then per event: jid, event JSON, mode ('0' not stored, '1' stored, '2' stored if a history exists), '1' if it ends the job

  Returns { events stored, events published }.
]]
local now, maxAge, grace = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tracking, maxEvents = ARGV[4] == '1', tonumber(ARGV[5])
local stored, published = 0, 0
local n = 0
for i = 6, #ARGV, 4 do
  n = n + 1
  local jid, json, mode, ends = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local key = KEYS[3 + n]
  if mode == '1' or (mode == '2' and redis.call('EXISTS', key) == 1) then
    if redis.call('RPUSH', key, json) > maxEvents then redis.call('LTRIM', key, -maxEvents, -1) end
    redis.call('PEXPIRE', key, maxAge)
    redis.call('ZADD', KEYS[1], now, jid)
    stored = stored + 1
  end
  if tracking and redis.call('ZSCORE', KEYS[2], jid) then
    redis.call(PUBLISH_COMMAND, KEYS[3], json)
    published = published + 1
    if ends == '1' then
      redis.call('ZADD', KEYS[2], 'XX', now + grace, jid)
    else
      redis.call('ZADD', KEYS[2], 'XX', 'GT', now + maxAge, jid)
    end
  end
end
return { stored, published }
