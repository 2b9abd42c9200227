-- The firewall policy of SPEC.md ("Decisions") as an Envoy Lua filter: the
-- comparison point for what the same job costs in Envoy's scripting filter.
-- bench/envoy_config.py prepends the listener's policy:
--   POLICY = { fallback = "deny" | "spa", prefixes = { {"/api/1/devices", false}, ... } }
-- where the boolean says whether WebSocket upgrades are allowed below the prefix.

local byte, sub, find, lower, gsub, char = string.byte, string.sub, string.find, string.lower, string.gsub, string.char
local SLASH = 47

local fallback = POLICY.fallback
local rules = {}
for _, entry in ipairs(POLICY.prefixes) do
  local prefix = entry[1]
  local rule = { prefix = prefix, len = #prefix, websocket = entry[2], dir = byte(prefix, #prefix) == SLASH }
  -- A trailing-slash prefix also covers the bare directory: "/static/" covers "/static".
  if rule.dir then rule.bare = sub(prefix, 1, -2) end
  rules[#rules + 1] = rule
end
-- Longest first, so the first match is the longest match.
table.sort(rules, function(a, b) return a.len > b.len end)

local function covers(rule, path)
  if sub(path, 1, rule.len) ~= rule.prefix then
    return path == rule.bare
  end
  return rule.dir or #path == rule.len or byte(path, rule.len + 1) == SLASH
end

local function longest_match(path)
  for i = 1, #rules do
    local rule = rules[i]
    if covers(rule, path) then return rule end
  end
  return nil
end

-- Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
local function valid_utf8(s)
  local i, n = 1, #s
  while i <= n do
    local c = byte(s, i)
    if c < 0x80 then
      i = i + 1
    elseif c >= 0xC2 and c <= 0xDF then
      local c1 = byte(s, i + 1)
      if not c1 or c1 < 0x80 or c1 > 0xBF then return false end
      i = i + 2
    elseif c >= 0xE0 and c <= 0xEF then
      local c1, c2 = byte(s, i + 1, i + 2)
      local lo, hi = 0x80, 0xBF
      if c == 0xE0 then lo = 0xA0 elseif c == 0xED then hi = 0x9F end
      if not c2 or c1 < lo or c1 > hi or c2 < 0x80 or c2 > 0xBF then return false end
      i = i + 3
    elseif c >= 0xF0 and c <= 0xF4 then
      local c1, c2, c3 = byte(s, i + 1, i + 3)
      local lo, hi = 0x80, 0xBF
      if c == 0xF0 then lo = 0x90 elseif c == 0xF4 then hi = 0x8F end
      if not c3 or c1 < lo or c1 > hi or c2 < 0x80 or c2 > 0xBF or c3 < 0x80 or c3 > 0xBF then return false end
      i = i + 4
    else
      return false
    end
  end
  return true
end

local DOUBLE_ENCODED = { ["2e"] = true, ["2f"] = true, ["5c"] = true, ["25"] = true }

local function bad_percent_encoding(path)
  local i = find(path, "%", 1, true)
  local non_ascii = false
  while i do
    local hex = sub(path, i + 1, i + 2)
    if not find(hex, "^%x%x$") then return true end
    local b = tonumber(hex, 16)
    -- Encoded control bytes, '.', '/' and '\' hide what the path really is.
    if b < 0x20 or b == 0x7F or b == 0x2E or b == 0x2F or b == 0x5C then return true end
    if b == 0x25 and DOUBLE_ENCODED[lower(sub(path, i + 3, i + 4))] then return true end
    if b >= 0x80 then non_ascii = true end
    i = find(path, "%", i + 3, true)
  end
  if non_ascii then
    local decoded = gsub(path, "%%(%x%x)", function(h) return char(tonumber(h, 16)) end)
    return not valid_utf8(decoded)
  end
  return false
end

-- SPEC rule 6, on the path without its query.
local function hostile(path)
  return byte(path, 1) ~= SLASH
    or find(path, "[^!-~]") ~= nil -- control, space, DEL or non-ASCII byte
    or find(path, "[#;\\]") ~= nil
    or find(path, "//", 1, true) ~= nil
    or find(path .. "/", "/%.%.?/") ~= nil -- a "." or ".." segment
    or (find(path, "%", 1, true) ~= nil and bad_percent_encoding(path))
end

local function refuse(handle, status)
  handle:respond({ [":status"] = status }, "")
end

function envoy_on_request(handle)
  local headers = handle:headers()
  local full = headers:get(":path")
  if full == nil or full == "" then return refuse(handle, "400") end
  local query_at = find(full, "?", 1, true)
  local path = query_at and sub(full, 1, query_at - 1) or full
  if path == "" or hostile(path) then return refuse(handle, "400") end
  -- The query: only bytes an HTTP/1.1 request line may carry.
  if query_at and find(full, "[^!-~]", query_at) ~= nil then return refuse(handle, "400") end

  local upgrade = headers:get("upgrade") ~= nil
  local rule = longest_match(path)
  if rule then
    if upgrade and not rule.websocket then refuse(handle, "403") end
    return
  end
  if upgrade or fallback == "deny" then return refuse(handle, "403") end

  local method = headers:get(":method")
  if method == "GET" or method == "HEAD" then
    headers:replace(":path", query_at and ("/index.html" .. sub(full, query_at)) or "/index.html")
  else
    handle:respond({ [":status"] = "405", ["allow"] = "GET, HEAD" }, "")
  end
end
