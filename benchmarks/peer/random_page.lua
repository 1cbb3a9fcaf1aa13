-- GET a random page from PATH_TEMPLATE (one "%d" for an id from 1 to MAX_ID) with the session
-- cookie in COOKIE. Used for the ticket pages of both sides.
local cookie = os.getenv("COOKIE")
local template = os.getenv("PATH_TEMPLATE")
local max_id = tonumber(os.getenv("MAX_ID") or "100000")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", string.format(template, math.random(1, max_id)), { ["Cookie"] = cookie })
end
