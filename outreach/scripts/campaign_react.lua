-- campaign_react.lua: counts a reaction (open, click, unsubscribe) to a
-- campaign message once per message, however often the pixel loads or the
-- link is followed, so rates divide unique reactions by sends.
--
-- KEYS[1] {camp:<id>}:seen   set of "<stat>|<message id>"
-- KEYS[2] {camp:<id>}:stats  hash "<variant>|<channel>|<stat>" -> count
-- ARGV[1] "<stat>|<message id>"
-- ARGV[2] the stats field
-- ARGV[3] TTL of both keys (ms)
-- Returns 1 when counted, 0 when this message's reaction was counted before.
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
