-- version.lua: reads one version of a template. Versions are consecutive
-- and the history is newest first, so version n sits at index current - n;
-- reading the current version in the same step keeps the index right while
-- saves go on.
--
-- KEYS (all in the slot {tpl:ID}):
--   1 {tpl:ID}       hash with the current version number
--   2 {tpl:ID}:hist  list of version records, newest first
--
-- ARGV:
--   1 the version wanted (>= 1)
--
-- Returns the version's record, or nil when the template or that version
-- does not exist (never saved, or trimmed from the history).

local cur = tonumber(redis.call('HGET', KEYS[1], 'version'))
local want = tonumber(ARGV[1])
if not cur or not want or want < 1 or want > cur then
  return false
end
return redis.call('LINDEX', KEYS[2], cur - want)
