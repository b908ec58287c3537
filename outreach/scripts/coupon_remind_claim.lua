-- coupon_remind_claim.lua: lets one expiry reminder of a coupon code go out,
-- right before its platform call. A code gets its automatic reminder or
-- manual ones, never both, and none once it is redeemed or its batch has
-- expired. Manual reminders may be several (one per send_at asked for);
-- they are counted so the automatic one stays out while any is sending or
-- sent.
--
-- KEYS[1] {cpn:<batch>}:meta      batch hash (expires_at, keep_until)
-- KEYS[2] {cpn:<batch>}:redeemed  code -> redemption
-- KEYS[3] {cpn:<batch>}:reminded  code -> "auto:<message id>" or "manual:<count>"
-- ARGV[1] code
-- ARGV[2] "auto:<message id>" or "manual"
-- ARGV[3] now (unix ms)
-- Returns 1 when the reminder may go (claimed; claiming again as the same
-- automatic reminder is a no-op), -1 when the batch is gone, -2 when it has
-- expired, -3 when the code was redeemed, -4 when the other kind of
-- reminder holds the code.
local meta = redis.call('HMGET', KEYS[1], 'expires_at', 'keep_until')
if not meta[1] then
  return -1
end
if tonumber(ARGV[3]) >= tonumber(meta[1]) then
  return -2
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return -3
end
local cur = redis.call('HGET', KEYS[3], ARGV[1])
if ARGV[2] == 'manual' then
  if not cur then
    redis.call('HSET', KEYS[3], ARGV[1], 'manual:1')
  elseif string.sub(cur, 1, 7) == 'manual:' then
    redis.call('HSET', KEYS[3], ARGV[1], 'manual:' .. (tonumber(string.sub(cur, 8)) + 1))
  else
    return -4
  end
elseif not cur then
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
elseif cur ~= ARGV[2] then
  return -4
end
if meta[2] then
  redis.call('PEXPIREAT', KEYS[3], meta[2])
end
return 1
