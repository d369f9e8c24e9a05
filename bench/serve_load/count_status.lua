-- wrk script for bench/serve_load.sh: POSTs the body in $BODY_FILE to $WRK_PATH (default
-- /v1/jobs) and counts replies by status (and 429s without Retry-After) over every thread.
-- With $IDS_DIR, each thread writes the ids of its 201 replies to IDS_DIR/ids-N.txt.
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.path = os.getenv("WRK_PATH") or "/v1/jobs"
wrk.body = f:read("*a")
wrk.headers["Content-Type"] = "application/json"
f:close()

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  n200, n201, n429, no_retry_after, other = 0, 0, 0, 0, 0
  local dir = os.getenv("IDS_DIR")
  if dir then
    ids = assert(io.open(string.format("%s/ids-%d.txt", dir, tid), "w"))
    ids:setvbuf("line")
  end
end

function response(status, headers, body)
  if status == 200 then
    n200 = n200 + 1
  elseif status == 201 then
    n201 = n201 + 1
    if ids then
      ids:write((string.match(body, '"id"%s*:%s*"([^"]+)"') or "?") .. "\n")
    end
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
  local t = { n200 = 0, n201 = 0, n429 = 0, no_retry_after = 0, other = 0 }
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do
      t[k] = t[k] + thread:get(k)
    end
  end
  io.write(string.format("COUNTS 200=%d 201=%d 429=%d 429_without_retry_after=%d other=%d\n",
                         t.n200, t.n201, t.n429, t.no_retry_after, t.other))
end
