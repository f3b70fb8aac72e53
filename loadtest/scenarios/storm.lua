-- storm: many connections asking at once for keys nobody has fetched yet, served slowly by the
-- origin (/slow/bytes/<size>?rate=<rate>), so that requests for the same key overlap. A cache
-- that coalesces fetches sends one origin request per key; run.sh reports origin requests per key
-- from the origin's /__stats?match=<salt>.
-- args: keys=16 size=256k rate=1m salt=x
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local a, n, i
function init(args)
  a = parse_args(args, { keys = "16", size = "256k", rate = "1m", salt = "0" })
  n = tonumber(a.keys)
  i = thread_id or 0
end

function request()
  local k = i % n
  i = i + 1
  return wrk.format("GET", "/slow/bytes/" .. a.size .. "?rate=" .. a.rate .. "&s=" .. a.salt .. "-" .. k)
end
