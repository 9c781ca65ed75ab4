-- Every request carries a header no other request has, so none is answered
-- again as a repeat (app/cache/repeats.py): each goes the whole HIT path.
-- The headers given with -H are kept.
local n = 0

request = function()
  n = n + 1
  local headers = {}
  for name, value in pairs(wrk.headers) do
    headers[name] = value
  end
  headers["X-Request-Id"] = tostring(n)
  return wrk.format(nil, nil, headers)
end
