-- Applies a batch of one site's events, in order, each to its visitor's visits, and returns per
-- event every visit the event extended or merged (before) and the visit it belongs to now
-- (after); see libs/visits/include/plumb/visits/tracker.hpp. Run by EVALSHA from
-- tracker::apply(), once per site and call: the answers are exactly those of running the events
-- one by one, but the per-call overhead, the reads and the writes of a key touched by several
-- events, and the live-set upkeep are paid once per run instead of once per event.
--
-- KEYS[1]     the site's live sorted set (visitor hash -> latest event time)
-- KEYS[2..]   the visit hashes the events name (today's and yesterday's visitor keys), each once
-- All carry the site's {site_id} hash tag, so they share one Redis Cluster slot; so do the keys
-- reached through 'next' links (below), which the script builds from the visit keys' prefix.
--
-- ARGV[1..5]  visit timeout ms, visit ttl ms, live window ms, live ttl ms, visit limit
-- ARGV[6]     the events' numbers, 25 bytes per event (struct format '<I4I4Bi8c8'): index into
--             KEYS of the visit key under today's salt, index of the key under yesterday's salt
--             (0 when unknown), flags (1 = pageview, + 2 = interactive), received_ms (those four
--             little endian), and the event's visitor hash (today's, the one its key names) as 8
--             bytes big endian, so that byte order is numeric order. (Binary, as tonumber()
--             costs more than the rest of reading an event, and Lua's doubles cannot hold a
--             64-bit hash.)
-- then 3 per event: event_id, page, attribution
-- The visitor's live-set member is its visit key's hash part (the text after the last ':').
--
-- Reply: an array with one string per event, in order (the format below).
--
-- Merging session windows. A visitor's visits form one logical list, sorted by start, pairwise
-- more than the timeout apart (event time). An event at ts joins every visit V with
-- V.start - timeout <= ts <= V.last + timeout: none opens a new visit, one is extended, several
-- (the event bridges a gap) merge with the event into one visit, which keeps the visit id of the
-- earliest of them. A visit also carries the set of its events' visitor hashes (one per day's
-- salt it has events under, so one or two, rarely more): a new visit has its event's, an
-- extended one adds the event's, merged ones take the union. Because the visits are more than the timeout apart, at most two can match;
-- the code merges any number anyway. The reply lists the matched visits as they were, so callers
-- subtract each and add the result: the sums telescope to the finished visits in any order.
--
-- Where the list lives. Each visitor key's hash holds:
--   vs        the visits stored under that key (encoding below)
--   next      the hash part of the next day's key of the same visitor, written by any event
--             whose previous key was this key
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
-- How a run works. Every key's hash is read once, when first needed, into `states`; events
-- update those copies in order, exactly as separate runs would update the stored hashes; at the
-- end each changed key is written with one HSET (and HDEL when fields go) and one PEXPIRE. All
-- reads come before any write, so an error reply (corrupt state) leaves everything unchanged.
-- The live set only matters after the run (no reply depends on it), so its end state is
-- computed (see 7.) and written with a handful of commands.
--
-- Encodings: binary, by Redis's C libraries (struct, cmsgpack), as building strings in Lua (each
-- number formatted by sprintf, each piece a new string) cost more than all the rest of an event's
-- work. In memory a visit is the array of its record fields (VID .. HS below). 'vs' holds records
-- packed by struct (record_format).
-- A reply is a MessagePack array of 10 values per snapshot: the before snapshots (by start), then
-- the after snapshot; a snapshot is visit_id, start, last, entry_page, exit_page, attribution,
-- pageviews, events (integers and strings), bounce (boolean), visitor hashes (a string of 8-byte
-- big-endian hashes, ascending, distinct: the record's HS); tracker.cpp reads it.
-- Versioning: this script is the only version of both formats (it reads exactly what it writes,
-- and nothing stored names a version), so a change to either needs all workers upgraded together.
--
-- Needs Redis >= 6.2 (ZMSCORE).

local live_key = KEYS[1]
local timeout = tonumber(ARGV[1])
local visit_ttl = ARGV[2]
local live_window = tonumber(ARGV[3])
local live_ttl = ARGV[4]
local visit_limit = tonumber(ARGV[5])
local numbers = ARGV[6]
local number_format, number_size = '<I4I4Bi8c8', 25
local first_event_arg, args_per_event = 7, 3
local event_count = (#ARGV - first_event_arg + 1) / args_per_event
if not (timeout and live_window and visit_limit and numbers) or
   event_count ~= math.floor(event_count) or #numbers ~= event_count * number_size then
  return redis.error_reply('visits: bad arguments')
end

-- Yesterday's, today's and up to two later days' keys: a visit would have to last over a whole
-- day of continuous activity to need a key further along the links.
local max_keys = 4
-- Arguments per command when one command writes many fields or members: unpack() must stay
-- well inside Lua's C stack limit (8,000).
local max_command_args = 1000

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

-- Stops the run with an error reply; nothing has been written yet.
local function corrupt(what)
  error({err = 'visits: corrupt ' .. what})
end

-- The record's fields, in order (positions in a visit). HS: the visit's distinct visitor hashes,
-- each 8 bytes big endian, ascending (so byte order, which bytes_less compares, is numeric
-- order), concatenated.
local VID, START, LAST, EP, ETS, EID, XP, XTS, XID, ATTR, PV, EV, IA, HS =
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14
local record_field_count = 14
local hash_size = 8

-- A stored record (struct library, little endian): each string as its length and bytes, each
-- number as an 8-byte integer, in field order. 'vs' is the byte 1 (checked on reading) then the
-- records.
local record_format = '<I4c0i8i8I4c0i8I4c0I4c0i8I4c0I4c0i8i8i8I4c0'
local record_mark = '\1'

local function encode_record(v)
  return struct.pack(record_format, #v[VID], v[VID], v[START], v[LAST], #v[EP], v[EP], v[ETS],
                     #v[EID], v[EID], #v[XP], v[XP], v[XTS], #v[XID], v[XID], #v[ATTR], v[ATTR],
                     v[PV], v[EV], v[IA], #v[HS], v[HS])
end

local function encode_visits(visits)
  if #visits == 1 then
    return record_mark .. encode_record(visits[1])
  end
  local parts = {record_mark}
  for n = 1, #visits do
    parts[n + 1] = encode_record(visits[n])
  end
  return table.concat(parts)
end

-- Raises a Lua error on truncated records (struct.unpack's).
local function decode_records(s)
  local visits, pos, size = {}, 2, #s
  while pos <= size do
    local v = {struct.unpack(record_format, s, pos)}
    pos = v[record_field_count + 1]
    v[record_field_count + 1] = nil
    local hashes = v[HS]
    if #hashes == 0 or #hashes % hash_size ~= 0 then
      error('bad visitor hashes')
    end
    visits[#visits + 1] = v
  end
  return visits
end

local function decode_visits(s)
  local ok, visits = false, nil
  if string.sub(s, 1, 1) == record_mark then
    ok, visits = pcall(decode_records, s)
  end
  if not ok then
    corrupt('visit state')
  end
  return visits
end

-- Values per snapshot in a reply.
local snapshot_values = 10

-- Writes the snapshot of visit v to a reply's values out[n + 1 .. n + 10].
local function set_snapshot(out, n, v)
  out[n + 1], out[n + 2], out[n + 3] = v[VID], v[START], v[LAST]
  out[n + 4], out[n + 5], out[n + 6] = v[EP], v[XP], v[ATTR]
  out[n + 7], out[n + 8], out[n + 9] = v[PV], v[EV], v[PV] == 1 and v[IA] == 0
  out[n + 10] = v[HS]
end

-- The union of two visitor hash sets (HS strings: ascending, distinct). A visit has a hash per
-- day it has events in, so both are short; the usual case is one equal hash.
local function union_hashes(a, b)
  if a == b then
    return a
  end
  local parts, i, j, na, nb = {}, 1, 1, #a, #b
  while i <= na or j <= nb do
    local x = i <= na and string.sub(a, i, i + hash_size - 1)
    local y = j <= nb and string.sub(b, j, j + hash_size - 1)
    if x and y and x == y then
      parts[#parts + 1] = x
      i, j = i + hash_size, j + hash_size
    elseif x and (not y or bytes_less(x, y)) then
      parts[#parts + 1] = x
      i = i + hash_size
    else
      parts[#parts + 1] = y
      j = j + hash_size
    end
  end
  return table.concat(parts)
end

local function by_start(a, b)
  if a[START] ~= b[START] then
    return a[START] < b[START]
  end
  return bytes_less(a[VID], b[VID])
end

-- Merges b into a; a keeps its visit id.
local function merge(a, b)
  if b[START] < a[START] then
    a[START] = b[START]
  end
  if b[LAST] > a[LAST] then
    a[LAST] = b[LAST]
  end
  if b[ETS] < a[ETS] or (b[ETS] == a[ETS] and bytes_less(b[EID], a[EID])) then
    a[EP], a[ETS], a[EID], a[ATTR] = b[EP], b[ETS], b[EID], b[ATTR]
  end
  if b[XTS] > a[XTS] or (b[XTS] == a[XTS] and bytes_less(a[XID], b[XID])) then
    a[XP], a[XTS], a[XID] = b[XP], b[XTS], b[XID]
  end
  a[PV], a[EV], a[IA] = a[PV] + b[PV], a[EV] + b[EV], a[IA] + b[IA]
  a[HS] = union_hashes(a[HS], b[HS])
end

-- Merges into visit a an event, as merge(a, <the event as a visit>) would, without building it.
local function merge_event(a, id, ts, page, attribution, pv, ev, ia, hash)
  if ts < a[START] then
    a[START] = ts
  end
  if ts > a[LAST] then
    a[LAST] = ts
  end
  if ts < a[ETS] or (ts == a[ETS] and bytes_less(id, a[EID])) then
    a[EP], a[ETS], a[EID], a[ATTR] = page, ts, id, attribution
  end
  if ts > a[XTS] or (ts == a[XTS] and bytes_less(a[XID], id)) then
    a[XP], a[XTS], a[XID] = page, ts, id
  end
  a[PV], a[EV], a[IA] = a[PV] + pv, a[EV] + ev, a[IA] + ia
  a[HS] = union_hashes(a[HS], hash)
end

-- Runs redis.call(command, key, <fixed...>, <items...>) in chunks of at most max_command_args
-- items (whole pairs when `items` holds pairs).
local function call_chunked(command, key, items)
  for from = 1, #items, max_command_args do
    redis.call(command, key, unpack(items, from, math.min(from + max_command_args - 1, #items)))
  end
end

-- The visit keys' common prefix, up to the hash part (the site's keys all share it).
local base = KEYS[2] and string.match(KEYS[2], '^(.*:)')

-- 1. Check the events' arguments, then read each declared key once: its visits, 'next', and the
-- cached replies of the events under it.
local ids_under = {}  -- KEYS index -> ids of the events under that key
for n = 1, event_count do
  local own, previous = struct.unpack('<I4I4', numbers, (n - 1) * number_size + 1)
  if not (own >= 2 and KEYS[own] and (previous == 0 or KEYS[previous])) then
    return redis.error_reply('visits: bad arguments')
  end
  local id = ARGV[first_event_arg + (n - 1) * args_per_event]
  local ids = ids_under[own]
  if ids then
    ids[#ids + 1] = id
  else
    ids_under[own] = {id}
  end
end

-- Per key: name, raw ('vs' as stored), next, visits (decoded on first use), cached (replies
-- stored before the run, by event id), replies (replies of this run, by event id), new_replies
-- (field, value, ... to write), and what the end of the run writes: dirty (visits), next_dirty,
-- touched (PEXPIRE).
local states, state_order = {}, {}
local state_fields = {'vs', 'next'}
local function new_state(name, f)
  -- Every field is in the constructor (false for none), which sizes the table once.
  local s = {name = name, raw = f[1], next = f[2], visits = false, cached = false, replies = false,
             new_replies = false, dirty = false, next_dirty = false, touched = false}
  states[name] = s
  state_order[#state_order + 1] = s
  return s
end

for k = 2, #KEYS do
  local name = KEYS[k]
  local ids = ids_under[k]
  local f
  if not ids then
    f = redis.call('HMGET', name, unpack(state_fields))
  elseif #ids == 1 then
    f = redis.call('HMGET', name, 'vs', 'next', 'r:' .. ids[1])
  else
    local fields = {unpack(state_fields)}
    for _, id in ipairs(ids) do
      fields[#fields + 1] = 'r:' .. id
    end
    f = redis.call('HMGET', name, unpack(fields))
  end
  local s = states[name] or new_state(name, f)
  for n = 1, ids and #ids or 0 do
    local id = ids[n]
    local reply = f[#state_fields + n]
    if reply then
      s.cached = s.cached or {}
      s.cached[id] = reply
    end
  end
end

-- A key reached by a 'next' link, read on first use.
local function state_of(name)
  return states[name] or new_state(name, redis.call('HMGET', name, unpack(state_fields)))
end

-- The key's visits, decoded on first use.
local function visits_of(s)
  if not s.visits then
    s.visits = s.raw and decode_visits(s.raw) or {}
  end
  return s.visits
end

-- An event's keys (ks), their ranks, and whether the event changes them: nk entries, the tables
-- reused from event to event.
local ks, ranks, dirty = {}, {}, {}
-- The visits an event joins, also reused (emptied after each event).
local joined = {}

-- Adds key state s at `rank` to the event's keys (nk so far) unless it is there or max_keys
-- are; returns the new count.
local function add_key(nk, s, rank)
  if nk >= max_keys then
    return nk
  end
  for i = 1, nk do
    if ks[i] == s then
      return nk
    end
  end
  nk = nk + 1
  ks[nk], ranks[nk], dirty[nk] = s, rank, false
  return nk
end

local function by_last_descending(a, b)
  if a[LAST] ~= b[LAST] then
    return a[LAST] > b[LAST]
  end
  return bytes_less(b[VID], a[VID])
end

-- 7 (state). The live set's end state. Of the per-event steps "ZADD member ts unless its score is
-- higher", "ZREM previous member" and "remove every score below ts - window", only the members
-- the events name need following: every other member ends removed exactly when its score is
-- below the largest threshold. A named member's score, set before threshold number `first`,
-- survives iff it is at least the largest of the thresholds from `first` on; `suffix_max` (a
-- stack of threshold numbers whose thresholds exceed all later ones) answers that.
local thresholds, suffix_max = {}, {}
local function max_threshold_from(first)
  local lo, hi = 1, #suffix_max
  if hi == 0 or suffix_max[hi] < first then
    return nil  -- no threshold from `first` on
  end
  while lo < hi do  -- the first stack entry at or after `first`
    local mid = math.floor((lo + hi) / 2)
    if suffix_max[mid] < first then
      lo = mid + 1
    else
      hi = mid
    end
  end
  return thresholds[suffix_max[lo]]
end
local function add_threshold(t)
  thresholds[#thresholds + 1] = t
  while #suffix_max > 0 and thresholds[suffix_max[#suffix_max]] <= t do
    suffix_max[#suffix_max] = nil
  end
  suffix_max[#suffix_max + 1] = #thresholds
end

local members, member_order = {}, {}
local names = {}  -- KEYS index - 1 -> the visit key's hash part (its live-set member)
do
  for k = 2, #KEYS do
    names[k - 1] = string.sub(KEYS[k], #base + 1)
  end
  local scores = #names > 0 and redis.call('ZMSCORE', live_key, unpack(names)) or {}
  for n = 1, #names do
    local name = names[n]
    local score = scores[n] and tonumber(scores[n])
    members[name] = {name = name, original = score, score = score, first = 1}
    member_order[n] = members[name]
  end
end
local function live_now(m)
  if not m.score then
    return false
  end
  local t = max_threshold_from(m.first)
  return not t or m.score >= t
end

-- 2-6. Each event in turn.
local replies = {}
for n = 1, event_count do
  local a = first_event_arg + (n - 1) * args_per_event
  local own_index, previous_index, flags, ts, hash =
    struct.unpack(number_format, numbers, (n - 1) * number_size + 1)
  local id = ARGV[a]
  local visit_key = KEYS[own_index]
  local own_state = states[visit_key]

  -- A retried event gets exactly its first answer and changes nothing.
  local cached = (own_state.replies and own_state.replies[id]) or
                 (own_state.cached and own_state.cached[id])
  if cached then
    replies[n] = cached
  else
    local pageview, interactive = flags % 2 == 1, flags >= 2
    local page, attribution = ARGV[a + 1], ARGV[a + 2]

    -- Gather the visitor's visits from every key of the logical list: the event's keys ks (with
    -- their ranks, and whether this event changes them).
    local nk = 0
    local previous_state = previous_index ~= 0 and previous_index ~= own_index and
                           states[KEYS[previous_index]]
    if previous_state then
      nk = add_key(nk, previous_state, 0)
    end
    nk = add_key(nk, own_state, 1)
    local own = nk
    local i = 1
    while i <= nk do
      local s = ks[i]
      visits_of(s)
      if s.next then
        nk = add_key(nk, state_of(base .. s.next), ranks[i] + 1)
      end
      i = i + 1
    end

    -- Take out every visit the event falls into (the lists keep the others, in order); the
    -- result goes under the latest day's key.
    local target = own
    for k = 1, nk do
      local list = ks[k].visits
      local size, kept = #list, 0
      for m = 1, size do
        local v = list[m]
        if ts >= v[START] - timeout and ts <= v[LAST] + timeout then
          joined[#joined + 1] = v
          dirty[k] = true
          if ranks[k] > ranks[target] then
            target = k
          end
        else
          kept = kept + 1
          list[kept] = v
        end
      end
      for m = size, kept + 1, -1 do
        list[m] = nil
      end
    end
    if #joined > 1 then
      table.sort(joined, by_start)
    end

    -- The reply's values: the joined visits' snapshots as they were, taken before the merge
    -- below changes joined[1], then the result's. In the usual cases a constructor sizes the
    -- table once (growing it element by element rehashes it at every power of two).
    local reply_values
    if #joined == 0 then
      reply_values = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
    elseif #joined == 1 then
      reply_values = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
    else
      reply_values = {}
    end
    for m = 1, #joined do
      set_snapshot(reply_values, (m - 1) * snapshot_values, joined[m])
    end

    local pv, ev, ia = pageview and 1 or 0, pageview and 0 or 1, interactive and 1 or 0
    local state = joined[1]
    if state then
      for m = 2, #joined do
        merge(state, joined[m])
      end
      merge_event(state, id, ts, page, attribution, pv, ev, ia, hash)
    else
      state = {id, ts, ts, page, ts, id, page, ts, id, attribution, pv, ev, ia, hash}
    end

    -- Store it, keeping the visit_limit visits with the latest last events.
    local count = 1
    for k = 1, nk do
      count = count + #ks[k].visits
    end
    if count > visit_limit then
      local all = {state}
      for k = 1, nk do
        for _, v in ipairs(ks[k].visits) do
          all[#all + 1] = v
        end
      end
      table.sort(all, by_last_descending)
      local keep = {}
      for m = 1, visit_limit do
        keep[all[m]] = true
      end
      for k = 1, nk do
        local kept = {}
        for _, v in ipairs(ks[k].visits) do
          if keep[v] then
            kept[#kept + 1] = v
          else
            dirty[k] = true
          end
        end
        ks[k].visits = kept
      end
      if keep[state] then
        local list = ks[target].visits
        list[#list + 1] = state
      end
    else
      local list = ks[target].visits
      list[#list + 1] = state
    end
    dirty[target] = true

    for k = 1, nk do
      if dirty[k] then
        local s = ks[k]
        if #s.visits > 1 then
          table.sort(s.visits, by_start)
        end
        s.dirty, s.touched = true, true
      end
    end

    -- Link yesterday's key to today's, so yesterday's late events find visits stored here.
    local suffix = names[own_index - 1]
    if previous_state then
      if previous_state.next ~= suffix then
        previous_state.next, previous_state.next_dirty = suffix, true
      end
      previous_state.touched = true
    end

    -- Cache the answer under the event's own key, where its retry looks.
    set_snapshot(reply_values, #joined * snapshot_values, state)
    local reply = cmsgpack.pack(reply_values)
    own_state.replies = own_state.replies or {}
    own_state.replies[id] = reply
    local new_replies = own_state.new_replies or {}
    own_state.new_replies = new_replies
    new_replies[#new_replies + 1] = 'r:' .. id
    new_replies[#new_replies + 1] = reply
    own_state.touched = true
    replies[n] = reply

    -- 7 (per event). Current visitors: each visitor's latest event time (events may arrive out
    -- of order); the same visitor under yesterday's salt must not count twice around midnight.
    local m = members[suffix]
    if not live_now(m) or m.score < ts then
      m.score = ts
    end
    m.first = #thresholds + 1
    if previous_state then
      members[names[previous_index - 1]].score = nil
    end
    add_threshold(ts - live_window)
    for m = #joined, 1, -1 do
      joined[m] = nil
    end
  end
end

-- 8. Write every changed key once. Wall-clock expiry (30 minutes after the last write, so idle
-- visitors disappear), while the gap logic above uses event time, so backlogs are judged
-- correctly.
for n = 1, #state_order do
  local s = state_order[n]
  local new_replies = s.new_replies
  local write_visits = s.dirty and #s.visits > 0
  if write_visits and not s.next_dirty and new_replies and #new_replies == 2 then
    -- The usual write: the visits and one event's reply.
    redis.call('HSET', s.name, 'vs', encode_visits(s.visits), new_replies[1], new_replies[2])
  else
    local sets = {}
    if write_visits then
      sets[1], sets[2] = 'vs', encode_visits(s.visits)
    end
    if s.next_dirty then
      sets[#sets + 1] = 'next'
      sets[#sets + 1] = s.next
    end
    for m = 1, new_replies and #new_replies or 0 do
      sets[#sets + 1] = new_replies[m]
    end
    if #sets > 0 then
      call_chunked('HSET', s.name, sets)
    end
  end
  if s.dirty and #s.visits == 0 then
    redis.call('HDEL', s.name, 'vs')
  end
  if s.touched then
    redis.call('PEXPIRE', s.name, visit_ttl)
  end
end

-- 9. The live set's end state (see 7).
if #thresholds > 0 then
  local highest = thresholds[suffix_max[1]]
  redis.call('ZREMRANGEBYSCORE', live_key, '-inf', '(' .. int(highest))
  local adds, removes = {}, {}
  for n = 1, #member_order do
    local m = member_order[n]
    local kept = m.original and m.original >= highest
    if live_now(m) then
      if not (kept and m.original == m.score) then
        adds[#adds + 1] = int(m.score)
        adds[#adds + 1] = m.name
      end
    elseif kept then
      removes[#removes + 1] = m.name
    end
  end
  call_chunked('ZADD', live_key, adds)
  call_chunked('ZREM', live_key, removes)
  redis.call('PEXPIRE', live_key, live_ttl)
end

return replies
