-- checktag.lua: confirms tag index writes. The caller holds the duty (a
-- lease in tagp) to update these tags' index entries and wrote each from the
-- contact's state as of a tag version. If the version is unchanged, the entry
-- is right and the duty ends. Otherwise the tag changed meanwhile: the lease
-- is extended and the caller gets the current version and membership to
-- write again (see tagindex.go).
--
-- KEYS (all in the slot {c:ID}):
--   1 {c:ID}:tagv   2 {c:ID}:tagp   3 {c:ID}:tags   4 {c:ID}:link   5 {c:ID}:h
-- ARGV: 1 now (unix ms)   2 lease (ms)
--       then pairs of tag, version the caller's index write was based on
--
-- Returns, per pair, two items: code, current version
--   code 0  confirmed, duty ended
--   code 1  changed since: the contact has the tag now, write again
--   code 2  changed since: the contact lacks the tag now, write again
-- Once no duty is left, the contact loses its "tp" mark (see apply.lua),
-- and a merged contact its tagv (tagp went with its last lease); while
-- any lease is left, a live contact keeps the mark.

local tagv, tagp, tags, link = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local expiry = string.format('%d', tonumber(ARGV[1]) + tonumber(ARGV[2]))
local out = {}
for k = 3, #ARGV, 2 do
  local tag, version = ARGV[k], ARGV[k + 1]
  local cur = redis.call('HGET', tagv, tag) or ''
  if cur == version then
    redis.call('HDEL', tagp, tag)
    out[#out + 1] = 0
  else
    redis.call('HSET', tagp, tag, expiry)
    out[#out + 1] = (redis.call('SISMEMBER', tags, tag) == 1) and 1 or 2
  end
  out[#out + 1] = cur
end
if redis.call('HLEN', tagp) == 0 then
  redis.call('HDEL', KEYS[5], 'tp')
  if redis.call('EXISTS', link) == 1 then redis.call('DEL', tagv) end
elseif redis.call('HEXISTS', KEYS[5], 'created_at') == 1 then
  -- a lease is left (this caller's, or one a stalled writer took back after
  -- its successor had cleared the mark): keep the contact marked
  redis.call('HSET', KEYS[5], 'tp', '1')
end
return out
