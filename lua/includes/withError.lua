-- A payload as it goes to dead for a reason of ours (not a worker's exception): its text
-- with error_class and error_message spliced in, and failed_at (`now`, the number's text)
-- when it has none. Needs setJsonFields. A text that is not a JSON object is kept as is.
local function withError(payload, errorClass, message, now)
  local fields = { { 'error_class', cjson.encode(errorClass) }, { 'error_message', cjson.encode(message) } }
  local ok, job = pcall(cjson.decode, payload)
  local failedAt = ok and type(job) == 'table' and job.failed_at ~= nil
  if not failedAt then fields[3] = { 'failed_at', now } end
  return setJsonFields(payload, fields) or payload
end

-- The error fields of a failure payload, to name the failure a fallback replaced.
local function failureOf(payload)
  local ok, job = pcall(cjson.decode, payload)
  if not ok or type(job) ~= 'table' then return 'unknown error' end
  return tostring(job.error_class or 'Error') .. ': ' .. tostring(job.error_message or '')
end
