-- commit.lua: saves a contact's dialog state after a step and releases the
-- step lock, only if the caller still holds it.
--
-- KEYS (all in the slot {c:ID}):
--   1 {c:ID}:dlg       hash: s = session JSON, h = hand-off JSON
--   2 {c:ID}:dlg:lock  token of the worker holding the contact
--
-- ARGV:
--   1 lock token
--   2 session JSON: "" deletes it, "=" keeps what is stored
--   3 hand-off JSON: "" deletes it, "=" keeps what is stored
--
-- Returns 1 saved and unlocked, 0 the lock expired or another worker holds
-- it (nothing written).
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return 0
end
local fields = {{'s', ARGV[2]}, {'h', ARGV[3]}}
for _, f in ipairs(fields) do
  if f[2] == '' then
    redis.call('HDEL', KEYS[1], f[1])
  elseif f[2] ~= '=' then
    redis.call('HSET', KEYS[1], f[1], f[2])
  end
end
redis.call('DEL', KEYS[2])
return 1
