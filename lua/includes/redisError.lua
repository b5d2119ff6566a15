-- The error text of a redis.pcall reply, or nil when the command succeeded. Writes that
-- follow a removal use pcall, so a key of the wrong type in the way cannot make a job
-- vanish (Redis does not roll a script back when it fails half way).
local function redisError(reply)
  if type(reply) == 'table' and reply.err then return reply.err end
  return nil
end
