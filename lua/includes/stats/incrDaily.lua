-- Adds n to a daily counter (`stat:<kind>:<day>`, a queue's daily counter) and makes it
-- expire after five years, as Sidekiq does (STATS_TTL), so daily keys do not pile up
-- forever. The EXPIRE is sent only when this increment created the key (the new value is
-- n): once per key and day, not once per job.
local function incrDaily(key, n)
  if redis.call('INCRBY', key, n) == n then redis.call('EXPIRE', key, 157680000) end
end
