-- retire.lua: third step of a merge, after absorb.lua copied the loser into
-- the survivor. Links the loser to the survivor and deletes its data, but
-- only if the loser has not changed since its snapshot was taken (else the
-- merge copies it again). Link and delete are one step: the loser's slot is
-- never empty and unlinked.
--
-- KEYS (all in the loser's slot {c:L}):
--   1 {c:L}:h   2 {c:L}:tags   3 {c:L}:ids   4 {c:L}:tl   5 {c:L}:link
--   6 {c:L}:evs   7 {c:L}:tagv   8 {c:L}:tagp   9 {c:L}:sl (score log)
--
-- ARGV: 1 survivor id   2 the loser's version ("v") in the snapshot
--       3 now (unix ms)   4 tag index lease (ms)
--
-- Returns {status, target, owned tags}:
--   status "ok"        linked (now or before); every tag the loser had or
--                      had pending gets version "r" (remove from the index);
--                      owned are those whose index entry the caller removes
--                      (the rest have a live writer, see apply.lua)
--   status "changed"   the loser changed since the snapshot: nothing done
--   status "redirect"  the loser was merged into another contact, target
-- The loser's de-dup record and score log went to the survivor with the
-- snapshot; tagv and tagp go once the index is updated (checktag.lua).

local h, tags, ids, tl, link, evs, tagv, tagp =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local survivor, now, lease = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])

local owned = {}
local function claim(tag)
  if tonumber(redis.call('HGET', tagp, tag) or '0') <= now then
    redis.call('HSET', tagp, tag, string.format('%d', now + lease))
    owned[#owned + 1] = tag
  end
end

local target = redis.call('GET', link)
if target then
  if target == survivor then
    for _, tag in ipairs(redis.call('HKEYS', tagp)) do claim(tag) end
    return {'ok', target, owned}
  end
  return {'redirect', target, {}}
end

local v = redis.call('HGET', h, 'v') or ''
if v ~= ARGV[2] then
  return {'changed', '', {}}
end

local all = redis.call('SMEMBERS', tags)
for _, tag in ipairs(redis.call('HKEYS', tagp)) do all[#all + 1] = tag end
for _, tag in ipairs(all) do
  redis.call('HSET', tagv, tag, 'r')
  claim(tag)
end
redis.call('SET', link, survivor)
redis.call('DEL', h, tags, ids, tl, evs, KEYS[9])
return {'ok', survivor, owned}
