-- wrk script: POST each line of the file named by BENCH_BODIES once, form-encoded, then stop.
-- Lines are shared out among wrk's threads (line i goes to thread i mod BENCH_THREADS), so no body
-- is sent twice: the servers refuse a replayed client assertion, as they must, and count it.
-- done() prints one line "BENCH_RESULT {json}" for bench/_harness.py to read.

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  local thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")
  local path = wrk.path
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  requests = {}
  sent = 0
  exhausted = false
  local number = 0
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    if number % thread_count == thread_index then
      table.insert(requests, wrk.format("POST", path, headers, line))
    end
    number = number + 1
  end
end

function request()
  sent = sent + 1
  local prepared = requests[sent]
  if prepared == nil then
    exhausted = true
    wrk.thread:stop()
    -- wrk may still send what this returns. Never a body again: a replayed assertion is refused
    -- and counted as a failed authentication, and enough of them (one per connection) block
    -- the client for the next run. A GET of the token endpoint changes nothing on any server.
    return wrk.format("GET", wrk.path)
  end
  return prepared
end

function done(summary, latency, _requests)
  local ran_out = false
  for _, thread in ipairs(threads) do
    if thread:get("exhausted") then ran_out = true end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
      .. '"status_errors": %d, "timeout": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, '
      .. '"max_us": %d, "exhausted": %s}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, tostring(ran_out)))
end
