-- GET a random ticket page of the benchmark tenant. Needs COOKIE and MAX_TICKET in the environment.
local cookie = os.getenv("COOKIE")
local max_ticket = tonumber(os.getenv("MAX_TICKET") or "100000")
local slug = os.getenv("SLUG") or "bench"
math.randomseed(os.time())
request = function()
  local path = "/t/" .. slug .. "/tickets/" .. math.random(1, max_ticket) .. "/"
  return wrk.format("GET", path, { ["Cookie"] = cookie })
end
