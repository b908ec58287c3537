-- save.lua: stores a new version of one template unless its content equals
-- the current version's. History is only ever pushed to and trimmed from
-- the old end, so the current version (the head) is never lost.
--
-- KEYS (all in the slot {tpl:ID}):
--   1 {tpl:ID}       hash: json (current version record), sum (its summary
--                    record), digest (content hash), version
--   2 {tpl:ID}:seq   version counter
--   3 {tpl:ID}:hist  list of version records, newest first
--
-- ARGV:
--   1 content digest (hex)
--   2 template JSON without its version
--   3 summary JSON without its version
--   4 how many versions the history keeps (0 = every version)
--
-- Returns {1, record} when a version was added, {0, record} with the
-- current version's record when the content was unchanged. A record is
-- {"v":<version>,"t":<template JSON>}; a summary record {"v":<version>,"s":<summary JSON>}.

if redis.call('HGET', KEYS[1], 'digest') == ARGV[1] then
  return {0, redis.call('HGET', KEYS[1], 'json')}
end
local v = redis.call('INCR', KEYS[2])
local rec = '{"v":' .. v .. ',"t":' .. ARGV[2] .. '}'
local sum = '{"v":' .. v .. ',"s":' .. ARGV[3] .. '}'
redis.call('HSET', KEYS[1], 'json', rec, 'sum', sum, 'digest', ARGV[1], 'version', v)
redis.call('LPUSH', KEYS[3], rec)
if tonumber(ARGV[4]) > 0 then
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1)
end
return {1, rec}
