-- First pages of the product list filtered by a category drawn from CATEGORIES.
local prefix = os.getenv("PATH_PREFIX") or ""
local categories = {}
for name in string.gmatch(os.getenv("CATEGORIES") or "books", "[^,]+") do
  table.insert(categories, name)
end

init = function(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

request = function()
  local category = categories[math.random(1, #categories)]
  return wrk.format("GET", prefix .. "/products?limit=20&category=" .. category)
end
