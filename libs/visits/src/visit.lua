-- Applies one event to its visitor's visits and returns every visit the event extended or merged
-- (before) and the visit it belongs to now (after); see
-- libs/visits/include/plumb/visits/tracker.hpp. Run by EVALSHA from tracker::apply().
--
-- KEYS[1]  visit hash of the visitor under today's salt
-- KEYS[2]  visit hash of the same visitor under yesterday's salt (KEYS[1] again when unknown)
-- KEYS[3]  the site's live sorted set (visitor hash -> latest event time)
-- All three carry the site's {site_id} hash tag, so they share one Redis Cluster slot; so do the
-- keys reached through 'next' links (below), which the script builds from KEYS[1]'s prefix.
--
-- ARGV: event_id, received_ms, pageview (1/0), interactive (1/0), page, attribution,
--       live member, previous live member ('' when unknown), visit timeout ms, visit ttl ms,
--       live window ms, live ttl ms, visit limit
--
-- Merging session windows. A visitor's visits form one logical list, sorted by start, pairwise
-- more than the timeout apart (event time). An event at ts joins every visit V with
-- V.start - timeout <= ts <= V.last + timeout: none opens a new visit, one is extended, several
-- (the event bridges a gap) merge with the event into one visit, which keeps the visit id of the
-- earliest of them. Because the visits are more than the timeout apart, at most two can match;
-- the code merges any number anyway. The reply lists the matched visits as they were, so callers
-- subtract each and add the result: the sums telescope to the finished visits in any order.
--
-- Where the list lives. Each visitor key's hash holds:
--   vs        the visits stored under that key: a sequence of length-prefixed records (below)
--   next      the hash part of the next day's key of the same visitor, written by any event
--             whose previous_visitor_hash named this key
--   r:<id>    the reply to event <id>, processed under this key (retries get it back unchanged)
-- An event under key H with previous key P reads the visits under P, H, and the keys reached
-- from them by 'next' links (at most max_keys keys), so an event processed after a later day's
-- event of the same visit still finds it. Days are ranked along the links (P < H < next(H)).
-- A new visit is stored under H; an extended or merged visit under the latest-ranked key among H
-- and the keys of the visits it absorbed (the day of its latest event); absorbed visits are
-- removed from their keys. The 'next' link and the reply cache stay where they were written.
--
-- Bounds. At most `visit limit` visits are kept over the visitor's keys, those with the latest
-- last events (a late event can still join any of them); older ones are dropped. Every key
-- written expires `visit ttl` (wall clock) after the last write, so idle visitors disappear.
--
-- A visit record (and the reply) is a string of length-prefixed fields "<len>:<bytes>", binary
-- safe. Record: vid, start, last, entry page, entry ts, entry event id, exit page, exit ts, exit
-- event id, attribution, pageviews, events, interactive events.
-- Reply: number of before snapshots, the before snapshots (by start), the after snapshot; a
-- snapshot is visit_id, start, last, entry_page, exit_page, attribution, pageviews, events,
-- bounce ('1'/'0'). (Replies of the earlier single-visit script, '1'/'0' then snapshots, read
-- the same.)

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
local visit_limit = tonumber(ARGV[13])

-- Yesterday's, today's and up to two later days' keys: a visit would have to last over a whole
-- day of continuous activity to need a key further along the links.
local max_keys = 4

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

local function field(s)
  return #s .. ':' .. s
end

