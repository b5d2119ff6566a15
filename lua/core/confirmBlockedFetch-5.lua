--[[
  Completes a fetch done by BLMOVE (which moved one job into in-progress while the queue
  was empty). BLMOVE cannot look at the pause flag, so this does: when the queue was
  paused meanwhile, the job goes back to the consumer end of the queue, untouched. It
  also records that this node holds work for the queue, as fetchJobs does.

  KEYS[1] inprogress:<q>:<node>
  KEYS[2] queue:<q>
  KEYS[3] verk:paused_queues
  KEYS[4] verk_nodes
  KEYS[5] verk:node:<node>:queues
  ARGV[1] the job as BLMOVE returned it
  ARGV[2] queue name
  ARGV[3] node id

  The job leaves in-progress only once it is back in the queue: when the queue cannot take
  it (a key of the wrong type), it stays in in-progress and is this node's to run, as if
  the pause had come a moment later.

  Returns 1 when the job is this node's to run, 0 when it was put back (paused).
]]
redis.call('SADD', KEYS[4], ARGV[3])
redis.call('SADD', KEYS[5], ARGV[2])
if redis.call('SISMEMBER', KEYS[3], ARGV[2]) == 1 then
  if redis.call('LPOS', KEYS[1], ARGV[1]) then
    local pushed = redis.pcall('RPUSH', KEYS[2], ARGV[1])
    if type(pushed) == 'table' and pushed.err then return 1 end
    redis.call('LREM', KEYS[1], -1, ARGV[1])
  end
  return 0
end
return 1
