--[[
  One bounded step of a filtered search through a sorted set (schedule, retry, dead) or
  a queue's waiting jobs (in run order, as listQueue, then its grouped jobs): reads at most ARGV[4] members from
  position ARGV[3] and returns those that match, so a request does a fixed amount of work
  however large the set is. The caller continues from the returned position.

  A member matches when every filter given matches: its "class" and "queue" fields equal
  ARGV[6] and ARGV[7] (decoded to read only; the text is returned as stored), and its
  text, lower-cased, contains ARGV[8] (already lower case). A member that is not a JSON
  object matches no class or queue filter.

  KEYS[1] the sorted set, or queue:<q>
  KEYS[2] verk:queue:<q>:prioritized (a sorted set: KEYS[1] again, unused)
  KEYS[3] verk:queue:<q>:grouped (a sorted set: KEYS[1] again, unused); its members
          `<group>\0<19 digits><payload>` are read as their payload
  ARGV[1] 'zset' or 'queue'
  ARGV[2] 'asc' (lowest score first) or 'desc' (sorted sets only)
  ARGV[3] the position to start at (0-based), the cursor
  ARGV[4] how many members to read at most (the bound)
  ARGV[5] how many matches to return at most
  ARGV[6] class, ARGV[7] queue, ARGV[8] text ('' = no filter)
  ARGV[9] text the member must contain as is, case-sensitive ('' or absent = no filter):
          a jid looked up by position (job-locator.ts), tested before anything else

  Returns { total, next position (-1 when the end was read), members read, then per match
  the member and its score (a sorted set), '' (a queue's list or prioritized set) or, for a
  grouped job, the part of its grouped member before the payload (member = that .. job) }.
]]
local isQueue, desc = ARGV[1] == 'queue', ARGV[2] == 'desc'
local start, bound, limit = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local class, queue, text = ARGV[6], ARGV[7], ARGV[8]
local contains = ARGV[9] or ''

local high, plain, ranked, grouped = 0, 0, 0, 0
local total
if isQueue then
  high = redis.call('ZCOUNT', KEYS[2], '-inf', '(0')
  plain = redis.call('LLEN', KEYS[1])
  ranked = redis.call('ZCARD', KEYS[2])
  grouped = redis.call('ZCARD', KEYS[3])
  total = plain + ranked + grouped
else
  total = redis.call('ZCARD', KEYS[1])
end

-- Members at positions [from, to] in order, flat: member, score, member, score... (the
-- score '' in a queue). Flat, not a table per member: a step reads thousands of them.
local function slice(from, to)
  if not isQueue then
    if desc then return redis.call('ZREVRANGE', KEYS[1], from, to, 'WITHSCORES') end
    return redis.call('ZRANGE', KEYS[1], from, to, 'WITHSCORES')
  end
  local out = {}
  -- Run order: priority > 0 (sorted set ranks [0, high)), the list from its consumer end,
  -- then priority < 0 (the remaining ranks), then the grouped set by rank.
  if from < high then
    local page = redis.call('ZRANGE', KEYS[2], from, math.min(to, high - 1))
    for i = 1, #page do out[#out + 1] = page[i]; out[#out + 1] = '' end
  end
  local a, b = math.max(from, high), math.min(to, high + plain - 1)
  if a <= b then
    local page = redis.call('LRANGE', KEYS[1], -(b - high + 1), -(a - high + 1))
    for i = #page, 1, -1 do out[#out + 1] = page[i]; out[#out + 1] = '' end
  end
  a, b = math.max(from, high + plain), math.min(to, plain + ranked - 1)
  if a <= b then
    local page = redis.call('ZRANGE', KEYS[2], a - plain, b - plain)
    for i = 1, #page do out[#out + 1] = page[i]; out[#out + 1] = '' end
  end
  a, b = math.max(from, plain + ranked), to
  if a <= b and a < total then
    local page = redis.call('ZRANGE', KEYS[3], a - plain - ranked, b - plain - ranked)
    for i = 1, #page do
      local cut = string.find(page[i], '\0', 1, true) + 19
      out[#out + 1] = string.sub(page[i], cut + 1); out[#out + 1] = string.sub(page[i], 1, cut)
    end
  end
  return out
end

-- Plain text can be looked for before decoding (a cheap test that rules most members
-- out); a name with characters JSON may escape is checked by decoding only.
local function literal(name)
  if name == '' or string.find(name, '[%c"\\/\128-\255]') then return nil end
  return name
end
local classText, queueText = literal(class), literal(queue)

local function matches(member)
  if contains ~= '' and not string.find(member, contains, 1, true) then return false end
  if text ~= '' and not string.find(string.lower(member), text, 1, true) then return false end
  if class == '' and queue == '' then return true end
  if classText and not string.find(member, classText, 1, true) then return false end
  if queueText and not string.find(member, queueText, 1, true) then return false end
  local ok, job = pcall(cjson.decode, member)
  if not ok or type(job) ~= 'table' then return false end
  if class ~= '' and job.class ~= class then return false end
  if queue ~= '' and job.queue ~= queue then return false end
  return true
end

local reply = { total, -1, 0 }
local found, scanned, position = 0, 0, start
local CHUNK = 2000
while scanned < bound and position < total do
  local want = math.min(CHUNK, bound - scanned)
  local page = slice(position, position + want - 1)
  if #page == 0 then break end
  for i = 1, #page, 2 do
    scanned = scanned + 1
    position = position + 1
    if matches(page[i]) then
      reply[#reply + 1] = page[i]
      reply[#reply + 1] = page[i + 1]
      found = found + 1
      if found >= limit then break end
    end
  end
  if found >= limit then break end
end
if position < total then reply[2] = position end
reply[3] = scanned
return reply
