-- coupon_remind_release.lua: gives back a reminder's claim on a code after
-- its send failed, so another reminder may go.
--
-- KEYS[1] {cpn:<batch>}:reminded  code -> "auto:<message id>" or "manual:<count>"
-- ARGV[1] code
-- ARGV[2] "auto:<message id>" or "manual"
-- Returns 1 when a claim was given back, 0 when there was none to give.
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then
  return 0
end
if ARGV[2] == 'manual' then
  if string.sub(cur, 1, 7) ~= 'manual:' then
    return 0
  end
  local n = tonumber(string.sub(cur, 8)) - 1
  if n <= 0 then
    redis.call('HDEL', KEYS[1], ARGV[1])
  else
    redis.call('HSET', KEYS[1], ARGV[1], 'manual:' .. n)
  end
  return 1
end
if cur ~= ARGV[2] then
  return 0
end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
