-- absorb.lua: second step of a merge, after read.lua took a snapshot of the
-- merged contact (the loser). Copies the snapshot into the surviving contact.
-- Running it again with the same snapshot adds nothing (only the change
-- counter moves), so a merge interrupted after this step can simply be run
-- again.
--
-- KEYS (all in the survivor's slot {c:S}):
--   1 {c:S}:h   2 {c:S}:tags   3 {c:S}:ids   4 {c:S}:tl   5 {c:S}:link
--   6 {c:S}:evs   7 {c:S}:tagv   8 {c:S}:tagp   9 {c:S}:sl (score log)
--
-- ARGV:
--   1 timeline max length   2 now (unix ms)   3 tag index lease (ms)
--   4 score log max length
--   then six groups, each a count n followed by its items:
--   hash       n x 2: field, value (the loser's whole hash)
--   tags       n x 1
--   identities n x 1
--   timeline   n x 1: entries, newest first
--   evs        n x 2: event id, expiry (unix ms)
--   score log  n x 1: entries, newest first
--
-- Merge rules: created_at earliest, last_seen latest (activity follows the
-- more recently seen contact), score highest, stage furthest along, consent
-- per channel opted_out over opted_in over unknown (the source goes with the
-- winning status; on a tie the survivor's stays), everything else (owner,
-- name, tz, f:*, unreachable:*) only where the survivor has none. Timelines
-- and score logs are merged by time; an entry the survivor already holds is
-- not added again.
--
-- Returns {status, target, added tags, version, owned tags}:
--   status "ok"        merged; added tags are the tags the survivor gained,
--                      all with version (the survivor's new change counter);
--                      owned are those whose index entry the caller writes
--                      (see apply.lua)
--   status "redirect"  the survivor was itself merged into target: nothing changed
--   status "missing"   the survivor does not exist: nothing changed

local h, tags, ids, tl, link, evs, tagv, tagp =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]

local target = redis.call('GET', link)
if target then
  return {'redirect', target, {}, 0, {}}
end
if redis.call('HEXISTS', h, 'created_at') == 0 then
  return {'missing', '', {}, 0, {}}
end

local tlmax = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local slmax = tonumber(ARGV[4])
local i = 5

local loser = {}
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  loser[ARGV[i]] = ARGV[i + 1]; i = i + 2
end

local version = redis.call('HINCRBY', h, 'v', 1)

local stageRank = {prospect = 1, mql = 2, sql = 3, customer = 4}
local consentRank = {unknown = 1, opted_in = 2, opted_out = 3}

local function num(v)
  return tonumber(v) or 0
end

local seenBefore = redis.call('HGET', h, 'last_seen')
for field, value in pairs(loser) do
  if field == 'v' or field == 'tp' or field == 'activity' or string.sub(field, 1, 15) == 'consent_source:' then
    -- handled with last_seen and consent:<channel>; tp is the survivor's own
  elseif field == 'score' then
    local cur = redis.call('HGET', h, 'score')
    if not cur or num(value) > num(cur) then redis.call('HSET', h, 'score', value) end
  elseif field == 'created_at' then
    local cur = redis.call('HGET', h, 'created_at')
    if not cur or num(value) < num(cur) then redis.call('HSET', h, 'created_at', value) end
  elseif field == 'last_seen' then
    if not seenBefore or num(value) > num(seenBefore) then
      redis.call('HSET', h, 'last_seen', value)
      if loser['activity'] then redis.call('HSET', h, 'activity', loser['activity']) end
    end
  elseif string.sub(field, 1, 8) == 'last_in:' then
    local cur = redis.call('HGET', h, field)
    if not cur or num(value) > num(cur) then redis.call('HSET', h, field, value) end
  elseif field == 'stage' then
    local cur = redis.call('HGET', h, 'stage')
    if not cur or (stageRank[value] or 0) > (stageRank[cur] or 0) then
      redis.call('HSET', h, 'stage', value)
    end
  elseif string.sub(field, 1, 8) == 'consent:' then
    local channel = string.sub(field, 9)
    local cur = redis.call('HGET', h, field) or 'unknown'
    if (consentRank[value] or 0) > (consentRank[cur] or 0) then
      redis.call('HSET', h, field, value)
      local source = loser['consent_source:' .. channel]
      if source then
        redis.call('HSET', h, 'consent_source:' .. channel, source)
      else
        redis.call('HDEL', h, 'consent_source:' .. channel)
      end
    end
  else
    redis.call('HSETNX', h, field, value)
  end
end
if not loser['last_seen'] and not seenBefore and loser['activity'] then
  redis.call('HSETNX', h, 'activity', loser['activity'])
end

local added, owned = {}, {}
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local tag = ARGV[i]; i = i + 1
  if redis.call('SADD', tags, tag) == 1 then
    added[#added + 1] = tag
    redis.call('HSET', tagv, tag, version)
    if tonumber(redis.call('HGET', tagp, tag) or '0') <= now then
      redis.call('HSET', tagp, tag, string.format('%d', now + lease))
      owned[#owned + 1] = tag
    end
  end
end
if #owned > 0 then redis.call('HSET', h, 'tp', '1') end -- leases pending (see apply.lua)

n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('SADD', ids, ARGV[i]); i = i + 1
end

-- Timeline and score log entries start with {"at":"<RFC 3339 in UTC>"; pad
-- the fraction so that the keys sort as strings.
local function entryKey(entry)
  local at = string.match(entry, '^{"at":"([^"]*)"')
  if not at then return '' end
  local base, frac = string.match(at, '^([^%.Z]*)%.?(%d*)Z$')
  if not base then return at end
  return base .. '.' .. frac .. string.rep('0', 9 - #frac)
end

-- Merges the loser's n entries (ARGV from i, newest first) into list key,
-- newest first and at most max long; returns the next ARGV index.
local function mergeList(key, i, n, max)
  if n == 0 then return i end
  local mine = redis.call('LRANGE', key, 0, -1)
  local have = {}
  for _, e in ipairs(mine) do have[e] = (have[e] or 0) + 1 end
  local theirs = {}
  for _ = 1, n do
    local e = ARGV[i]; i = i + 1
    if (have[e] or 0) > 0 then
      have[e] = have[e] - 1
    else
      theirs[#theirs + 1] = e
    end
  end
  if #theirs > 0 then
    local merged = {}
    local a, b = 1, 1
    while #merged < max and (a <= #mine or b <= #theirs) do
      if b > #theirs or (a <= #mine and entryKey(mine[a]) >= entryKey(theirs[b])) then
        merged[#merged + 1] = mine[a]; a = a + 1
      else
        merged[#merged + 1] = theirs[b]; b = b + 1
      end
    end
    redis.call('DEL', key)
    for s = 1, #merged, 1000 do
      redis.call('RPUSH', key, unpack(merged, s, math.min(s + 999, #merged)))
    end
  end
  return i
end

n = tonumber(ARGV[i]); i = i + 1
i = mergeList(tl, i, n, tlmax)

n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local event, expiry = ARGV[i], tonumber(ARGV[i + 1]); i = i + 2
  if expiry > now then
    redis.call('ZADD', evs, 'GT', string.format('%d', expiry), event)
  end
end

n = tonumber(ARGV[i]); i = i + 1
i = mergeList(KEYS[9], i, n, slmax)

return {'ok', '', added, version, owned}
