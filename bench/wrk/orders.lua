-- POST /orders/ load for wrk: each request is one customer (a JWT from the
-- tokens file) ordering one code of a variant (from the variants file) under
-- a fresh Idempotency-Key. Arguments after "--": tokens file, variants
-- file, a run nonce, the number of threads. Prints the same JSON summary line as get.lua.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

local function lines(path)
  local list = {}
  for line in io.lines(path) do
    if line ~= "" then table.insert(list, line) end
  end
  return list
end

function init(args)
  tokens = lines(args[1])
  variants = lines(args[2])
  nonce = args[3]
  nthreads = tonumber(args[4])
  counter = 0
  bad = 0
end

function request()
  counter = counter + 1
  -- Threads take interleaved sequence numbers, so no two requests of the
  -- run share a customer slot, a variant slot or a key.
  local n = counter * nthreads + id
  local body = '{"items": [{"variant": ' .. variants[(n % #variants) + 1] ..
    ', "quantity": 1}]}'
  return wrk.format("POST", "/orders/", {
    ["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1],
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = nonce .. "-" .. n,
  }, body)
end

function response(status, headers, body)
  if status < 200 or status > 299 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local non_2xx = 0
  for _, thread in ipairs(threads) do non_2xx = non_2xx + thread:get("bad") end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), non_2xx,
    e.connect + e.read + e.write + e.timeout))
end