-- Splits a string of length-prefixed fields; anything else is state this script did not write.
local function split(s)
  local out, pos = {}, 1
  while pos <= #s do
    local colon = string.find(s, ':', pos, true)
    local length = colon and tonumber(string.sub(s, pos, colon - 1))
    if not length or colon + length > #s then
      return redis.error_reply('visits: corrupt visit state')
    end
    out[#out + 1] = string.sub(s, colon + 1, colon + length)
    pos = colon + length + 1
  end
  return out
end

-- The record's fields, in order; also the field names of the earlier one-visit hash layout.
local record_fields = {'vid', 'start', 'last', 'ep', 'ets', 'eid', 'xp', 'xts', 'xid', 'attr',
                       'pv', 'ev', 'ia'}
local numeric = {start = true, last = true, ets = true, xts = true, pv = true, ev = true,
                 ia = true}

local function from_fields(f, first)
  local v = {}
  for i, name in ipairs(record_fields) do
    local x = f[first + i - 1]
    if numeric[name] then
      x = tonumber(x)
    end
    v[name] = x
  end
  return v
end

local function encode_record(v)
  local parts = {}
  for i, name in ipairs(record_fields) do
    local x = v[name]
    parts[i] = field(numeric[name] and int(x) or x)
  end
  return table.concat(parts)
end

local function encode_snapshot(v)
  local bounce = (v.pv == 1 and v.ia == 0) and '1' or '0'
  return field(v.vid) .. field(int(v.start)) .. field(int(v.last)) .. field(v.ep) ..
         field(v.xp) .. field(v.attr) .. field(int(v.pv)) .. field(int(v.ev)) .. field(bounce)
end

local function by_start(a, b)
  if a.start ~= b.start then
    return a.start < b.start
  end
  return bytes_less(a.vid, b.vid)
end

-- 2. Gather the visitor's visits from every key of the logical list.
local base = string.match(visit_key, '^(.*:)')
local keys, seen = {}, {}
local function add_key(name, rank)
  if not seen[name] and #keys < max_keys then
    seen[name] = true
    keys[#keys + 1] = {name = name, rank = rank, visits = {}, dirty = false, legacy = false}
  end
end
if previous_key ~= visit_key then
  add_key(previous_key, 0)
end
add_key(visit_key, 1)
local own = keys[#keys]

local i = 1
while i <= #keys do
  local k = keys[i]
  local f = redis.call('HMGET', k.name, 'vs', 'next', unpack(record_fields))
  if f[1] then
    local records = split(f[1])
    if records.err then
      return records
    end
    for _, r in ipairs(records) do
      local parts = split(r)
      if parts.err then
        return parts
      end
      if #parts ~= #record_fields then
        return redis.error_reply('visits: corrupt visit record')
      end
      k.visits[#k.visits + 1] = from_fields(parts, 1)
    end
  end
  if f[3] then
    -- A visit stored by the earlier one-visit script: moved into the list on this write.
    k.visits[#k.visits + 1] = from_fields(f, 3)
    k.legacy, k.dirty = true, true
  end
  if f[2] then
    add_key(base .. f[2], k.rank + 1)
  end
  i = i + 1
end

-- 3. Take out every visit the event falls into; the result goes under the latest day's key.
local joined = {}
local target = own
for _, k in ipairs(keys) do
  local kept = {}
  for _, v in ipairs(k.visits) do
    if ts >= v.start - timeout and ts <= v.last + timeout then
      joined[#joined + 1] = v
      k.dirty = true
      if k.rank > target.rank then
        target = k
      end
    else
      kept[#kept + 1] = v
    end
  end
  k.visits = kept
end
table.sort(joined, by_start)

local befores = {}
for n, v in ipairs(joined) do
  befores[n] = encode_snapshot(v)
end

-- Merges b into a; a keeps its visit id.
local function merge(a, b)
  if b.start < a.start then
    a.start = b.start
  end
  if b.last > a.last then
    a.last = b.last
  end
  if b.ets < a.ets or (b.ets == a.ets and bytes_less(b.eid, a.eid)) then
    a.ep, a.ets, a.eid, a.attr = b.ep, b.ets, b.eid, b.attr
  end
  if b.xts > a.xts or (b.xts == a.xts and bytes_less(a.xid, b.xid)) then
    a.xp, a.xts, a.xid = b.xp, b.xts, b.xid
  end
  a.pv, a.ev, a.ia = a.pv + b.pv, a.ev + b.ev, a.ia + b.ia
end

local event = {vid = id, start = ts, last = ts, ep = page, ets = ts, eid = id,
               xp = page, xts = ts, xid = id, attr = attribution,
               pv = pageview and 1 or 0, ev = pageview and 0 or 1, ia = interactive and 1 or 0}
local state = joined[1] or event
for n = 2, #joined do
  merge(state, joined[n])
end
if state ~= event then
  merge(state, event)
end

-- 4. Store it, keeping the visit_limit visits with the latest last events.
local all = {state}
for _, k in ipairs(keys) do
  for _, v in ipairs(k.visits) do
    all[#all + 1] = v
  end
end
if #all > visit_limit then
  table.sort(all, function(a, b)
    if a.last ~= b.last then
      return a.last > b.last
    end
    return bytes_less(b.vid, a.vid)
  end)
  local keep = {}
  for n = 1, visit_limit do
    keep[all[n]] = true
  end
  for _, k in ipairs(keys) do
    local kept = {}
    for _, v in ipairs(k.visits) do
      if keep[v] then
        kept[#kept + 1] = v
      else
        k.dirty = true
      end
    end
    k.visits = kept
  end
  if keep[state] then
    target.visits[#target.visits + 1] = state
  end
else
  target.visits[#target.visits + 1] = state
end
target.dirty = true

for _, k in ipairs(keys) do
  if k.dirty then
    if k.legacy then
      redis.call('HDEL', k.name, unpack(record_fields))
    end
    if #k.visits > 0 then
      table.sort(k.visits, by_start)
      local records = {}
      for n, v in ipairs(k.visits) do
        records[n] = field(encode_record(v))
      end
      redis.call('HSET', k.name, 'vs', table.concat(records))
    else
      redis.call('HDEL', k.name, 'vs')
    end
    -- Wall clock (30 minutes after the last write, so idle visitors disappear), while the gap
    -- logic above uses event time, so backlogs are judged correctly.
    redis.call('PEXPIRE', k.name, visit_ttl)
  end
end

-- 5. Link yesterday's key to today's, so yesterday's late events find visits stored here.
if previous_key ~= visit_key then
  redis.call('HSET', previous_key, 'next', string.sub(visit_key, #base + 1))
  redis.call('PEXPIRE', previous_key, visit_ttl)
end

-- 6. Cache the answer under the event's own key, where its retry looks.
local reply = field(int(#befores)) .. table.concat(befores) .. encode_snapshot(state)
redis.call('HSET', visit_key, cache_field, reply)
redis.call('PEXPIRE', visit_key, visit_ttl)

-- 7. Current visitors: each visitor's latest event time (events may arrive out of order).
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
