-- save.lua: stores a new version of one template unless its content equals
-- the newest version's, and publishes it unless it is a draft. History is
-- only ever pushed to and trimmed from the old end, so the newest version
-- (the head) is never lost; the published version's record is also kept in
-- the hash, so trimming never takes away what sends use.
--
-- KEYS (all in the slot {tpl:ID}):
--   1 {tpl:ID}         hash: json (newest version record), sum (its summary
--                      record), digest (its content hash), version (its
--                      number), pub (published version, 0 = none yet; absent
--                      on templates saved before drafts existed, where the
--                      newest is the published one), pjson (published
--                      record), pub_at, pub_by, maxpub (highest version ever
--                      published)
--   2 {tpl:ID}:seq     version counter
--   3 {tpl:ID}:hist    list of version records, newest first
--   4 {tpl:ID}:pubs    hash: version -> {"at":<unix ms>,"by":"..."} of its last publish
--   5 {tpl:ID}:publog  list of publishes, newest first: {"v":N,"at":<unix ms>,"by":"..."}
--
-- ARGV:
--   1 content digest (hex)
--   2 template JSON without its version
--   3 summary JSON without its version
--   4 how many versions the history keeps (0 = every version)
--   5 "1" to save a draft, "0" to publish at once
--   6 now, unix milliseconds
--   7 the publish log entry's author JSON string, e.g. "\"ann\""
--   8 how many publishes the log keeps
--
-- Returns {changed, record}: changed is 1 when a version was added, 0 when
-- the content equals the newest version's (which a non-draft save then
-- publishes, if it was not). A record is {"v":<version>,"t":<template JSON>};
-- a summary record {"v":<version>,"s":<summary JSON>}.

local function publish(v, rec)
  redis.call('HSET', KEYS[1], 'pub', v, 'pjson', rec, 'pub_at', ARGV[6], 'pub_by', ARGV[7])
  local maxpub = tonumber(redis.call('HGET', KEYS[1], 'maxpub')) or 0
  if v > maxpub then
    redis.call('HSET', KEYS[1], 'maxpub', v)
  end
  redis.call('HSET', KEYS[4], v, '{"at":' .. ARGV[6] .. ',"by":' .. ARGV[7] .. '}')
  redis.call('LPUSH', KEYS[5], '{"v":' .. v .. ',"at":' .. ARGV[6] .. ',"by":' .. ARGV[7] .. '}')
  redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[8]) - 1)
end

-- A template saved before drafts existed: its newest version is the
-- published one; make that explicit before anything changes.
local cur = tonumber(redis.call('HGET', KEYS[1], 'version'))
if cur and not redis.call('HGET', KEYS[1], 'pub') then
  redis.call('HSET', KEYS[1], 'pub', cur, 'pjson', redis.call('HGET', KEYS[1], 'json'), 'maxpub', cur)
end

if redis.call('HGET', KEYS[1], 'digest') == ARGV[1] then
  local rec = redis.call('HGET', KEYS[1], 'json')
  if ARGV[5] == '0' and tonumber(redis.call('HGET', KEYS[1], 'pub')) ~= cur then
    publish(cur, rec)
  end
  return {0, rec}
end
local v = redis.call('INCR', KEYS[2])
local rec = '{"v":' .. v .. ',"t":' .. ARGV[2] .. '}'
local sum = '{"v":' .. v .. ',"s":' .. ARGV[3] .. '}'
redis.call('HSET', KEYS[1], 'json', rec, 'sum', sum, 'digest', ARGV[1], 'version', v)
if not redis.call('HGET', KEYS[1], 'pub') then
  redis.call('HSET', KEYS[1], 'pub', 0)
end
redis.call('LPUSH', KEYS[3], rec)
if tonumber(ARGV[4]) > 0 then
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1)
end
if ARGV[5] == '0' then
  publish(v, rec)
end
return {1, rec}
