-- zipf: a mixed workload. Keys are drawn from a Zipf(s) distribution over `keys` ranks, so a few
-- are very hot (hits) and the long tail keeps missing; `nostore` percent of requests ask for the
-- no-store twin (pass). Sizes by rank: every 20th key 256 KiB, every 4th 16 KiB, the rest 1 KiB.
-- args: keys=10000 s=1.0 nostore=1 salt=x  (a fresh salt per run starts every target cold)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local a, n, cdf, nostore
function init(args)
  a = parse_args(args, { keys = "10000", s = "1.0", nostore = "1", salt = "0" })
  n = tonumber(a.keys)
  nostore = tonumber(a.nostore) / 100
  local s = tonumber(a.s)
  cdf = {}
  local sum = 0
  for i = 1, n do
    sum = sum + 1 / (i ^ s)
    cdf[i] = sum
  end
  for i = 1, n do cdf[i] = cdf[i] / sum end
  -- the same seed for every target, so each sees the same sequence per thread
  math.randomseed(777 + (thread_id or 0))
end

local function rank()
  local u = math.random()
  local lo, hi = 1, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  return lo
end

function request()
  local r = rank()
  local size = (r % 20 == 0) and "256k" or ((r % 4 == 0) and "16k" or "1k")
  local prefix = (math.random() < nostore) and "/nostore/bytes/" or "/bytes/"
  return wrk.format("GET", prefix .. size .. "?z=" .. r .. "&e=" .. a.salt)
end
