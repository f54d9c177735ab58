-- Product reads with ids drawn uniformly over 1..PRODUCTS (default 1000).
-- PATH_PREFIX is /api/catalog through the gateway, empty straight at the service.
local prefix = os.getenv("PATH_PREFIX") or ""
local products = tonumber(os.getenv("PRODUCTS") or "1000")

init = function(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

request = function()
  return wrk.format("GET", prefix .. "/products/" .. math.random(1, products))
end
