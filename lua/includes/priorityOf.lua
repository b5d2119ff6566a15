-- A job's priority: its top-level "priority" when that is a nonzero integer from MIN_PRIORITY to
-- MAX_PRIORITY (-1000, 1000), else nil (a plain job). JSON is decoded only when the text names the field.
local function priorityOf(job)
  if not string.find(job, '"priority"', 1, true) then return nil end
  local ok, decoded = pcall(cjson.decode, job)
  if not ok or type(decoded) ~= 'table' then return nil end
  local p = decoded.priority
  if type(p) ~= 'number' or p ~= math.floor(p) or p == 0 or p < MIN_PRIORITY or p > MAX_PRIORITY then return nil end
  return p
end
