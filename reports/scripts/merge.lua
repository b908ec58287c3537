-- merge.lua: what the reports remember of a merged (absorbed) contact joins
-- the survivor's state, so attribution and reply counting see the person's
-- whole history.
--
-- KEYS[1] the survivor's report state ({c:<survivor>}:rpt)
-- ARGV    the absorbed contact's state as field, value pairs (HGETALL)
--
-- Rules: the later last message (lm, lc, lt, by lt) and the later campaign
-- touch (cc, cm, ct, by ct) win as a whole (a time that is not a number
-- never wins); every other field (source,
-- stage and since, per-channel marks) is taken only where the survivor has
-- none. Running it again changes nothing more.
-- Returns the number of fields written.
local theirs = {}
for i = 1, #ARGV, 2 do theirs[ARGV[i]] = ARGV[i + 1] end
local mine = redis.call('HMGET', KEYS[1], 'lt', 'ct')
local groups = {lt = {'lm', 'lc', 'lt'}, ct = {'cc', 'cm', 'ct'}}
local grouped = {lm = true, lc = true, lt = true, cc = true, cm = true, ct = true}
local n = 0
for at, fields in pairs(groups) do
  local cur = tonumber(mine[at == 'lt' and 1 or 2])
  local t = tonumber(theirs[at])
  if t and (not cur or t > cur) then
    -- the group goes whole: a field it lacks is dropped, not left over
    for _, f in ipairs(fields) do
      if theirs[f] then
        redis.call('HSET', KEYS[1], f, theirs[f])
      else
        redis.call('HDEL', KEYS[1], f)
      end
      n = n + 1
    end
  end
end
for f, v in pairs(theirs) do
  if not grouped[f] then n = n + redis.call('HSETNX', KEYS[1], f, v) end
end
return n
