-- Sets top-level fields of a JSON object given as text, by string surgery: every other
-- byte stays as it was (cjson would re-encode the whole payload, turning a Ruby client's
-- 9007199254740993 into 9.007199254741e+15 and 1.0 into 1). `fields` is a list of
-- { name, json }: a plain key name and the value's JSON text. Each top-level key equal to
-- a name has its value replaced (every occurrence); the others are appended before the
-- closing brace, in order. Strings (with escapes), nested objects and arrays are skipped
-- as a whole, so a nested key of the same name is never touched. Returns the new text, or
-- nil when the text is not a JSON object.
local function jsonStringEnd(text, i)
  -- text[i] is the opening quote; returns the index of the closing one.
  local j = i + 1
  while true do
    local k = string.find(text, '["\\]', j)
    if not k then return nil end
    if string.byte(text, k) == 92 then j = k + 2 else return k end
  end
end

local function jsonValueEnd(text, i)
  local c = string.byte(text, i)
  if c == 34 then return jsonStringEnd(text, i) end
  if c == 123 or c == 91 then
    local depth, j = 0, i
    while true do
      local k = string.find(text, '[%[%]{}"]', j)
      if not k then return nil end
      local b = string.byte(text, k)
      if b == 34 then
        k = jsonStringEnd(text, k)
        if not k then return nil end
      elseif b == 123 or b == 91 then
        depth = depth + 1
      else
        depth = depth - 1
        if depth == 0 then return k end
      end
      j = k + 1
    end
  end
  -- A number, true, false or null: up to the next delimiter.
  local k = string.find(text, '[,}%]%s]', i)
  if not k or k == i then return nil end
  return k - 1
end

local function setJsonFields(text, fields)
  local index = {}
  for n, field in ipairs(fields) do index[field[1]] = n end
  local function skip(i) return string.find(text, '[^%s]', i) end
  local i = skip(1)
  if not i or string.byte(text, i) ~= 123 then return nil end
  local pieces, from, seen, members = {}, 1, {}, 0
  i = skip(i + 1)
  local close
  while i do
    local c = string.byte(text, i)
    if c == 125 and members == 0 then close = i break end
    if c ~= 34 then return nil end
    local keyEnd = jsonStringEnd(text, i)
    if not keyEnd then return nil end
    local key = string.sub(text, i + 1, keyEnd - 1)
    if string.find(key, '\\', 1, true) then
      local ok, decoded = pcall(cjson.decode, '"' .. key .. '"')
      if ok then key = decoded end
    end
    i = skip(keyEnd + 1)
    if not i or string.byte(text, i) ~= 58 then return nil end
    local valueStart = skip(i + 1)
    if not valueStart then return nil end
    local valueEnd = jsonValueEnd(text, valueStart)
    if not valueEnd then return nil end
    members = members + 1
    local n = index[key]
    if n then
      pieces[#pieces + 1] = string.sub(text, from, valueStart - 1)
      pieces[#pieces + 1] = fields[n][2]
      from = valueEnd + 1
      seen[n] = true
    end
    i = skip(valueEnd + 1)
    if not i then return nil end
    c = string.byte(text, i)
    if c == 125 then close = i break end
    if c ~= 44 then return nil end
    i = skip(i + 1)
  end
  if not close then return nil end
  pieces[#pieces + 1] = string.sub(text, from, close - 1)
  for n, field in ipairs(fields) do
    if not seen[n] then
      pieces[#pieces + 1] = (members > 0 and ',"' or '"') .. field[1] .. '":' .. field[2]
      members = members + 1
    end
  end
  pieces[#pieces + 1] = string.sub(text, close)
  return table.concat(pieces)
end
