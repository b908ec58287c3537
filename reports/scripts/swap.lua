-- swap.lua: set a hash field, reporting whether its value changed, so an
-- opt-out repeated the same day is counted once.
-- KEYS[1] the hash
-- ARGV[1] field, ARGV[2] value
-- Returns 1 when the field was absent or held another value, else 0.
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
