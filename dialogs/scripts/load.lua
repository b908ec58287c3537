-- load.lua: reads a contact's dialog state and takes its step lock in one
-- round trip, so only one worker runs a step for a contact at a time.
--
-- KEYS (all in the slot {c:ID}):
--   1 {c:ID}:dlg       hash: s = session JSON, h = hand-off JSON
--   2 {c:ID}:dlg:lock  token of the worker holding the contact
--
-- ARGV:
--   1 lock token   2 lock TTL (ms)
--   3 mode: "0" lock only when a session runs and no hand-off holds the bot
--           "1" lock unless a hand-off holds the bot
--           "2" lock always
--
-- Returns {status, session, handoff}:
--   status "locked"  the caller holds the lock and must run commit.lua
--   status "free"    nothing to lock for this mode; no lock taken
--   status "busy"    another worker holds the lock; nothing read
local v = redis.call('HMGET', KEYS[1], 's', 'h')
local s, h = v[1] or '', v[2] or ''
local mode = ARGV[3]
if (mode == '0' and (s == '' or h ~= '')) or (mode == '1' and h ~= '') then
  return {'free', s, h}
end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {'busy', '', ''}
end
return {'locked', s, h}
