-- wrk script for bench/http.sh: rotates over the request paths given after `--`, and prints
-- one machine-readable result line at the end, so the script needs no parsing of wrk's text.
--
--   wrk -t2 -c64 -d10s -s bench/wrk.lua http://127.0.0.1:PORT -- /path1 /path2 ...
--
-- Environment (optional):
--   WRK_BODY=...      POST this form-encoded body to every path instead of GET
--   WRK_DELAY_MS=N    each connection waits N ms before its next request (a paced load, to
--                     measure latency below the peak; requests/s then come out near
--                     connections × 1000 / (N + latency))

local paths = {}
local counter = 0
local body = os.getenv("WRK_BODY")
local pause = tonumber(os.getenv("WRK_DELAY_MS") or "")
local form = { ["Content-Type"] = "application/x-www-form-urlencoded" }

function init(args)
  for _, path in ipairs(args) do
    paths[#paths + 1] = path
  end
  if #paths == 0 then
    paths[1] = "/"
  end
  -- Threads start at different places in the rotation.
  counter = math.random(0, #paths - 1)
end

function request()
  counter = counter + 1
  local path = paths[(counter % #paths) + 1]
  if body then
    return wrk.format("POST", path, form, body)
  end
  return wrk.format(nil, path)
end

if pause then
  function delay()
    return pause
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d bytes=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "connect_errors=%d read_errors=%d write_errors=%d status_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
