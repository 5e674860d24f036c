-- wrk script: send each line of the file named by BENCH_REQUESTS once, then stop.
--
-- A line is "METHOD<TAB>PATH<TAB>BODY": an empty PATH is the path of wrk's URL, and the body may
-- be empty. Every request carries the headers given to wrk with -H. Lines are shared out among
-- wrk's threads (line i goes to thread i mod BENCH_THREADS), so no request is sent twice: a
-- create would be refused the second time, and a replayed client assertion counted against its
-- client.
--
-- Each answer is checked: its status must be BENCH_STATUS (when set), and its body must hold
-- each pattern of BENCH_CHECKS exactly as many times as it says (one "COUNT<TAB>LUA-PATTERN" a
-- line). An answer that fails is counted, and the first one is kept to be shown.
--
-- A thread whose every line has been answered stops, and says so by making the file
-- BENCH_DONE_FILE.N (N its index): wrk itself would wait out its whole duration, so
-- bench/_harness.py interrupts it then. The load's own span, from a thread's first request to
-- its last answer, is timed here.
--
-- done() prints "BENCH_RESULT {json}" and "BENCH_LATENCIES value:count,..." (wrk's latency
-- histogram, in microseconds) for bench/_harness.py to read. Before done() runs, wrk has added
-- its coordinated-omission correction to that histogram: latencies it never measured, for the
-- requests a fixed-rate client would have sent while a slow answer was awaited. This load is a
-- closed loop with a fixed count of requests, so bench/_harness.py takes them out again; it needs
-- wrk's runtime and count of answers ("wrk_runtime_us", "completed"), and checks the result
-- against the answers counted here ("answered").

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

-- Wall-clock microseconds: wrk gives its scripts no clock, so ask date(1), at a thread's first
-- request and when it runs out only.
local function now_us()
  local output = io.popen("date +%s%N")
  local nanoseconds = output:read("*n")
  output:close()
  return math.floor(nanoseconds / 1000)
end

local function split_tabs(line)
  local method, path, body = line:match("^([^\t]*)\t([^\t]*)\t?(.*)$")
  if method == nil then
    error("a request line is METHOD<TAB>PATH<TAB>BODY: " .. line:sub(1, 80))
  end
  return method, path, body
end

-- The last line has been answered: stop this thread, and say so.
local function finish()
  exhausted = true
  finished_us = now_us()
  local done_file = os.getenv("BENCH_DONE_FILE")
  if done_file then io.open(done_file .. "." .. thread_index, "w"):close() end
  wrk.thread:stop()
end

function init(args)
  local thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")
  requests = {}
  verified = false
  sent = 0
  answered = 0
  exhausted = false
  started_us = 0
  finished_us = 0
  failed = 0
  first_failure = ""
  expected_status = tonumber(os.getenv("BENCH_STATUS") or "")
  checks = {}
  for line in (os.getenv("BENCH_CHECKS") or ""):gmatch("[^\n]+") do
    local count, pattern = line:match("^(%d+)\t(.+)$")
    table.insert(checks, { tonumber(count), pattern })
  end
  local number = 0
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    if number % thread_count == thread_index then
      local method, path, body = split_tabs(line)
      if path == "" then path = wrk.path end
      if body == "" then body = nil end
      table.insert(requests, wrk.format(method, path, nil, body))
    end
    number = number + 1
  end
  if #requests == 0 then finish() end
end

function request()
  if thread_index == 0 and not verified then
    -- wrk calls this once on its first thread before the load starts, to count the requests a
    -- call returns (its pipelining); what it returns then is never sent.
    verified = true
    return requests[1] or wrk.format("GET", wrk.path)
  end
  if sent == 0 then started_us = now_us() end
  if sent < #requests then
    sent = sent + 1
    return requests[sent]
  end
  -- Nothing more to send: the connection sends nothing and waits (it is never answered) while
  -- the others' last answers come in.
  return ""
end

local function acceptable(status, body)
  if expected_status ~= nil and status ~= expected_status then return false end
  for _, check in ipairs(checks) do
    local _, found = body:gsub(check[2], "")
    if found ~= check[1] then return false end
  end
  return true
end

function response(status, headers, body)
  answered = answered + 1
  if not acceptable(status, body or "") then
    failed = failed + 1
    if first_failure == "" then
      first_failure = tostring(status) .. " " .. (body or ""):sub(1, 300)
    end
  end
  if answered == #requests then finish() end
end

local function json_string(text)
  return '"' .. text:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end)
    .. '"'
end

function done(summary, latency, _requests)
  local ran_out = false
  local answers = 0
  local failures = 0
  local first = ""
  local span_from, span_to = nil, 0
  for _, thread in ipairs(threads) do
    if thread:get("exhausted") then ran_out = true end
    answers = answers + thread:get("answered")
    failures = failures + thread:get("failed")
    if first == "" then first = thread:get("first_failure") end
    local started, finished = thread:get("started_us"), thread:get("finished_us")
    if started > 0 and (span_from == nil or started < span_from) then span_from = started end
    if finished > span_to then span_to = finished end
  end
  -- The load's span when every line was sent; else wrk's duration, which it then ran out.
  local span = summary.duration
  if ran_out and span_from ~= nil and span_to > span_from then span = span_to - span_from end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"completed": %d, "answered": %d, "wrk_runtime_us": %d, "duration_us": %d, '
      .. '"connect": %d, "read": %d, "write": %d, "status_errors": %d, "timeout": %d, '
      .. '"exhausted": %s, "failed_checks": %d, "first_failure": %s}\n',
    summary.requests, answers, summary.duration, span, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, tostring(ran_out), failures, json_string(first)))
  -- #latency counts the distinct values; latency(i) gives the i-th and how many had it.
  local pairs_seen = {}
  for i = 1, #latency do
    local value, count = latency(i)
    table.insert(pairs_seen, string.format("%d:%d", value, count))
  end
  io.write("BENCH_LATENCIES " .. table.concat(pairs_seen, ",") .. "\n")
end
