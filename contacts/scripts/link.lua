-- link.lua: points an identity's home slot at a contact. Refuses when the
-- slot holds a contact of its own (that calls for a merge) or a link other
-- than the expected one (someone else moved it first).
--
-- KEYS (both in the slot {c:H}):  1 {c:H}:h   2 {c:H}:link
-- ARGV: 1 target contact id   2 the link value expected now ("" = none)
--
-- Returns {status, current}:
--   status "ok"        the link now points at target
--   status "contact"   the slot holds a contact: nothing changed
--   status "conflict"  the link holds current, neither target nor expected

local target, expected = ARGV[1], ARGV[2]
local cur = redis.call('GET', KEYS[2])
if cur == target then
  return {'ok', cur}
end
if not cur and redis.call('HEXISTS', KEYS[1], 'created_at') == 1 then
  return {'contact', ''}
end
if (cur or '') ~= expected then
  return {'conflict', cur or ''}
end
redis.call('SET', KEYS[2], target)
return {'ok', target}
