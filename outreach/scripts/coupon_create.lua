-- coupon_create.lua: stores a new coupon batch unless its id is taken, so
-- two marketers creating the same batch cannot overwrite each other.
--
-- KEYS[1] {cpn:<batch>}:meta  batch hash
-- ARGV[1] keep until (unix ms): the batch's keys expire then
-- ARGV[2..] field, value pairs of the batch (must include keep_until)
-- Returns 1 when created, 0 when the id was taken (nothing changed).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
