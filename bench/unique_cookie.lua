-- Every request carries a cookie no other request has (as each visitor has
-- cookies of their own: an id, a preference), and names no session: each is
-- a visitor nobody knows. No answer depends on such a cookie, so each is a
-- repeat of the others (app/cache/repeats.py keys the Cookie header by the
-- cookies a visitor is known by, Holes.cookies). Signed-in people, each with
-- a session, are bench/people.lua's. The headers given with -H are kept.
local threads = 0
local n = 0

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
  headers["Cookie"] = "visitor=" .. thread_id .. "-" .. n
  return wrk.format(nil, nil, headers)
end
