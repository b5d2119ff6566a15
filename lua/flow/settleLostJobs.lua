--[[
  Settles jobs that left without finishing (deleted, cleared, or sent to dead because a
  dependency was lost): counts each as dead in its batch, whose callback goes to
  `schedule` once, when the batch's last job is done, and frees its unique lock if it
  still holds it. The caller read the entries of verk:flow:lost and passes each one's keys;
  LREM decides who settles an entry, so nodes doing this at once count each job once.

  KEYS[1]  verk:flow:lost
  KEYS[2]  schedule
  KEYS[3+] batch hashes and unique locks, referred to by index below
  ARGV[1]  now (epoch seconds)   ARGV[2] how long a completed batch is remembered (seconds)
  then per entry: the entry as read, its jid, index in KEYS of its batch hash (0 = none),
  index in KEYS of its unique lock (0 = none)

  Returns how many jobs it put in `schedule` (batch callbacks).
]]
--- @include "includes/flow/countInBatch"

local scheduled = 0
for i = 3, #ARGV, 4 do
  if redis.call('LREM', KEYS[1], 1, ARGV[i]) == 1 then
    local batch, lock = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
    if batch > 0 then scheduled = scheduled + countInBatch(KEYS[batch], KEYS[2], 'dead', ARGV[1], tonumber(ARGV[2])) end
    if lock > 0 and redis.call('GET', KEYS[lock]) == ARGV[i + 1] then redis.call('DEL', KEYS[lock]) end
  end
end
return scheduled
