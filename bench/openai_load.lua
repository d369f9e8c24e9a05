-- wrk script for bench/openai_load.sh: POSTs the body in $BODY_FILE to /v1/chat/completions
-- and prints one JSON line (prefix "RESULT ") with requests/s of 200s, latency percentiles
-- (ms, every reply), replies by status, 429s without Retry-After, and socket errors.
-- Latency is measured here, not taken from wrk: wrk 4 adds synthetic samples for
-- coordinated omission (one per request interval of a slow reply), so one 180 ms stall of a
-- 14 us loop weighs like 13,000 replies (GET /healthz, 1 connection: 73,687 replies in 3 s
-- with a "mean" of 11.3 ms). Run with one connection per thread (-t N -c N): a thread's
-- replies then come one after the other, and each one's latency is the time since the
-- previous reply (or the thread's start), reconnects included.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } agentrt_timespec;
int clock_gettime(int clk, agentrt_timespec* ts);
]]
local ts = ffi.new("agentrt_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

-- Without $BODY_FILE: GET $WRK_PATH (the HTTP layer alone, e.g. /healthz).
local body_file = os.getenv("BODY_FILE")
if body_file then
  local f = assert(io.open(body_file, "rb"))
  wrk.method = "POST"
  wrk.path = "/v1/chat/completions"
  wrk.body = f:read("*a")
  wrk.headers["Content-Type"] = "application/json"
  f:close()
else
  wrk.path = os.getenv("WRK_PATH") or "/healthz"
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  n200, n429, no_retry_after, other = 0, 0, 0, 0
  lat, last = {}, now_us()
  lat200, lat429 = {}, {}
end

function response(status, headers, body)
  local t = now_us()
  lat[#lat + 1] = t - last
  if status == 200 then
    lat200[#lat200 + 1] = t - last
  elseif status == 429 then
    lat429[#lat429 + 1] = t - last
  end
  last = t
  if status == 200 then
    n200 = n200 + 1
  elseif status == 429 then
    n429 = n429 + 1
    if headers["Retry-After"] == nil and headers["retry-after"] == nil then
      no_retry_after = no_retry_after + 1
    end
  else
    other = other + 1
  end
end

-- '{"p50": .., "p99": .., "max": ..}' of sorted microseconds, in ms.
local function quantiles(v)
  local function q(p)
    return #v > 0 and v[math.max(1, math.ceil(p * #v))] / 1e3 or 0
  end
  return string.format('{"p50": %.3f, "p99": %.3f, "max": %.3f, "n": %d}', q(0.5), q(0.99),
                       q(1.0), #v)
end

function done(summary, latency, requests)
  local t = { n200 = 0, n429 = 0, no_retry_after = 0, other = 0 }
  local all, s200, s429 = {}, {}, {}
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do
      t[k] = t[k] + thread:get(k)
    end
    for _, v in ipairs(thread:get("lat")) do
      all[#all + 1] = v
    end
    for _, v in ipairs(thread:get("lat200")) do -- thread:get copies flat tables only
      s200[#s200 + 1] = v
    end
    for _, v in ipairs(thread:get("lat429")) do
      s429[#s429 + 1] = v
    end
  end
  table.sort(all)
  table.sort(s200)
  table.sort(s429)
  local sum = 0
  for _, v in ipairs(all) do
    sum = sum + v
  end
  local function q(p)
    return #all > 0 and all[math.max(1, math.ceil(p * #all))] / 1e3 or 0
  end
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'RESULT {"seconds": %.3f, "replies": %d, "ok_per_s": %.3f, "status": {"200": %d, ' ..
    '"429": %d, "other": %d}, "429_without_retry_after": %d, "latency_ms": {"p50": %.3f, ' ..
    '"p90": %.3f, "p99": %.3f, "max": %.3f, "mean": %.3f, "samples": %d}, ' ..
    '"by_status_ms": {"200": %s, "429": %s}, ' ..
    '"wrk_corrected_p99_ms": %.3f, "socket_errors": {"connect": %d, ' ..
    '"read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    secs, summary.requests, t.n200 / secs, t.n200, t.n429, t.other, t.no_retry_after,
    q(0.50), q(0.90), q(0.99), q(1.0), #all > 0 and sum / #all / 1e3 or 0, #all,
    quantiles(s200), quantiles(s429), latency:percentile(99) / 1e3, e.connect, e.read, e.write, e.status, e.timeout))
end
