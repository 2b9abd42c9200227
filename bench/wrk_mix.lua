-- wrk script: cycles through the requests of a mix file (bench/mixes/*.txt,
-- given after "--") and prints the run's figures as one JSON line at the end.

local requests = {}
local next_request = 1

function init(args)
  local file = assert(io.open(args[1], "r"))
  local headers, lines = {}, {}
  for line in file:lines() do
    -- "header NAME: VALUE": sent with every request of the mix.
    local name, value = line:match("^header%s+([^:]+):%s*(.*)$")
    if name then headers[name] = value else lines[#lines + 1] = line end
  end
  for _, line in ipairs(lines) do
    local method, path = line:match("^(%u+)%s+(%S+)")
    if method then requests[#requests + 1] = wrk.format(method, path, headers) end
  end
  file:close()
  assert(#requests > 0, "no requests in " .. args[1])
end

function request()
  local r = requests[next_request]
  next_request = next_request % #requests + 1
  return r
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "non_2xx_3xx": %d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.timeout, e.status))
end
