-- due.lua: moves or removes a contact's entry in the deadline index only if
-- it still has the score the caller saw, so a deadline another worker set
-- in the meantime is never lost.
--
-- KEYS:
--   1 dlg:due   sorted set contact id -> deadline (unix ms)
--
-- ARGV:
--   1 contact id   2 score the caller saw (unix ms)
--   3 new score (unix ms), or "" to remove the entry
--
-- Returns 1 changed, 0 the entry is gone or has another score (untouched).
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not cur or tonumber(cur) ~= tonumber(ARGV[2]) then
  return 0
end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
