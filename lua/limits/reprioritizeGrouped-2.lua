--[[
  Changes the priority of one grouped job waiting in its queue's grouped set (admin
  setPriority): removes its exact member and adds the new payload at the end of its new
  priority within its group, as the limited fetch would take it in now (a new sequence).
  The removal decides: when the fetch took the job or another call moved it first, nothing
  is written. Its group stays in the ring (it still has this job).

  KEYS[1] verk:queue:<q>:grouped
  KEYS[2] verk:limits:<q> (its `seq` field numbers the grouped members)
  ARGV[1] the member exactly as stored (`<group>\0<19 digits><payload>`)
  ARGV[2] the job's group
  ARGV[3] the payload to store (with its new "priority" field, or none for 0)

  Returns 1 when moved, 0 when the member was no longer there.
]]
--- @include "includes/limits/groupedMember"

if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false then return 0 end
local member = groupedMember(ARGV[2], ARGV[3], redis.call('HINCRBY', KEYS[2], 'seq', 1))
local err = redis.pcall('ZADD', KEYS[1], 0, member)
if type(err) == 'table' and err.err then return redis.error_reply('could not write the job to ' .. KEYS[1] .. ': ' .. err.err) end
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
