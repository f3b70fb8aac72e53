-- pass: the same file answered with Cache-Control: no-store, so every request goes to the origin
-- (the pass / splice path on a cache). args: size=1k.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local req
function init(args)
  local a = parse_args(args, { size = "1k" })
  req = wrk.format("GET", "/nostore/files/" .. a.size)
end

function request() return req end
