--[[
  After a fetch whose reply was lost (the connection dropped mid-command), this node's
  in-progress list may hold jobs the node never received. Every job in the list that is
  not among the ones the node is running (ARGV, with multiplicity) goes back to the
  consumer end of the queue, oldest nearest the end, so it runs next.

  KEYS[1] inprogress:<q>:<node>
  KEYS[2] queue:<q>
  ARGV    the jobs this node holds for the queue, exactly as fetched

  Returns how many jobs were put back.
]]
local keep = {}
for i = 1, #ARGV do keep[ARGV[i]] = (keep[ARGV[i]] or 0) + 1 end
local items = redis.call('LRANGE', KEYS[1], 0, -1)
local moved = 0
-- items[1] is the newest; pushing newest first to the right leaves the oldest outermost.
for i = 1, #items do
  local job = items[i]
  local held = keep[job]
  if held and held > 0 then
    keep[job] = held - 1
  else
    redis.call('LREM', KEYS[1], 1, job)
    redis.call('RPUSH', KEYS[2], job)
    moved = moved + 1
  end
end
return moved
