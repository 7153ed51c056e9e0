-- Applies one event to its visitor's visit and returns the visit before and after it (see
-- libs/visits/include/plumb/visits/tracker.hpp). Run by EVALSHA from tracker::apply().
--
-- KEYS[1]  visit hash of the visitor under today's salt
-- KEYS[2]  visit hash of the same visitor under yesterday's salt (KEYS[1] again when unknown)
-- KEYS[3]  the site's live sorted set (visitor hash -> latest event time)
-- All three carry the site's {site_id} hash tag, so they share one Redis Cluster slot.
--
-- ARGV: event_id, received_ms, pageview (1/0), interactive (1/0), page, attribution,
--       live member, previous live member ('' when unknown), visit timeout ms, visit ttl ms,
--       live window ms, live ttl ms
--
-- Reply: one string of length-prefixed fields ("<len>:<bytes>"), binary safe:
--   has_before ('1'/'0'), [before snapshot], after snapshot
-- where a snapshot is visit_id, start, last, entry_page, exit_page, attribution, pageviews,
-- events, bounce ('1'/'0'). The same string is cached under 'r:<event_id>' for retries.

local visit_key, previous_key, live_key = KEYS[1], KEYS[2], KEYS[3]
local id = ARGV[1]
local ts = tonumber(ARGV[2])
local pageview = ARGV[3] == '1'
local interactive = ARGV[4] == '1'
local page, attribution = ARGV[5], ARGV[6]
local member, previous_member = ARGV[7], ARGV[8]
local timeout = tonumber(ARGV[9])
local visit_ttl = ARGV[10]
local live_window = tonumber(ARGV[11])
local live_ttl = ARGV[12]

-- 1. A retried event gets exactly its first answer and changes nothing.
local cache_field = 'r:' .. id
local cached = redis.call('HGET', visit_key, cache_field)
if cached then
  return cached
end

-- Millisecond timestamps exceed the 14 significant digits tostring() prints.
local function int(n)
  return string.format('%d', n)
end

-- Byte order, as in C++ (Lua's < uses strcoll, which depends on the server's locale).
local function bytes_less(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      return x < y
    end
  end
  return #a < #b
end

local fields = {'vid', 'start', 'last', 'ep', 'ets', 'eid', 'xp', 'xts', 'xid', 'attr', 'pv', 'ev', 'ia'}

local function load(key)
  local f = redis.call('HMGET', key, unpack(fields))
  if not f[1] then
    return nil
  end
  return {vid = f[1], start = tonumber(f[2]), last = tonumber(f[3]),
          ep = f[4], ets = tonumber(f[5]), eid = f[6],
          xp = f[7], xts = tonumber(f[8]), xid = f[9],
          attr = f[10], pv = tonumber(f[11]), ev = tonumber(f[12]), ia = tonumber(f[13])}
end

local function within(v)
  return ts >= v.start - timeout and ts <= v.last + timeout
end

local function field(s)
  return #s .. ':' .. s
end

local function encode(v)
  local bounce = (v.pv == 1 and v.ia == 0) and '1' or '0'
  return field(v.vid) .. field(int(v.start)) .. field(int(v.last)) .. field(v.ep) ..
         field(v.xp) .. field(v.attr) .. field(int(v.pv)) .. field(int(v.ev)) .. field(bounce)
end

local function fresh()
  return {vid = id, start = ts, last = ts, ep = page, ets = ts, eid = id,
          xp = page, xts = ts, xid = id, attr = attribution, pv = 0, ev = 0, ia = 0}
end

local function count(v)
  if pageview then
    v.pv = v.pv + 1
  else
    v.ev = v.ev + 1
  end
  if interactive then
    v.ia = v.ia + 1
  end
end

-- 2. Past midnight the visitor hash changes with the salt; a visit still open under yesterday's
-- hash moves to today's key and keeps its visit id (and its answer cache).
local state = load(visit_key)
if not state and previous_key ~= visit_key then
  local old = load(previous_key)
  if old and within(old) then
    redis.call('RENAME', previous_key, visit_key)
    state = old
  end
end

-- 3. Join the visit, replace an ended one, or count a very late straggler on its own.
local before = nil
local store = true
if state and within(state) then
  before = encode(state)
  if ts < state.start then
    state.start = ts
  end
  if ts > state.last then
    state.last = ts
  end
  if ts < state.ets or (ts == state.ets and bytes_less(id, state.eid)) then
    state.ep, state.ets, state.eid, state.attr = page, ts, id, attribution
  end
  if ts > state.xts or (ts == state.xts and bytes_less(state.xid, id)) then
    state.xp, state.xts, state.xid = page, ts, id
  end
elseif state and ts < state.start - timeout then
  -- Older than the stored visit by more than the timeout: a visit of its own that the stored
  -- one must not absorb.
  state = fresh()
  store = false
else
  -- No visit, or the stored one ended more than the timeout before this event. The old visit's
  -- answer cache stays in the hash so its late retries still get their answers.
  state = fresh()
end
count(state)

if store then
  redis.call('HSET', visit_key, 'vid', state.vid, 'start', int(state.start),
             'last', int(state.last), 'ep', state.ep, 'ets', int(state.ets), 'eid', state.eid,
             'xp', state.xp, 'xts', int(state.xts), 'xid', state.xid, 'attr', state.attr,
             'pv', int(state.pv), 'ev', int(state.ev), 'ia', int(state.ia))
end

-- 4. Cache the answer. The expiry is wall clock (30 minutes after processing, so idle visits
-- disappear), while the gap logic above uses event time, so backlogs are judged correctly.
local reply = (before and ('1:1' .. before) or '1:0') .. encode(state)
redis.call('HSET', visit_key, cache_field, reply)
redis.call('PEXPIRE', visit_key, visit_ttl)

-- 5. Current visitors: each visitor's latest event time (events may arrive out of order).
local score = redis.call('ZSCORE', live_key, member)
if not score or tonumber(score) < ts then
  redis.call('ZADD', live_key, int(ts), member)
end
if previous_member ~= '' then
  -- The same visitor under yesterday's salt must not count twice around midnight.
  redis.call('ZREM', live_key, previous_member)
end
redis.call('ZREMRANGEBYSCORE', live_key, '-inf', '(' .. int(ts - live_window))
redis.call('PEXPIRE', live_key, live_ttl)

return reply
