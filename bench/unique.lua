-- Every request carries a header no other request has, so none is answered
-- again as a repeat (app/cache/repeats.py): each goes the whole HIT path.
-- The headers given with -H are kept.
local threads = 0
local n = 0

-- In the main state: each of wrk's threads gets an id of its own (`thread_id`
-- in its state), so that two threads never send the same header.
setup = function(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

request = function()
  n = n + 1
  local headers = {}
  for name, value in pairs(wrk.headers) do
    headers[name] = value
  end
  headers["X-Request-Id"] = thread_id .. "-" .. n
  return wrk.format(nil, nil, headers)
end
