-- POST new tickets through the API with the tenant API key in API_KEY.
local key = os.getenv("API_KEY")
local slug = os.getenv("SLUG") or "bench"
local n = 0
wrk.method = "POST"
wrk.path = "/api/v1/t/" .. slug .. "/tickets/"
wrk.headers["Authorization"] = "Api-Key " .. key
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  local body = string.format(
    '{"subject": "Checkout fails (%d)", "body": "I clicked pay and nothing happened. Order %d.", "customer_email": "load%d@bench.example"}',
    n, n, n % 5000)
  return wrk.format(nil, nil, nil, body)
end
