-- GET one path with the session cookie from COOKIE.
local cookie = os.getenv("COOKIE")
wrk.headers["Cookie"] = cookie
