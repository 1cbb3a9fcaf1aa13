-- One "open" of a page that loads its rows afterwards: each connection alternates PAGE_PATH and
-- DATA_PATH (the page's own data request, with its X-Requested-With header), session in COOKIE.
-- Opens per second = requests per second / 2.
local cookie = os.getenv("COOKIE")
local page = os.getenv("PAGE_PATH")
local data = os.getenv("DATA_PATH")
local n = 0
request = function()
  n = n + 1
  if n % 2 == 1 then
    return wrk.format("GET", page, { ["Cookie"] = cookie })
  end
  return wrk.format("GET", data, {
    ["Cookie"] = cookie,
    ["X-Requested-With"] = "XMLHttpRequest",
    ["Accept"] = "application/json, text/javascript, */*; q=0.01",
  })
end
