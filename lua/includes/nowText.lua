-- Redis's clock as epoch seconds with microseconds, as text (a score and a payload field),
-- for scripts whose callers pass no time (effects replication makes TIME safe in scripts).
local function nowText()
  local t = redis.call('TIME')
  return string.format('%d.%06d', t[1], t[2])
end
