-- caps_reserve.lua: records one message in every frequency cap that applies
-- to it, but only if all of them still have room, so a contact never gets
-- more than a cap allows however many workers race. Each cap is an exact
-- rolling window: a sorted set of send times (score = unix ms, member =
-- message id) holding the sends of the last window, bounds excluded at the
-- old end: an entry exactly one window old no longer counts.
--
-- KEYS[i]          {c:<contact id>}:cap:<rule>[:<campaign>] sorted set of rule i
-- ARGV[1]          now (unix ms)
-- ARGV[2]          message id
-- ARGV[1+2i]       rule i's max (sends per window)
-- ARGV[2+2i]       rule i's window (ms)
-- Returns {1, added} when every rule had room; added counts the sets the
-- message was added to (0 when it was already in all of them: reserving a
-- message again is a no-op). Returns {0, i, retry_at} when rule i is full:
-- of the full rules, the one that frees last, with the unix ms at which it
-- has room again. Nothing is recorded then.
local now = tonumber(ARGV[1])
local member = ARGV[2]
local blocked, retry = 0, 0
local fresh = {}
for i, key in ipairs(KEYS) do
  local max = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if not redis.call('ZSCORE', key, member) then
    local n = redis.call('ZCARD', key)
    if n >= max then
      -- room comes back once n-max+1 entries have left the window; with a
      -- lowered max there may be more entries than max.
      local e = redis.call('ZRANGE', key, n - max, n - max, 'WITHSCORES')
      local at = tonumber(e[2]) + window
      if at > retry then
        blocked, retry = i, at
      end
    else
      fresh[#fresh + 1] = i
    end
  end
end
if blocked > 0 then
  return {0, blocked, retry}
end
for _, i in ipairs(fresh) do
  redis.call('ZADD', KEYS[i], ARGV[1], member)
  redis.call('PEXPIRE', KEYS[i], ARGV[2 + 2 * i])
end
return {1, #fresh}
