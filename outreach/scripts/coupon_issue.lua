-- coupon_issue.lua: gives a contact its code from a batch, all or nothing.
-- A contact that already holds a code gets the same one again; otherwise a
-- random available code is popped, so no code is handed out twice and no
-- contact holds two, however many callers race.
--
-- KEYS[1] {cpn:<batch>}:meta    batch hash (expires_at, keep_until, issued)
-- KEYS[2] {cpn:<batch>}:avail   set of codes not yet issued
-- KEYS[3] {cpn:<batch>}:codes   hash code -> contact id
-- KEYS[4] {cpn:<batch>}:holder  hash contact id -> code
-- ARGV[1] contact id
-- ARGV[2] now (unix ms)
-- Returns {status, code}: 1 newly issued, 0 the contact's existing code,
-- -1 no such batch, -2 the batch has expired, -3 no codes left.
local meta = redis.call('HMGET', KEYS[1], 'expires_at', 'keep_until')
if not meta[1] then
  return {-1, ''}
end
if tonumber(ARGV[2]) >= tonumber(meta[1]) then
  return {-2, ''}
end
local held = redis.call('HGET', KEYS[4], ARGV[1])
if held then
  return {0, held}
end
local code = redis.call('SPOP', KEYS[2])
if not code then
  return {-3, ''}
end
redis.call('HSET', KEYS[4], ARGV[1], code)
redis.call('HSET', KEYS[3], code, ARGV[1])
redis.call('HINCRBY', KEYS[1], 'issued', 1)
redis.call('PEXPIREAT', KEYS[4], meta[2])
return {1, code}
