-- hit: one cacheable file fetched over and over (the sendfile path on a cache).
-- args: size=1k (the origin's /files/<size>, max-age=3600); run.sh warms it before measuring.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local req
function init(args)
  local a = parse_args(args, { size = "1k" })
  req = wrk.format("GET", "/files/" .. a.size)
end

function request() return req end
