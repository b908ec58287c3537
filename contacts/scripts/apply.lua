-- apply.lua: applies one Change to one contact in one atomic step. It is the
-- hot path: a callback's whole effect on a contact is this one EVALSHA.
--
-- KEYS (all in the slot {c:ID}):
--   1 {c:ID}:h        contact hash
--   2 {c:ID}:tags     tag set
--   3 {c:ID}:ids      identity set ("kind:value")
--   4 {c:ID}:tl       timeline list, newest first
--   5 {c:ID}:link     id this contact was merged into
--   6 {c:ID}:evs      sorted set event id -> expiry (ms): the de-dup record,
--                     carried along on merges
--   7 {c:ID}:tagv     hash tag -> version of the tag's last change
--   8 {c:ID}:tagp     hash tag -> lease expiry (ms) of the writer updating its
--                     tag index entry (see tagindex.go); while it may hold
--                     any, the contact hash has the field "tp"
--   9 {c:ID}:sl       score log list, newest first (see scorelog.go)
--  10 {c:ID}:cap:<t> sorted set of the scoring events of type t counted
--                    against its cap (any key of the slot when uncapped)
--
-- ARGV:
--   1 event id ("" = no de-duplication)   2 de-dup TTL (ms)
--   3 now (unix ms)                        4 at (unix ms): created_at / last_seen
--   5 touch: "0" no, "1" yes, else the channel name (also sets last_in:<channel>)                   6 owner ("" = keep)
--   7 name ("" = keep)                     8 stage ("" = keep)
--   9 activity ("" = keep)                10 score delta
--  11 tz ("" = keep)                      12 timeline max length
--  13 timeline entry JSON ("" = none)   14 tag index lease (ms)
--  15 score log entry JSON without its closing brace; points and score
--     are appended ("" = do not log)
--  16 score log max length
--  17 cap: how often the event type may score (0 = no cap)
--  18 cap window (ms; 0 = for ever)
--  19 activity index granularity (ms; 0 = never ask for a re-index)
--  then six groups, each a count n followed by its items:
--   identities   n x 1: "kind:value"
--   fields       n x 2: name, value ("" deletes the field)
--   add tags     n x 1
--   remove tags  n x 1
--   consent      n x 4: channel, status, source, timeline entry JSON
--   unreachable  n x 1: channel
--
-- Returns {status, target, created, score, added tags, removed tags, version,
--          owned tags, stale, delta, anchor, activity before}:
--   status "ok"       applied; created is 1 when this call made the contact
--   status "dup"      the event id was seen before: nothing changed
--   status "redirect" the contact was merged into target: nothing changed
--                     (stale may still be set: its index entries to remove)
--   version is the contact's change counter after the call, and the version
--   of every changed tag; owned are the changed tags whose index entry this
--   caller must write (the others have a live writer already); stale counts
--   tags whose index writer's lease ran out (a crash): the caller repairs them.
--   delta is the score change applied (0 when a cap swallowed it); anchor,
--   when not "0", is the contact's last activity (last_seen, else
--   created_at) that the caller writes to the activity index (see
--   activity.go): the contact is new, came back from silent or churned, or
--   its index entry is older than the granularity; activity before is the
--   activity this change replaced ("" when it did not change).

local h, tags, ids, tl, link, evs, tagv, tagp =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]

local now = tonumber(ARGV[3])
local lease = tonumber(ARGV[14])

-- Tags whose index writer's lease ran out. pending is the contact's "tp"
-- field, set while tagp may hold leases: most contacts have none, and
-- then there is nothing to read.
local function stale(pending)
  if not pending then return 0 end
  local n = 0
  local held = redis.call('HGETALL', tagp)
  for k = 2, #held, 2 do
    if tonumber(held[k]) <= now then n = n + 1 end
  end
  return n
end

local target = redis.call('GET', link)
if target then
  return {'redirect', target, 0, 0, {}, {}, 0, {}, stale(true), 0, '0', ''}
end

local event = ARGV[1]

-- Claim the event id first: ZADD NX both tests and records it in one call.
-- An id still listed after its expiry (they are swept only now and then)
-- is claimed again.
if event ~= '' then
  local expiry = string.format('%d', now + tonumber(ARGV[2]))
  if redis.call('ZADD', evs, 'NX', expiry, event) == 0 then
    if tonumber(redis.call('ZSCORE', evs, event)) > now then
      local had = redis.call('HMGET', h, 'score', 'tp')
      return {'dup', '', 0, tonumber(had[1] or '0'), {}, {}, 0, {}, stale(had[2]), 0, '0', ''}
    end
    redis.call('ZADD', evs, expiry, event)
  end
  if now % 8 == 0 then
    -- expired ids go in passing, on about one change in eight
    redis.call('ZREMRANGEBYSCORE', evs, '-inf', ARGV[3])
  end
end

