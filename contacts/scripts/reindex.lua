-- reindex.lua: moves or removes one member of an activity index, but only
-- if its score is still the one the sweep read. A change of the contact
-- that rewrote the entry meanwhile wins, so a sweep never drops or delays
-- a contact that has just been active.
--
-- KEYS: 1 the index ({act}:seen or {act}:decay)
-- ARGV: 1 contact id   2 score the sweep read   3 new score ("" = remove)
-- Returns 1 when the entry was changed, 0 when it had moved on.

local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not cur or tonumber(cur) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
