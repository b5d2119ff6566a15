--[[
  One page of a queue's waiting jobs in the order they will run, with the total, read
  atomically: prioritized jobs with priority > 0 (highest first), then the plain list
  from its consumer end, then prioritized jobs with priority < 0 (see fetchJobs), then the
  grouped jobs the limited fetch took into the grouped set, group by group (within a group
  in the order they will run; across groups the round-robin decides: docs/limits.md).

  KEYS[1] queue:<q>
  KEYS[2] verk:queue:<q>:prioritized
  KEYS[3] verk:queue:<q>:grouped (members `<group>\0<19 digits><payload>`: the payload is listed)
  ARGV[1] offset (>= 0)
  ARGV[2] limit (>= 1)

  Returns { total, job, job, ... }.
]]
local offset, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local high = redis.call('ZCOUNT', KEYS[2], '-inf', '(0')
local plain = redis.call('LLEN', KEYS[1])
local all = redis.call('ZCARD', KEYS[2])
local grouped = redis.call('ZCARD', KEYS[3])
local reply = { plain + all + grouped }
local last = offset + limit - 1 -- position of the last job of the page, 0-based

-- Positions [0, high): the sorted set by rank.
if offset < high then
  local page = redis.call('ZRANGE', KEYS[2], offset, math.min(last, high - 1))
  for i = 1, #page do reply[#reply + 1] = page[i] end
end
-- Positions [high, high + plain): the list, consumer end first (index -1 is next).
local from, to = math.max(offset, high), math.min(last, high + plain - 1)
if from <= to then
  local page = redis.call('LRANGE', KEYS[1], -(to - high + 1), -(from - high + 1))
  for i = #page, 1, -1 do reply[#reply + 1] = page[i] end
end
-- Positions [high + plain, total): the rest of the sorted set by rank.
from, to = math.max(offset, high + plain), last
if from <= to and from < plain + all then
  local page = redis.call('ZRANGE', KEYS[2], from - plain, math.min(to, plain + all - 1) - plain)
  for i = 1, #page do reply[#reply + 1] = page[i] end
end
-- Positions [plain + all, total): the grouped set by rank, each member's payload part.
from, to = math.max(offset, plain + all), last
if from <= to and from < plain + all + grouped then
  local page = redis.call('ZRANGE', KEYS[3], from - plain - all, to - plain - all)
  for i = 1, #page do
    local member = page[i]
    reply[#reply + 1] = string.sub(member, string.find(member, '\0', 1, true) + 20)
  end
end
return reply