local at = ARGV[4]
local touch = ARGV[5]
local lastIn = 'last_seen'
if touch ~= '0' and touch ~= '1' then lastIn = 'last_in:' .. touch end
-- One read and one write for the contact hash: this is the hot path.
local cur = redis.call('HMGET', h, 'created_at', 'last_seen', 'score', lastIn, 'activity', 'ix', 'v', 'tp')
local set = {}
local function put(field, value)
  set[#set + 1] = field
  set[#set + 1] = value
end

local created = 0
if not cur[1] then
  created = 1
  put('created_at', at)
  put('stage', 'prospect')
  put('activity', 'active')
  put('score', '0')
end
if touch ~= '0' then
  if not cur[2] or tonumber(cur[2]) < tonumber(at) then put('last_seen', at) end
  put('activity', 'active')
  if lastIn ~= 'last_seen' and (not cur[4] or tonumber(cur[4]) < tonumber(at)) then
    -- the channel the customer used: its conversation window opens now
    put(lastIn, at)
  end
end
if ARGV[6] ~= '' then put('owner', ARGV[6]) end
if ARGV[7] ~= '' then put('name', ARGV[7]) end
if ARGV[8] ~= '' then put('stage', ARGV[8]) end
if ARGV[9] ~= '' then put('activity', ARGV[9]) end
if ARGV[11] ~= '' then put('tz', ARGV[11]) end

-- Activity: what it was, what it becomes, and whether the activity index
-- (outside this slot) needs the caller to write the contact's anchor.
local before = cur[5] or 'active'
local after = before
if touch ~= '0' then after = 'active' end
if ARGV[9] ~= '' then after = ARGV[9] end
local was = ''
if created == 0 and after ~= before then was = before end
local delta = tonumber(ARGV[10])

-- A capped event type scores only while its cap has room.
local capmax = tonumber(ARGV[17])
if delta ~= 0 and capmax > 0 then
  local capkey = KEYS[10]
  local win = tonumber(ARGV[18])
  if win > 0 then redis.call('ZREMRANGEBYSCORE', capkey, '-inf', string.format('%d', now - win)) end
  if redis.call('ZCARD', capkey) >= capmax then
    delta = 0
  else
    local member = event
    if member == '' then member = ARGV[3] .. ':' .. (cur[7] or '0') end
    redis.call('ZADD', capkey, ARGV[3], member)
    if win > 0 then redis.call('PEXPIRE', capkey, ARGV[18]) end
  end
end

local anchor = '0'
local gran = tonumber(ARGV[19])
if gran > 0 then
  local seen = cur[2]
  if touch ~= '0' and (not seen or tonumber(seen) < tonumber(at)) then seen = at end
  local last = seen or cur[1] or at
  local ix = cur[6]
  if created == 1 or not ix or (after == 'active' and before ~= 'active')
     or (touch ~= '0' and tonumber(last) - tonumber(ix) >= gran) then
    anchor = last
    put('ix', last)
  end
end
-- The score and the change counter (tag index writers and merges compare
-- it) were read with the rest and go in the one HSET with it.
local score = tonumber(cur[3] or '0')
if delta ~= 0 then
  score = score + delta
  put('score', string.format('%d', score))
end
local version = (tonumber(cur[7]) or 0) + 1
put('v', string.format('%d', version))
redis.call('HSET', h, unpack(set))
if delta ~= 0 and ARGV[15] ~= '' then
  redis.call('LPUSH', KEYS[9], ARGV[15] .. ',"points":' .. string.format('%d', delta) .. ',"score":' .. string.format('%d', score) .. '}')
  redis.call('LTRIM', KEYS[9], 0, tonumber(ARGV[16]) - 1)
end

local tlmax = tonumber(ARGV[12])
local tllen = 0 -- the timeline's length after our pushes (0: none)
if ARGV[13] ~= '' then
  tllen = redis.call('LPUSH', tl, ARGV[13])
end

local owned = {}
local pending = cur[8]
-- Records a tag change and takes the duty to update its index entry unless
-- a live writer has it (that writer will see the new version).
local function claim(tag)
  redis.call('HSET', tagv, tag, version)
  if tonumber(redis.call('HGET', tagp, tag) or '0') <= now then
    redis.call('HSET', tagp, tag, string.format('%d', now + lease))
    owned[#owned + 1] = tag
    if not pending then
      redis.call('HSET', h, 'tp', '1')
      pending = '1'
    end
  end
end

local i = 20
local n = tonumber(ARGV[i]); i = i + 1
-- A lone identity of an existing contact is in its set already: it is the
-- contact's home, or was carried over by the merge that linked it here.
if created == 1 or n > 1 then
  for k = 0, n - 1 do redis.call('SADD', ids, ARGV[i + k]) end
end
i = i + n

n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local name, value = ARGV[i], ARGV[i + 1]; i = i + 2
  if value == '' then
    redis.call('HDEL', h, 'f:' .. name)
  else
    redis.call('HSET', h, 'f:' .. name, value)
  end
end

local added, removed = {}, {}
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local tag = ARGV[i]; i = i + 1
  if redis.call('SADD', tags, tag) == 1 then
    added[#added + 1] = tag
    claim(tag)
  end
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local tag = ARGV[i]; i = i + 1
  if redis.call('SREM', tags, tag) == 1 then
    removed[#removed + 1] = tag
    claim(tag)
  end
end

n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local channel, status, source, entry = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]; i = i + 4
  local had = redis.call('HMGET', h, 'consent:' .. channel, 'consent_source:' .. channel)
  local cur, cursrc = had[1] or 'unknown', had[2] or ''
  if cur ~= status or cursrc ~= source then
    redis.call('HSET', h, 'consent:' .. channel, status)
    if source ~= '' then
      redis.call('HSET', h, 'consent_source:' .. channel, source)
    else
      redis.call('HDEL', h, 'consent_source:' .. channel)
    end
    tllen = redis.call('LPUSH', tl, entry)
  end
end

n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('HSET', h, 'unreachable:' .. ARGV[i], at); i = i + 1
end

-- Trim only when over the bound: most changes leave a short timeline.
if tllen > tlmax then
  redis.call('LTRIM', tl, 0, tlmax - 1)
end

-- A new contact reads tagp too: an erasure racing a writer may have left
-- a lease behind the hash it deleted.
return {'ok', '', created, score, added, removed, version, owned, stale(cur[8] or created == 1), delta, anchor, was}
