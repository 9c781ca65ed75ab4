-- Many people each reading the page again: every request carries the cookies
-- of one signed-in person (a real session each, bench/people.py), the people
-- taken in turn, so no request repeats the one before it and each gets its
-- own holes (who is signed in). The file of Cookie values, one a line, is
-- named by BENCH_PEOPLE_COOKIES. The headers given with -H are kept.
local cookies = {}
for line in io.lines(os.getenv("BENCH_PEOPLE_COOKIES")) do
  cookies[#cookies + 1] = line
end
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
  -- Threads start at different people (thread_id is nil in the main state).
  headers["Cookie"] = cookies[((thread_id or 0) * 7919 + n) % #cookies + 1]
  return wrk.format(nil, nil, headers)
end
