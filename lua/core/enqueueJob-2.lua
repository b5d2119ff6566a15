--[[
  Adds one job to the end of its queue (Sidekiq's push: SADD queues + LPUSH), in one
  call so that many concurrent enqueues pipeline into few round trips.

  KEYS[1] queues
  KEYS[2] queue:<q>
  ARGV[1] queue name
  ARGV[2] the job's JSON
]]
redis.call('SADD', KEYS[1], ARGV[1])
return redis.call('LPUSH', KEYS[2], ARGV[2])
