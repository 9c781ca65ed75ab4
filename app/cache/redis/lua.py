"""The store's Lua scripts: each read, write and bump is one round trip, so the
compare-on-write (refuse an entry whose tags moved since its snapshot) is atomic.

They read an entry's meta as ``codec.py`` writes it (its ``tags`` and
``snapshot``), and the keys as ``store.py`` lays them out.
"""

from __future__ import annotations

CLOCK = """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
"""

# KEYS: the expired and stale stamp hashes, then one entry key per entry
# asked for; one reply per entry: nil, or {meta, body, expired, stale}. An
# entry a hard bump expired is nil too: its body, which nobody may be served,
# does not cross the network. Stamps are compared with tonumber (exact below
# 2^53) but handed back as the strings Redis stored: Lua would print a
# 16-digit number in %.14g and lose it.
GET = """
local found = {}
for k = 3, #KEYS do
  local meta = redis.call('HGET', KEYS[k], 'meta')
  found[k - 2] = false
  if meta then
    local decoded = cjson.decode(meta)
    local tags = decoded['tags']
    local expired, stale = '0', '0'
    if #tags > 0 then
      local e = redis.call('HMGET', KEYS[1], unpack(tags))
      local s = redis.call('HMGET', KEYS[2], unpack(tags))
      for i = 1, #tags do
        if e[i] and tonumber(e[i]) > tonumber(expired) then expired = e[i] end
        if s[i] and tonumber(s[i]) > tonumber(stale) then stale = s[i] end
      end
    end
    if tonumber(expired) <= tonumber(decoded['snapshot']) then
      found[k - 2] = {meta, redis.call('HGET', KEYS[k], 'body'), expired, stale}
    end
  end
end
return found
"""

# KEYS: the stamp hashes and the clock, then one entry key per entry;
# ARGV: the TTL, then (snapshot, meta, body) per entry. One reply per
# entry: 1 stored, 0 refused (a tag moved after its snapshot).
PUT = """
local clock = tonumber(redis.call('GET', KEYS[3]) or '-1')
local stored = {}
for k = 4, #KEYS do
  local at = 2 + (k - 4) * 3
  local snapshot = tonumber(ARGV[at])
  local ok = clock >= 0 and snapshot <= clock
  local tags = cjson.decode(ARGV[at + 1])['tags']
  if ok and #tags > 0 then
    local e = redis.call('HMGET', KEYS[1], unpack(tags))
    local s = redis.call('HMGET', KEYS[2], unpack(tags))
    for i = 1, #tags do
      if (e[i] and tonumber(e[i]) > snapshot) or (s[i] and tonumber(s[i]) > snapshot) then
        ok = false
      end
    end
  end
  if ok then
    redis.call('HSET', KEYS[k], 'meta', ARGV[at + 1], 'body', ARGV[at + 2])
    redis.call('PEXPIRE', KEYS[k], ARGV[1])
    stored[k - 3] = 1
  else
    stored[k - 3] = 0
  end
end
return stored
"""

# The message published on the channel: ARGV[2], a JSON object, with the
# clock put in first ({"clock": 17..., "origin": ...}). Scripts run one at a
# time, so messages go out in clock order (app/cache/redis/heard.py).
_PUBLISH_WITH_CLOCK = """
redis.call('PUBLISH', KEYS[CHANNEL], '{"clock":' .. clock .. ',' .. string.sub(ARGV[2], 2))
"""

# KEYS: the clock, the stamp hash, the channel; ARGV: the bumping host's wall
# time in microseconds, the message to publish, then the tags. The clock moves
# to that time, or by one if it is there already: a stamp tells when its bump
# happened, which is what lets trim_stamps forget old ones.
BUMP = (
    """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[1])) then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('INCR', KEYS[1])
end
local clock = redis.call('GET', KEYS[1])
for i = 3, #ARGV do
  redis.call('HSET', KEYS[2], ARGV[i], clock)
end
"""
    + _PUBLISH_WITH_CLOCK.replace("CHANNEL", "3")
    + """
return clock
"""
)

# KEYS: the clock, the channel; ARGV: the wall time in microseconds (a clock
# to start from), the message. Tells every subscriber, in order with the
# bumps, that every bump up to the clock as it is now has been published.
SYNC = (
    """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
local clock = redis.call('GET', KEYS[1])
"""
    + _PUBLISH_WITH_CLOCK.replace("CHANNEL", "2")
    + """
return clock
"""
)

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
