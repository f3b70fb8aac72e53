-- keys: many distinct cached URLs, /bytes/<size>?k=<n>&e=<salt>, picked uniformly at random:
-- measures the index and open-file handling rather than one hot object. run.sh warms every key
-- once with curl before measuring, so a cache should answer all of them without the origin.
-- args: keys=10000 size=1k salt=x
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local a, n
function init(args)
  a = parse_args(args, { keys = "10000", size = "1k", salt = "0" })
  n = tonumber(a.keys)
  math.randomseed(4242 + (thread_id or 0))
end

function request()
  return wrk.format("GET", "/bytes/" .. a.size .. "?k=" .. math.random(0, n - 1) .. "&e=" .. a.salt)
end
