-- Shared by every scenario: thread ids, argument parsing, and one machine-readable result line.
-- Each scenario starts with:
--   local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
--   dofile(dir .. "common.lua")

local thread_count = 0

-- Gives each wrk thread an id (0-based), available as the global `thread_id` in its Lua state.
function setup(thread)
  thread:set("thread_id", thread_count)
  thread_count = thread_count + 1
end

-- Parses "key=value" script arguments (after `--` on the wrk command line) into a table.
function parse_args(args, defaults)
  local t = {}
  for k, v in pairs(defaults or {}) do t[k] = v end
  for _, a in ipairs(args or {}) do
    local k, v = a:match("^([%w_]+)=(.*)$")
    if k then t[k] = v end
  end
  return t
end

-- One line that run.sh parses; latencies in microseconds.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "ZCRESULT requests=%d bytes=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d"
      .. " p50_us=%d p90_us=%d p99_us=%d mean_us=%d max_us=%d\n",
    summary.requests, summary.bytes, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    math.floor(latency.mean), latency.max))
end
