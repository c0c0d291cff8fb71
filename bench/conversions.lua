-- wrk script of bench/conversions.py, a Python percent-format template: the tokens,
-- visitors, time and key are filled in by name, and a doubled percent sign is one.
local tokens = {%(tokens)s}
local visitors = {%(visitors)s}
local occurred = "%(occurred)s"
local key = "%(key)s"
local counter = 0
-- Globals: setup() sets each thread's own thread_no (thread:set writes a global).
thread_no = 0
label = "run"

function setup(thread)
  thread:set("thread_no", thread_no)
  thread_no = thread_no + 1
end

function init(args)
  label = args[1] or "run"
end

request = function()
  counter = counter + 1
  -- The two wrk threads take turns through the advocates: two conversions of the same
  -- advocate at the same moment wait for each other (the per-advocate cap is checked
  -- under a row lock), which real traffic rarely does and lock-step threads always would.
  local i = ((counter * 2 + thread_no) %% #tokens) + 1
  local id = label .. "-" .. thread_no .. "-" .. counter
  local body = '{"event":"purchase","event_id":"' .. id .. '","invitee":{"external_id":"' ..
    id .. '","email":"' .. id .. '@bench.example"},"amount":5000,"currency":"EUR",' ..
    '"occurred_at":"' .. occurred .. '","ref":"' .. tokens[i] .. '","visitor_id":"' ..
    visitors[i] .. '","ip":"198.51.100.7","user_agent":"bench"}'
  return wrk.format("POST", "/api/v1/conversions", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
    ["Idempotency-Key"] = id,
  }, body)
end
