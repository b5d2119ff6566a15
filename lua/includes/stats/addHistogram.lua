-- Adds the durations of an acknowledged batch, summed by the queue manager, to a queue's
-- histogram of the day (`verk:hist:<kind>:<day>:<q>`, a hash). `sums` is
-- "count sum sumsq min max" followed by "field count" pairs, one per bucket that got
-- something (see lib/engine/core/histogram.ts); '' adds nothing.
--
-- One HMGET and one HSET whatever the batch holds (the script is atomic, so reading and
-- writing back is as safe as HINCRBY, and half the calls). The hash expires at `expireAt`
-- (epoch seconds), set only when this call created it: once per key and day, not once per
-- batch. Scripts call it after the job's own writes, and a histogram key that cannot be
-- read (another type) is left alone, so it never fails the acknowledgement it rides with:
-- at worst that day's histogram misses the batch.
local function addHistogram(key, sums, expireAt)
  if sums == '' then return end
  local w = {}
  for word in string.gmatch(sums, '%S+') do w[#w + 1] = tonumber(word) or word end
  local fields = { 'count', 'sum', 'sumsq', 'min', 'max' }
  for i = 6, #w - 1, 2 do fields[#fields + 1] = tostring(w[i]) end
  local old = redis.pcall('HMGET', key, unpack(fields))
  if old.err then return end
  local now = {
    (tonumber(old[1]) or 0) + w[1],
    (tonumber(old[2]) or 0) + w[2],
    (tonumber(old[3]) or 0) + w[3],
    math.min(tonumber(old[4]) or w[4], w[4]),
    math.max(tonumber(old[5]) or w[5], w[5]),
  }
  for i = 6, #w - 1, 2 do now[#now + 1] = (tonumber(old[#now + 1]) or 0) + w[i + 1] end
  -- Every value is a whole number of ms (or ms squared): %.17g writes it exactly, without a
  -- decimal point, up to 2^53.
  local args = {}
  for i, field in ipairs(fields) do
    args[#args + 1] = field
    args[#args + 1] = string.format('%.17g', now[i])
  end
  redis.call('HSET', key, unpack(args))
  if not old[1] then redis.call('EXPIREAT', key, expireAt) end
end
