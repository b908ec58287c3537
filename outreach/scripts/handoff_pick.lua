-- handoff_pick.lua: picks the next rep in turn who is on duty and below
-- their daily limit, and counts the lead against that limit, in one step,
-- so two gateways handing off at once never overfill a rep.
--
-- KEYS (all under {handoff}):
--   1 {handoff}:next                   round-robin counter
--   2.. {handoff}:load:<rep>:<day>     leads a rep took on their shift day, one per rep
--
-- ARGV:
--   1..n  each rep's limit: 0 no limit, -1 off duty now
--   n+1   how long a load counter lives (ms)
--
-- Returns the 1-based position of the chosen rep, or 0 when every rep is off
-- duty or at their limit.

local n = #KEYS - 1
if n == 0 then return 0 end
local start = redis.call('INCR', KEYS[1])
for k = 0, n - 1 do
  local i = ((start - 1 + k) % n) + 1
  local limit = tonumber(ARGV[i])
  if limit >= 0 then
    local load = tonumber(redis.call('GET', KEYS[i + 1]) or '0')
    if limit == 0 or load < limit then
      redis.call('INCR', KEYS[i + 1])
      redis.call('PEXPIRE', KEYS[i + 1], ARGV[n + 1])
      return i
    end
  end
end
return 0
