-- Checkout quotes for a random product, counting answers that say "partial":true.
local prefix = os.getenv("PATH_PREFIX") or ""
local products = tonumber(os.getenv("PRODUCTS") or "1000")
local threads = {}
partial = 0
complete = 0

setup = function(thread)
  table.insert(threads, thread)
end

init = function(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

-- A postal code drawn per request as well: checkout caches a carrier's price per parcel
-- (destination, weight, items) for SHIPPING_CACHE_TTL_SECONDS, and a repeated parcel would
-- be priced without asking the carriers at all. POSTAL_PREFIX keeps one run's parcels apart
-- from an earlier run's, whose carrier prices may still be cached.
local postal_prefix = os.getenv("POSTAL_PREFIX") or ""
request = function()
  local body = string.format(
    '{"items":[{"product_id":%d,"quantity":1}],' ..
    '"destination":{"country":"DE","postal_code":"%s%05d"},"currency":"EUR"}',
    math.random(1, products), postal_prefix, math.random(1, 99999))
  return wrk.format("POST", prefix .. "/quote", {["Content-Type"] = "application/json"}, body)
end

response = function(status, headers, body)
  if status == 200 then
    if string.find(body, '"partial":true', 1, true) then
      partial = partial + 1
    else
      complete = complete + 1
    end
  end
end

done = function(summary, latency, requests)
  local p, c = 0, 0
  for _, thread in ipairs(threads) do
    p = p + thread:get("partial")
    c = c + thread:get("complete")
  end
  io.write(string.format('MERCATO {"partial": %d, "complete": %d}\n', p, c))
end
