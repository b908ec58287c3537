-- claim.lua: transition.lua for the worker's claim, answering with the
-- whole record, so the worker that takes a message reads it in the same
-- round trip instead of a second HGETALL. A worker sends only what it
-- moved to sending here, so two workers can never both send one message.
--
-- KEYS[1] {m:<id>} message hash
-- ARGV[1] comma-separated statuses the message must be in (",a,b,")
-- ARGV[2] the new status (sending)
-- ARGV[3] now (unix ms), stored as updated_at
-- Counts an attempt when it moves.
-- Returns {1, field, value, ...} when moved (the record after the move),
-- {0, field, value, ...} when the message was in another status (the record
-- as it is), and {0} when the message does not exist.
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then
  return {0}
end
local moved = 0
if string.find(ARGV[1], ',' .. cur .. ',', 1, true) then
  redis.call('HSET', KEYS[1], 'status', ARGV[2], 'updated_at', ARGV[3])
  redis.call('HINCRBY', KEYS[1], 'attempts', 1)
  moved = 1
end
local rec = redis.call('HGETALL', KEYS[1])
table.insert(rec, 1, moved)
return rec
