-- stage.lua: a contact's first sight or stage change, as reports remember it.
-- KEYS[1] the contact's report state ({c:<id>}:rpt): src, st, since, cc, ct, ...
-- ARGV[1] mode: "seen" (first sight) or "move" (a stage change)
-- ARGV[2] the stage entered
-- ARGV[3] when, in Unix ms
-- ARGV[4] source: fixed at first sight ("seen"), or used when the contact
--         was never seen before ("move")
-- Returns {changed, previous stage, previous since (ms), source, last
-- campaign, last campaign touch (ms), source new (1 when this call set
-- it, else 0)} where changed is
--   0 nothing to count (already seen; already in that stage)
--   1 the stage was entered (previous stage "" on first sight)
--   2 first sight of a contact whose stage was already known: source only
local cur = redis.call('HMGET', KEYS[1], 'src', 'st', 'since', 'cc', 'ct')
local src, st, since, cc, ct = cur[1], cur[2], cur[3], cur[4] or '', cur[5] or ''
if ARGV[1] == 'seen' then
  if src then return {0, '', '', src, cc, ct, 0} end
  redis.call('HSET', KEYS[1], 'src', ARGV[4])
  if st then return {2, st, since or '', ARGV[4], cc, ct, 1} end
  redis.call('HSET', KEYS[1], 'st', ARGV[2], 'since', ARGV[3])
  return {1, '', '', ARGV[4], cc, ct, 1}
end
if st == ARGV[2] then return {0, st, since or '', src or '', cc, ct, 0} end
local fresh = 0
if not src then
  src, fresh = ARGV[4], 1
  redis.call('HSET', KEYS[1], 'src', src)
end
redis.call('HSET', KEYS[1], 'st', ARGV[2], 'since', ARGV[3])
return {1, st or '', since or '', src, cc, ct, fresh}
