-- read.lua: reads one version of a template with what its status needs.
-- Versions are consecutive and the history is newest first, so version n
-- sits at index newest - n; reading the newest version number in the same
-- step keeps the index right while saves go on.
--
-- KEYS (all in the slot {tpl:ID}; see save.lua for their contents):
--   1 {tpl:ID}
--   2 {tpl:ID}:hist
--   3 {tpl:ID}:pubs
--
-- ARGV:
--   1 "latest", "published" or a version number (>= 1)
--
-- Returns {found, record, published version, highest version ever
-- published, that version's last publish or ""}. found is 1, or 0 when the
-- template or that version does not exist (never saved, or trimmed from
-- the history), or 2 when "published" was asked and only drafts exist.

local cur = tonumber(redis.call('HGET', KEYS[1], 'version'))
if not cur then
  return {0}
end
local pub = redis.call('HGET', KEYS[1], 'pub')
local maxpub = redis.call('HGET', KEYS[1], 'maxpub')
local legacy = not pub -- saved before drafts existed: the newest is published
if legacy then
  pub, maxpub = cur, cur
end
pub, maxpub = tonumber(pub), tonumber(maxpub) or 0
local want, rec
if ARGV[1] == 'latest' then
  want = cur
  rec = redis.call('HGET', KEYS[1], 'json')
elseif ARGV[1] == 'published' then
  if pub == 0 then
    return {2}
  end
  want = pub
  if legacy then
    rec = redis.call('HGET', KEYS[1], 'json')
  else
    rec = redis.call('HGET', KEYS[1], 'pjson')
  end
else
  want = tonumber(ARGV[1])
  if not want or want < 1 or want > cur then
    return {0}
  end
  rec = redis.call('LINDEX', KEYS[2], cur - want)
  if not rec and want == pub then -- trimmed from the history, still live
    rec = redis.call('HGET', KEYS[1], 'pjson')
  end
end
if not rec then
  return {0}
end
local entry = redis.call('HGET', KEYS[3], want) or ''
return {1, rec, pub, maxpub, entry}
