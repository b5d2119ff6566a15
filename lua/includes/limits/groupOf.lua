-- A job's group: its top-level "group" when that is a string of 1 to 200 bytes without a
-- NUL byte (the separator of lua/limits' grouped members), else nil (an ungrouped job).
-- JSON is decoded only when the text names the field.
local function groupOf(job)
  if not string.find(job, '"group"', 1, true) then return nil end
  local ok, decoded = pcall(cjson.decode, job)
  if not ok or type(decoded) ~= 'table' then return nil end
  local g = decoded.group
  if type(g) ~= 'string' or #g == 0 or #g > 200 or string.find(g, '\0', 1, true) then return nil end
  return g
end
