-- Adds the durations of an acknowledged batch, summed by the queue manager, to a queue's
-- histogram of the day (`verk:hist:<kind>:<day>:<q>`, a hash). `sums` is
-- "count sum sumsq min max" followed by "field count" pairs, one per bucket that got
-- something (see lib/engine/core/histogram.ts); '' adds nothing. The hash expires at
-- `expireAt` (epoch seconds), set only when this call created it: once per key and day,
-- not once per batch. Called after the job's own writes and through pcall, so a histogram
-- key that cannot be written (a wrong type, a field that is not a number) never fails the
-- acknowledgement it rides with; at worst that day's histogram misses the batch.
local function addHistogram(key, sums, expireAt)
  if sums == '' then return end
  local kind = redis.call('TYPE', key).ok
  if kind ~= 'none' and kind ~= 'hash' then return end
  local w = {}
  for word in string.gmatch(sums, '%S+') do w[#w + 1] = word end
  redis.pcall('HINCRBY', key, 'count', w[1])
  redis.pcall('HINCRBY', key, 'sum', w[2])
  redis.pcall('HINCRBYFLOAT', key, 'sumsq', w[3])
  local old = redis.call('HMGET', key, 'min', 'max')
  if not tonumber(old[1]) or tonumber(w[4]) < tonumber(old[1]) then redis.call('HSET', key, 'min', w[4]) end
  if not tonumber(old[2]) or tonumber(w[5]) > tonumber(old[2]) then redis.call('HSET', key, 'max', w[5]) end
  for i = 6, #w - 1, 2 do redis.pcall('HINCRBY', key, w[i], w[i + 1]) end
  if kind == 'none' then redis.call('EXPIREAT', key, expireAt) end
end
