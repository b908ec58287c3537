-- decay.lua: takes a share of one contact's score for every full period
-- without activity. Idempotent per contact and period: the hash remembers
-- the anchor (last activity) the periods count from and how many were
-- applied, so running it twice in a period changes nothing. Scores stop at
-- 0; the stage is never touched.
--
-- KEYS (all in the slot {c:ID}):
--   1 {c:ID}:h   contact hash
--   2 {c:ID}:tl  timeline list, newest first
--   3 {c:ID}:sl  score log list, newest first
--   4 {c:ID}:link id this contact was merged into
--
-- ARGV:
--   1 now (unix ms)   2 period (ms)   3 percent taken per period
--   4 warm threshold  5 hot threshold
--   6 score log max   7 timeline max
--   8 now as RFC 3339 (for the entries)
--
-- Returns {status, score before, score after, next look (unix ms), band
-- before, band after}:
--   "decayed" the score went down; a score_band_changed timeline entry was
--             written when the band changed
--   "wait"    no full period is due yet: look again at next
--   "drop"    the score is 0 (nothing to take) until it rises again
--   "gone"    merged into another contact, or no such contact

local h, tl, sl, link = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
if redis.call('EXISTS', link) == 1 then return {'gone', 0, 0, '0', '', ''} end
local c = redis.call('HMGET', h, 'created_at', 'last_seen', 'score', 'decay_from', 'decay_n')
if not c[1] then return {'gone', 0, 0, '0', '', ''} end

local now, period, pct = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local warm, hot = tonumber(ARGV[4]), tonumber(ARGV[5])
local function band(s)
  if s >= hot then return 'hot' end
  if s >= warm then return 'warm' end
  return 'cold'
end

local anchorS = c[2] or c[1]
local anchor = tonumber(anchorS)
local score = tonumber(c[3] or '0')
local due = math.floor((now - anchor) / period)
if due < 0 then due = 0 end
local applied = 0
if c[4] == anchorS then applied = tonumber(c[5] or '0') end
local nextDue = anchor + (math.max(due, applied) + 1) * period
local nextS = string.format('%d', nextDue)
if score <= 0 then return {'drop', score, score, nextS, band(score), band(score)} end
if due <= applied then return {'wait', score, score, nextS, band(score), band(score)} end

local s = score
for _ = applied + 1, due do
  s = s - math.ceil(s * pct / 100)
  if s <= 0 then s = 0; break end
end
redis.call('HSET', h, 'score', string.format('%d', s), 'decay_from', anchorS, 'decay_n', string.format('%d', due))
redis.call('HINCRBY', h, 'v', 1)
local at = ARGV[8]
redis.call('LPUSH', sl, '{"at":"' .. at .. '","event_type":"decay","points":' .. string.format('%d', s - score) ..
  ',"reason":"decay","score":' .. string.format('%d', s) .. '}')
redis.call('LTRIM', sl, 0, tonumber(ARGV[6]) - 1)
local from, to = band(score), band(s)
if from ~= to then
  redis.call('LPUSH', tl, '{"at":"' .. at .. '","type":"score_band_changed","source":"scoring","props":{"from":"' ..
    from .. '","reason":"decay","score":"' .. string.format('%d', s) .. '","to":"' .. to .. '"}}')
  redis.call('LTRIM', tl, 0, tonumber(ARGV[7]) - 1)
end
return {'decayed', score, s, nextS, from, to}
