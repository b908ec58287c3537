-- caps_release.lua: gives back a message's place in its frequency caps after
-- the send failed, so a message that never reached the contact does not
-- count against them.
--
-- KEYS[i]  {c:<contact id>}:cap:<rule>[:<campaign>] sorted sets the message was reserved in
-- ARGV[1]  message id
-- Returns the number of sets the message was removed from.
local n = 0
for _, key in ipairs(KEYS) do
  n = n + redis.call('ZREM', key, ARGV[1])
end
return n
