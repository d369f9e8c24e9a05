-- wrk script for bench/openai_load.sh: POSTs the body in $BODY_FILE to /v1/chat/completions
-- and prints one JSON line (prefix "RESULT ") with requests/s of 200s, latency percentiles
-- (ms, every reply), replies by status, 429s without Retry-After, and socket errors.
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.body = f:read("*a")
wrk.headers["Content-Type"] = "application/json"
f:close()

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  n200, n429, no_retry_after, other = 0, 0, 0, 0
end

function response(status, headers, body)
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

function done(summary, latency, requests)
  local t = { n200 = 0, n429 = 0, no_retry_after = 0, other = 0 }
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do
      t[k] = t[k] + thread:get(k)
    end
  end
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'RESULT {"seconds": %.3f, "replies": %d, "ok_per_s": %.3f, "status": {"200": %d, ' ..
    '"429": %d, "other": %d}, "429_without_retry_after": %d, "latency_ms": {"p50": %.3f, ' ..
    '"p90": %.3f, "p99": %.3f, "max": %.3f, "mean": %.3f}, "socket_errors": {"connect": %d, ' ..
    '"read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    secs, summary.requests, t.n200 / secs, t.n200, t.n429, t.other, t.no_retry_after,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3, latency.mean / 1e3, e.connect, e.read, e.write, e.status, e.timeout))
end
