-- POST a body built from POST_BODY to POST_PATH: every "__N__" becomes a number unique to the run
-- (per thread and request), every "__C__" one of 5,000 customers (as benchmarks/ticket_create.lua). Optional: COOKIE, CONTENT_TYPE (default form-urlencoded),
-- AUTHORIZATION, CSRF (sent as X-CSRFToken). Used for ticket creation through a public form and
-- through an API on both sides.
local path = os.getenv("POST_PATH")
local body = os.getenv("POST_BODY")
local run = os.getenv("RUN") or tostring(os.time())
local threads = {}
local id = 0
local counter = 0

wrk.method = "POST"
wrk.path = path
wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE") or "application/x-www-form-urlencoded"
if os.getenv("COOKIE") then wrk.headers["Cookie"] = os.getenv("COOKIE") end
if os.getenv("AUTHORIZATION") then wrk.headers["Authorization"] = os.getenv("AUTHORIZATION") end
if os.getenv("CSRF") then wrk.headers["X-CSRFToken"] = os.getenv("CSRF") end

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  id = tonumber(wrk.thread:get("id")) or 0
end

function request()
  counter = counter + 1
  local n = run .. id .. string.format("%07d", counter)
  local customer = tostring((id * 100003 + counter) % 5000)
  return wrk.format(nil, nil, nil, (body:gsub("__N__", n):gsub("__C__", customer)))
end
