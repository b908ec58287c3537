-- publish.lua: makes a saved version the one sends use. Publishing an older
-- version is a rollback; every publish is logged, also a repeated one, so
-- the log answers who made which version live and when.
--
-- KEYS (all in the slot {tpl:ID}; see save.lua for their contents):
--   1 {tpl:ID}
--   2 {tpl:ID}:hist
--   3 {tpl:ID}:pubs
--   4 {tpl:ID}:publog
--
-- ARGV:
--   1 the version to publish (>= 1)
--   2 now, unix milliseconds
--   3 the author as a JSON string, e.g. "\"ann\""
--   4 how many publishes the log keeps
--
-- Returns {changed, record}: changed is 1 when the published version
-- changed, 0 when it already was that version (nothing is logged then);
-- nil when the template or the version does not exist (never saved, or
-- trimmed from the history).

local cur = tonumber(redis.call('HGET', KEYS[1], 'version'))
local want = tonumber(ARGV[1])
if not cur or not want or want < 1 or want > cur then
  return false
end
local rec = redis.call('LINDEX', KEYS[2], cur - want)
if not rec then
  return false
end
local pub = redis.call('HGET', KEYS[1], 'pub')
if not pub then -- saved before drafts existed: the newest was published
  pub = cur
  redis.call('HSET', KEYS[1], 'maxpub', cur)
end
if tonumber(pub) == want then
  redis.call('HSET', KEYS[1], 'pub', want, 'pjson', rec)
  return {0, rec}
end
redis.call('HSET', KEYS[1], 'pub', want, 'pjson', rec, 'pub_at', ARGV[2], 'pub_by', ARGV[3])
local maxpub = tonumber(redis.call('HGET', KEYS[1], 'maxpub')) or 0
if want > maxpub then
  redis.call('HSET', KEYS[1], 'maxpub', want)
end
redis.call('HSET', KEYS[3], want, '{"at":' .. ARGV[2] .. ',"by":' .. ARGV[3] .. '}')
redis.call('LPUSH', KEYS[4], '{"v":' .. want .. ',"at":' .. ARGV[2] .. ',"by":' .. ARGV[3] .. '}')
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[4]) - 1)
return {1, rec}
