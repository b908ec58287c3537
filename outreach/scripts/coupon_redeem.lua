-- coupon_redeem.lua: marks an issued code used, once. Repeating the call
-- with the same order id answers with the first redemption, so a shop
-- system may retry safely; any other order gets "used".
--
-- KEYS[1] {cpn:<batch>}:meta      batch hash (expires_at, keep_until, redeemed)
-- KEYS[2] {cpn:<batch>}:codes     hash code -> contact id
-- KEYS[3] {cpn:<batch>}:redeemed  hash code -> "<unix ms>:<order id>"
-- ARGV[1] code
-- ARGV[2] order id ("" = none; a repeat without one is "used")
-- ARGV[3] now (unix ms)
-- Returns {status, contact id, redeemed at (unix ms), order id}:
--   1 redeemed now, 0 already redeemed with this order id,
--  -1 the batch or the code is unknown, -2 the batch has expired,
--  -3 already redeemed with another order, -4 the code was never issued.
local meta = redis.call('HMGET', KEYS[1], 'expires_at', 'keep_until')
if not meta[1] then
  return {-1, '', 0, ''}
end
local contact = redis.call('HGET', KEYS[2], ARGV[1])
if not contact then
  return {-1, '', 0, ''}
end
local prev = redis.call('HGET', KEYS[3], ARGV[1])
if prev then
  local sep = string.find(prev, ':', 1, true)
  local at = tonumber(string.sub(prev, 1, sep - 1))
  local order = string.sub(prev, sep + 1)
  if ARGV[2] ~= '' and order == ARGV[2] then
    return {0, contact, at, order}
  end
  return {-3, contact, at, order}
end
if contact == '' then
  return {-4, '', 0, ''}
end
if tonumber(ARGV[3]) >= tonumber(meta[1]) then
  return {-2, contact, 0, ''}
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3] .. ':' .. ARGV[2])
redis.call('HINCRBY', KEYS[1], 'redeemed', 1)
redis.call('PEXPIREAT', KEYS[3], meta[2])
return {1, contact, tonumber(ARGV[3]), ARGV[2]}
