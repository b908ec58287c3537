-- claimtags.lua: takes the duty to update the tag index entries of one
-- contact (RepairTagIndex): for every tag it has and every tag still pending
-- whose writer's lease ran out. Tags with a live writer are left to it.
--
-- KEYS (all in the slot {c:ID}):
--   1 {c:ID}:h   2 {c:ID}:tags   3 {c:ID}:link   4 {c:ID}:tagv   5 {c:ID}:tagp
-- ARGV: 1 now (unix ms)   2 lease (ms)
--
-- Returns {target, claimed}: target is the contact this one was merged into
-- ("" if none); claimed is a flat list of tag, version, member ("1"/"0")
-- for the caller to write to the index and confirm with checktag.lua.

local h, tags, link, tagv, tagp = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local target = redis.call('GET', link) or ''

local candidates = redis.call('HKEYS', tagp)
local live = target == '' and redis.call('HEXISTS', h, 'created_at') == 1
if live then
  for _, tag in ipairs(redis.call('SMEMBERS', tags)) do
    candidates[#candidates + 1] = tag
  end
end

local seen, claimed = {}, {}
local expiry = string.format('%d', now + lease)
for _, tag in ipairs(candidates) do
  if not seen[tag] then
    seen[tag] = true
    if tonumber(redis.call('HGET', tagp, tag) or '0') <= now then
      redis.call('HSET', tagp, tag, expiry)
      claimed[#claimed + 1] = tag
      claimed[#claimed + 1] = redis.call('HGET', tagv, tag) or ''
      claimed[#claimed + 1] = (redis.call('SISMEMBER', tags, tag) == 1) and '1' or '0'
    end
  end
end
if live and #claimed > 0 then redis.call('HSET', h, 'tp', '1') end -- leases pending (see apply.lua)
return {target, claimed}
