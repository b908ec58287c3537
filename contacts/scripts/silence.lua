-- silence.lua: turns one contact silent when it has had no activity for long
-- enough. The activity index only says where to look; this script decides
-- from the contact itself, so a stale index entry never silences anyone.
--
-- KEYS (all in the slot {c:ID}):
--   1 {c:ID}:h   contact hash
--   2 {c:ID}:tl  timeline list, newest first
--   3 {c:ID}:link id this contact was merged into
--
-- ARGV:
--   1 now (unix ms)   2 silent after (ms)   3 timeline max length
--   4 activity_changed timeline entry JSON
--
-- Returns {status, anchor}; anchor is the contact's last activity (unix ms,
-- last_seen else created_at):
--   "silenced" the contact is silent since anchor: this call made it so, or
--              an earlier one did for the same anchor (the caller may not
--              have finished its follow-up; it is safe to repeat)
--   "wait"     active and not quiet for long enough: look again at
--              anchor + silent after
--   "drop"     silent for an older reason, or churned: nothing to do until
--              the contact is active again
--   "gone"     merged into another contact, or no such contact

local h, tl, link = KEYS[1], KEYS[2], KEYS[3]
if redis.call('EXISTS', link) == 1 then return {'gone', '0'} end
local c = redis.call('HMGET', h, 'created_at', 'last_seen', 'activity', 'silent_from')
if not c[1] then return {'gone', '0'} end
local anchor = c[2] or c[1]
local activity = c[3] or 'active'
if activity == 'active' then
  if tonumber(ARGV[1]) - tonumber(anchor) < tonumber(ARGV[2]) then
    return {'wait', anchor}
  end
  redis.call('HSET', h, 'activity', 'silent', 'silent_from', anchor)
  redis.call('HINCRBY', h, 'v', 1)
  redis.call('LPUSH', tl, ARGV[4])
  redis.call('LTRIM', tl, 0, tonumber(ARGV[3]) - 1)
  return {'silenced', anchor}
end
if activity == 'silent' and c[4] == anchor then return {'silenced', anchor} end
return {'drop', anchor}
