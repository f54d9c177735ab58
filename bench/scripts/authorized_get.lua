-- One GET of PATH_PREFIX .. PATH, with the bearer token from TOKEN when it is set.
local prefix = os.getenv("PATH_PREFIX") or ""
local path = os.getenv("PATH_TO_GET") or "/healthz"
local token = os.getenv("TOKEN") or ""
local headers = {}
if token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end

request = function()
  return wrk.format("GET", prefix .. path, headers)
end
