-- transition.lua: moves a message from one of the allowed statuses to a new
-- one and writes the given fields, all or nothing. Workers claim a message
-- with it before calling a platform and record the outcome with it after,
-- so two workers can never both send one message.
--
-- KEYS[1] {m:<id>} message hash
-- ARGV[1] comma-separated statuses the message must be in (",a,b,")
-- ARGV[2] the new status
-- ARGV[3] now (unix ms), stored as updated_at
-- ARGV[4] "1" to count an attempt, else "0"
-- ARGV[5..] field, value pairs to set
-- Returns {1, new status} when moved, {0, current status} when the message
-- was in another status ("" when it does not exist).
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then
  return {0, ''}
end
if not string.find(ARGV[1], ',' .. cur .. ',', 1, true) then
  return {0, cur}
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'updated_at', ARGV[3])
if ARGV[4] == '1' then
  redis.call('HINCRBY', KEYS[1], 'attempts', 1)
end
if #ARGV > 4 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 5))
end
return {1, ARGV[2]}
