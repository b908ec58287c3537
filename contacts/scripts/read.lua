-- read.lua: reads one contact as one consistent snapshot, or says where it
-- was merged to. Used by Get, Timeline and merges (snapshot of the merged
-- contact).
--
-- KEYS (all in the slot {c:ID}):
--   1 {c:ID}:h   2 {c:ID}:tags   3 {c:ID}:ids   4 {c:ID}:tl
--   5 {c:ID}:link   6 {c:ID}:evs
--
-- ARGV:
--   1 timeline entries to return: -1 none, 0 all, n the newest n
--   2 "1" to return the identity set
--   3 "1" to return the de-dup index (event id, expiry ms pairs)
--
-- Returns {status, target, hash, tags, ids, timeline, evs}:
--   status "ok"        the contact's data (hash is empty if it does not exist)
--   status "redirect"  merged into target; nothing else is filled
-- Lists not asked for are empty.

local h, tags, ids, tl, link, evs =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]

local target = redis.call('GET', link)
if target then
  return {'redirect', target, {}, {}, {}, {}, {}}
end

local hash = redis.call('HGETALL', h)
local tagset = redis.call('SMEMBERS', tags)
local idset = {}
if ARGV[2] == '1' then
  idset = redis.call('SMEMBERS', ids)
end
local entries = {}
local count = tonumber(ARGV[1])
if count >= 0 then
  entries = redis.call('LRANGE', tl, 0, count - 1)
end
local events = {}
if ARGV[3] == '1' then
  events = redis.call('ZRANGE', evs, 0, -1, 'WITHSCORES')
end
return {'ok', '', hash, tagset, idset, entries, events}
