-- The member of a grouped job in verk:queue:<q>:grouped (all scores 0, ordered by member):
-- `<group>\0` then 19 digits, the priority (1000 - priority, 4 digits: higher runs first)
-- and a sequence (15 digits: FIFO within a priority; 0 puts a job at its group's head),
-- then the payload exactly as stored. groupedPayload gives the payload back.
--- @include "includes/priorityOf"
local function groupedMember(group, job, seq)
  return group .. '\0' .. string.format('%04d%015d', 1000 - (priorityOf(job) or 0), seq) .. job
end

local function groupedPayload(group, member)
  return string.sub(member, #group + 21)
end

-- The first member of a group (nil when it has no waiting job).
local function groupHead(groupedKey, group)
  return redis.call('ZRANGEBYLEX', groupedKey, '[' .. group .. '\0', '[' .. group .. '\1', 'LIMIT', 0, 1)[1]
end
