-- create.lua: stores a new message record unless one with its id exists,
-- which makes POST /api/v1/messages idempotent on the caller's id.
--
-- KEYS[1] {m:<id>} message hash
-- ARGV[1] record TTL (ms)
-- ARGV[2..] field, value pairs of the new record
-- Returns 1 when created, 0 when the id was taken (nothing changed).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
