-- erase_audience.lua: takes an erased contact out of a campaign's frozen
-- audience without disturbing dispatch: "dispatched" is a cursor into the
-- list, so when the removed entry sat before it the cursor moves back one,
-- and the contact after it is neither skipped nor sent twice.
--
-- KEYS (all in the slot {camp:ID}):
--   1 {camp:ID}       campaign hash (dispatched)
--   2 {camp:ID}:aud   audience: contact ids in dispatch order
--
-- ARGV:
--   1 the contact id
--
-- Returns 1 when the contact was in the audience, 0 when not.

local pos = redis.call('LPOS', KEYS[2], ARGV[1])
if not pos then
  return 0
end
redis.call('LREM', KEYS[2], 1, ARGV[1])
local d = tonumber(redis.call('HGET', KEYS[1], 'dispatched'))
if d and pos < d then
  redis.call('HSET', KEYS[1], 'dispatched', d - 1)
end
return 1
