-- wrk script for bench/http.sh: rotates over the request paths given after `--`, and prints
-- one machine-readable result line at the end, so the script needs no parsing of wrk's text.
--
--   wrk -t2 -c64 -d10s -s bench/wrk.lua http://127.0.0.1:PORT -- /path1 /path2 ...

local paths = {}
local counter = 0

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
  return wrk.format(nil, paths[(counter % #paths) + 1])
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
