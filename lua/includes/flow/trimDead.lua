-- Trims `dead` to maxDead jobs, oldest first (Sidekiq's dead_max_jobs). A trimmed
-- dependable job is lost: its dependents go to dead with DependencyLostError. They are
-- added after the trim, so a trim never takes the jobs it just sent there (dead then
-- holds more than maxDead until the next trim). Needs loseDependable. `k`: see there.
-- Returns how many jobs were trimmed.
local function trimDead(k, maxDead, now)
  local excess = redis.call('ZCARD', k.dead) - maxDead
  if excess <= 0 then return 0 end
  local gone = redis.call('ZRANGE', k.dead, 0, excess - 1)
  redis.call('ZREMRANGEBYRANK', k.dead, 0, excess - 1)
  for _, member in ipairs(gone) do
    forgetIfDependable(k, member, 'was trimmed from dead (maxDeadJobs)', now)
  end
  return excess
end

-- The dead and flow keys of loseDependable/trimDead, given in KEYS from index `first` in
-- the order dead, verk:flow:pending, dependents, blocked, waiting_on, lost.
local function deadFlowKeys(first)
  return { dead = KEYS[first], pending = KEYS[first + 1], dependents = KEYS[first + 2], blocked = KEYS[first + 3], waitingOn = KEYS[first + 4], lost = KEYS[first + 5] }
end
