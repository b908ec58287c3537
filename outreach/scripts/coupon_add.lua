-- coupon_add.lua: adds codes to a batch's pool. The caller has already
-- claimed each code for this batch in the global index (cpn:code:<code>);
-- a code the batch already knows (available, issued or redeemed) is skipped,
-- so re-running an interrupted import never puts a code back in the pool.
--
-- KEYS[1] {cpn:<batch>}:meta   batch hash (expires_at, keep_until, total)
-- KEYS[2] {cpn:<batch>}:avail  set of codes not yet issued
-- KEYS[3] {cpn:<batch>}:codes  hash code -> contact id ("" = available)
-- ARGV[1] now (unix ms)
-- ARGV[2..] codes, normalized
-- Returns the number of codes added, -1 when the batch does not exist, -2
-- when it has expired (nothing changed in either case).
local meta = redis.call('HMGET', KEYS[1], 'expires_at', 'keep_until')
if not meta[1] then
  return -1
end
if tonumber(ARGV[1]) >= tonumber(meta[1]) then
  return -2
end
local added = 0
for i = 2, #ARGV do
  if redis.call('HSETNX', KEYS[3], ARGV[i], '') == 1 then
    redis.call('SADD', KEYS[2], ARGV[i])
    added = added + 1
  end
end
if added > 0 then
  redis.call('HINCRBY', KEYS[1], 'total', added)
  redis.call('PEXPIREAT', KEYS[2], meta[2])
  redis.call('PEXPIREAT', KEYS[3], meta[2])
end
return added
