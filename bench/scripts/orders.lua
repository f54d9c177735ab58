-- Order creation: one line of quantity 1 for a random product, a distinct Idempotency-Key
-- per request (thread number, counter and a random part), the bearer token from TOKEN.
local prefix = os.getenv("PATH_PREFIX") or ""
local products = tonumber(os.getenv("PRODUCTS") or "1000")
local token = os.getenv("TOKEN") or ""
local counter = 0
thread_number = 0
local next_number = 0

setup = function(thread)
  next_number = next_number + 1
  thread:set("thread_number", next_number)
end

init = function(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6) + thread_number)
end

request = function()
  counter = counter + 1
  local key = string.format("bench-%d-%d-%d-%d", os.time(), thread_number, counter,
    math.random(1, 1000000000))
  local body = string.format('{"items":[{"product_id":%d,"quantity":1}]}',
    math.random(1, products))
  return wrk.format("POST", prefix .. "/orders", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = key,
  }, body)
end
