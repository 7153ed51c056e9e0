#include "plumb/queue/stream.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace plumb::queue {
namespace {

const redis::reply& checked(const redis::reply& reply, std::string_view what) {
  if (reply.is_error()) {
    throw std::runtime_error(std::string(what) + ": " + reply.str);
  }
  return reply;
}

// Longest "*<count>\r\n" in front of an XADD: reserved per entry so that encoding allocates once.
constexpr std::size_t array_header_bytes = 24;

// "*12" (type '*') or "$5" (type '$'), a RESP header line without its CRLF -> 12 or 5; nullopt
// for anything else.
std::optional<std::size_t> header_count(std::string_view line, char type) {
  std::size_t n = 0;
  if (line.size() < 2 || line.front() != type) {
    return std::nullopt;
  }
  const auto [end, ec] = std::from_chars(line.data() + 1, line.data() + line.size(), n);
  if (ec != std::errc{} || end != line.data() + line.size()) {
    return std::nullopt;
  }
  return n;
}

// Entries confirmed before the first failure (Redis runs a pipeline in order).
std::size_t confirmed_prefix(const std::vector<redis::reply>& replies) {
  std::size_t n = 0;
  while (n < replies.size() && !replies[n].is_error()) {
    ++n;
  }
  return n;
}

// One message per event of an entry ([id, [f1, v1, ...]]), sharing the entry's count of events
// to settle.
void append_messages(std::vector<message>& out, const std::string& stream,
                     const redis::reply& entry) {
  auto events = entry_events(entry.elements.at(1));
  auto unsettled = std::make_shared<std::size_t>(events.size());
  for (auto& fields : events) {
    out.push_back(message{stream, entry.elements.at(0).str, std::move(fields), unsettled});
  }
}

// XREADGROUP reply: [[stream, [[id, [f1, v1, ...]], ...]]] or nil when nothing arrived.
std::vector<message> parse_read_reply(const redis::reply& reply, const std::string& stream) {
  std::vector<message> out;
  if (reply.is_nil() || reply.elements.empty()) {
    return out;
  }
  for (const auto& entry : reply.elements.at(0).elements.at(1).elements) {
    append_messages(out, stream, entry);
  }
  return out;
}

}  // namespace

std::string serialize(const events::fields& entry) {
  std::vector<std::string_view> args;
  args.reserve(entry.size() * 2);
  for (const auto& [field, value] : entry) {
    args.push_back(field);
    args.push_back(value);
  }
  std::string out;
  redis::append_command(out, args);
  return out;
}

std::string serialize(const events::event& e) {
  // One pass over the event: the fields are written after room for the array header, which
  // needs their count and replaces that room at the end.
  constexpr std::size_t header_room = array_header_bytes;
  constexpr std::size_t typical_entry_bytes = 512;  // a pageview with a browser User-Agent
  std::string out;
  out.reserve(typical_entry_bytes);
  out.resize(header_room);
  std::size_t count = 0;
  events::for_each_field(e, [&out, &count](std::string_view field, std::string_view value) {
    redis::append_bulk_string(out, field);
    redis::append_bulk_string(out, value);
    count += 2;
  });
  std::string header;
  redis::append_array_header(header, count);
  out.replace(0, header_room, header);
  return out;
}

namespace {

// The first serialised event of `records`, which loses its bytes; nullopt when `records` does not
// start with one.
std::optional<events::fields> take_record(std::string_view& records) {
  std::string_view rest = records;
  auto read_line = [&rest]() -> std::optional<std::string_view> {
    const auto end = rest.find("\r\n");
    if (end == std::string_view::npos) {
      return std::nullopt;
    }
    const auto line = rest.substr(0, end);
    rest.remove_prefix(end + 2);
    return line;
  };
  auto read_count = [&read_line](char type) -> std::optional<std::size_t> {
    const auto line = read_line();
    return line ? header_count(*line, type) : std::nullopt;
  };
  const auto count = read_count('*');
  if (!count || *count % 2 != 0) {
    return std::nullopt;
  }
  events::fields out;
  out.reserve(*count / 2);
  for (std::size_t i = 0; i < *count; ++i) {
    const auto length = read_count('$');
    if (!length || rest.size() < *length + 2 || rest.substr(*length, 2) != "\r\n") {
      return std::nullopt;
    }
    if (i % 2 == 0) {
      out.emplace_back(rest.substr(0, *length), std::string());
    } else {
      out.back().second = rest.substr(0, *length);
    }
    rest.remove_prefix(*length + 2);
  }
  records = rest;
  return out;
}

}  // namespace

std::optional<events::fields> deserialize(std::string_view record) {
  auto fields = take_record(record);
  return fields && record.empty() ? fields : std::nullopt;
}

std::vector<events::fields> entry_events(const redis::reply& pairs) {
  std::vector<events::fields> out;
  if (pairs.elements.size() == 2 && pairs.elements[0].str == entry_field) {
    std::string_view records = pairs.elements[1].str;
    while (!records.empty()) {
      auto fields = take_record(records);
      if (!fields) {
        out.clear();
        break;
      }
      out.push_back(std::move(*fields));
    }
    if (!out.empty()) {
      return out;
    }
  }
  events::fields fields;
  for (std::size_t i = 0; i + 1 < pairs.elements.size(); i += 2) {
    fields.emplace_back(pairs.elements[i].str, pairs.elements[i + 1].str);
  }
  out.push_back(std::move(fields));
  return out;
}

xadd_encoder::xadd_encoder(std::string_view stream) {
  redis::append_array_header(prefix_, 5);
  redis::append_bulk_string(prefix_, "XADD");
  redis::append_bulk_string(prefix_, stream);
  redis::append_bulk_string(prefix_, "*");
  redis::append_bulk_string(prefix_, entry_field);
}

namespace {

// True when `record` starts like a serialised event; the full parse is the reader's.
bool looks_serialized(std::string_view record) {
  const auto header_end = record.find("\r\n");
  return header_end != std::string_view::npos && header_count(record.substr(0, header_end), '*');
}

}  // namespace

bool xadd_encoder::encode(std::string& out, std::span<const std::string> serialized_events) const {
  const std::size_t original_size = out.size();
  std::size_t bytes = 0;
  for (const auto& event : serialized_events) {
    bytes += event.size() + prefix_.size() + array_header_bytes;
  }
  out.reserve(original_size + bytes);
  for (const std::string_view event : serialized_events) {
    if (!looks_serialized(event)) {
      out.resize(original_size);
      return false;
    }
    out += prefix_;
    redis::append_bulk_string(out, event);
  }
  return true;
}

bool xadd_encoder::encode_entry(std::string& out,
                                std::span<const std::string> serialized_events) const {
  std::size_t bytes = 0;
  for (const std::string_view event : serialized_events) {
    if (!looks_serialized(event)) {
      return false;
    }
    bytes += event.size();
  }
  if (serialized_events.empty() || serialized_events.size() > max_events_per_entry) {
    return false;
  }
  // The value's bulk-string header, then the events back to back.
  char length[24];
  const auto length_end = std::to_chars(std::begin(length), std::end(length), bytes).ptr;
  out.reserve(out.size() + prefix_.size() + array_header_bytes + bytes + 2);
  out += prefix_;
  out += '$';
  out.append(length, length_end);
  out += "\r\n";
  for (const std::string_view event : serialized_events) {
    out += event;
  }
  out += "\r\n";
  return true;
}

void append(redis::connection& redis, const events::keys& keys,
            std::span<const std::string> serialized_entries) {
  if (serialized_entries.empty()) {
    return;
  }
  std::string protocol;
  if (!xadd_encoder(keys.events_stream()).encode(protocol, serialized_entries)) {
    throw append_error("malformed serialised stream entry", 0);
  }
  std::vector<redis::reply> replies;
  try {
    redis.pipeline_formatted(protocol, serialized_entries.size(), replies);
  } catch (const redis::error& e) {
    throw append_error(e.what(), confirmed_prefix(replies));
  }
  if (const auto confirmed = confirmed_prefix(replies); confirmed < replies.size()) {
    throw append_error("XADD failed: " + replies[confirmed].str, confirmed);
  }
}

std::optional<entry_identity> identify(std::string_view serialized_entry) {
  const auto fields = deserialize(serialized_entry);
  if (!fields) {
    return std::nullopt;
  }
  // Field names of the stream entry contract (proto/stream/README.md).
  entry_identity out;
  bool has_id = false;
  bool has_ts = false;
  for (const auto& [field, value] : *fields) {
    if (field == "id") {
      out.event_id = value;
      has_id = true;
    } else if (field == "ts") {
      has_ts = std::from_chars(value.data(), value.data() + value.size(), out.received_ms).ec ==
               std::errc{};
    }
  }
  return has_id && has_ts ? std::optional(std::move(out)) : std::nullopt;
}

namespace {

// Entries per XRANGE round trip: large enough to read quickly, small enough not to hold Redis.
constexpr std::size_t find_page_entries = 1'000;

// Redis's TIME in Unix milliseconds.
std::int64_t server_time_ms(redis::connection& redis) {
  const auto time = checked(redis.command({"TIME"}), "TIME failed");
  if (time.elements.size() != 2) {
    throw std::runtime_error("unexpected TIME reply");
  }
  return std::stoll(time.elements[0].str) * 1'000 + std::stoll(time.elements[1].str) / 1'000;
}

}  // namespace

std::unordered_set<std::string> find_event_ids(redis::connection& redis, const events::keys& keys,
                                               std::int64_t since_ms, std::int64_t now_ms,
                                               const std::unordered_set<std::string>& event_ids) {
  std::unordered_set<std::string> found;
  if (event_ids.empty()) {
    return found;
  }
  const std::int64_t from_ms = since_ms + (server_time_ms(redis) - now_ms) -
                               static_cast<std::int64_t>(clock_tolerance.count());
  const std::string stream = keys.events_stream();
  const std::string count = std::to_string(find_page_entries);
  std::string from = std::to_string(std::max<std::int64_t>(from_ms, 0)) + "-0";
  for (;;) {
    const auto page =
        checked(redis.command({"XRANGE", stream, from, "+", "COUNT", count}), "XRANGE failed");
    for (const auto& entry : page.elements) {
      for (const auto& fields : entry_events(entry.elements.at(1))) {
        for (const auto& [field, value] : fields) {
          if (field == "id") {
            if (event_ids.contains(value)) {
              found.insert(value);
            }
            break;
          }
        }
      }
    }
    if (page.elements.size() < find_page_entries || found.size() == event_ids.size()) {
      return found;
    }
    from = "(" + page.elements.back().elements.at(0).str;  // exclusive start: the next page
  }
}

consumer::consumer(redis::connection& redis, events::keys keys, std::string name)
    : consumer(redis, keys, std::move(name), keys.events_stream()) {}

consumer::consumer(redis::connection& redis, events::keys keys, std::string name,
                   std::string stream)
    : redis_(redis), keys_(std::move(keys)), name_(std::move(name)), stream_(std::move(stream)) {}

void consumer::ensure_group() {
  const auto reply =
      redis_.command({"XGROUP", "CREATE", stream_, events::keys::worker_group, "0", "MKSTREAM"});
  if (reply.is_error() && reply.str.rfind("BUSYGROUP", 0) != 0) {
    throw std::runtime_error("XGROUP CREATE failed: " + reply.str);
  }
}

std::vector<message> consumer::read(std::size_t count, std::chrono::milliseconds block,
                                    std::string_view from) {
  const auto entries = std::clamp<std::size_t>(
      static_cast<std::size_t>(static_cast<double>(count) / events_per_entry_), 1, count);
  const std::string count_text = std::to_string(entries);
  const std::string block_text = std::to_string(block.count());
  std::vector<std::string_view> args{"XREADGROUP", "GROUP", events::keys::worker_group,
                                     name_,        "COUNT", count_text};
  if (block.count() > 0) {
    args.insert(args.end(), {"BLOCK", block_text});
  }
  args.insert(args.end(), {"STREAMS", stream_, from});
  auto messages = parse_read_reply(checked(redis_.command(args), "XREADGROUP failed"), stream_);
  if (!messages.empty()) {
    std::size_t entries_read = 1;
    for (std::size_t i = 1; i < messages.size(); ++i) {
      entries_read += messages[i].stream_id != messages[i - 1].stream_id ? 1U : 0U;
    }
    events_per_entry_ = static_cast<double>(messages.size()) / static_cast<double>(entries_read);
  }
  return messages;
}

std::vector<message> consumer::read_pending(std::size_t count) {
  return read(count, std::chrono::milliseconds(0), "0");
}

std::vector<message> consumer::read_new(std::size_t count, std::chrono::milliseconds block) {
  return read(count, block, ">");
}

std::vector<std::string_view> consumer::settle(std::span<const message> messages) {
  std::vector<std::string_view> entries;
  for (const auto& m : messages) {
    if (m.unsettled_in_entry == nullptr || --*m.unsettled_in_entry == 0) {
      entries.push_back(m.stream_id);
    }
  }
  return entries;
}

void consumer::ack(std::span<const message> messages) {
  // Messages come in runs from one stream; one XACK per run.
  std::size_t first = 0;
  while (first < messages.size()) {
    const std::string& stream = messages[first].stream.empty() ? stream_ : messages[first].stream;
    std::size_t last = first;
    while (last < messages.size() &&
           (messages[last].stream.empty() ? stream_ : messages[last].stream) == stream) {
      ++last;
    }
    const auto settled = settle(messages.subspan(first, last - first));
    if (!settled.empty()) {
      std::vector<std::string_view> args{"XACK", stream, events::keys::worker_group};
      args.insert(args.end(), settled.begin(), settled.end());
      checked(redis_.command(args), "XACK failed");
    }
    first = last;
  }
}

void consumer::defer(std::span<const message> messages, const std::string& to_stream) {
  if (messages.empty()) {
    return;
  }
  std::vector<std::vector<std::string>> commands{{"MULTI"}};
  for (const auto& m : messages) {
    commands.push_back({"XADD", to_stream, "*", std::string(entry_field), serialize(m.fields)});
  }
  const auto settled = settle(messages);
  if (!settled.empty()) {
    std::vector<std::string> ack{"XACK", stream_, std::string(events::keys::worker_group)};
    ack.insert(ack.end(), settled.begin(), settled.end());
    commands.push_back(std::move(ack));
  }
  commands.push_back({"EXEC"});
  const auto replies = redis_.pipeline(commands);
  const auto& exec = replies.back();
  if (exec.is_error() || exec.is_nil() || exec.elements.size() != commands.size() - 2) {
    throw std::runtime_error("deferring entries failed: " + exec.str);
  }
  for (const auto& r : exec.elements) {
    if (r.is_error()) {
      throw std::runtime_error("deferring entries failed: " + r.str);
    }
  }
}

void consumer::dead_letter(const message& m, std::string_view error) {
  const std::string dead = keys_.dead_letter_stream();
  std::vector<std::string_view> args{"XADD",      dead,        "*",        "error", error,
                                     "stream_id", m.stream_id, "consumer", name_};
  for (const auto& [field, value] : m.fields) {
    args.push_back(field);
    args.push_back(value);
  }
  checked(redis_.command(args), "dead-letter XADD failed");
  ack(std::span<const message>(&m, 1));  // on the stream it came from
}

consumer::claim_result consumer::claim_idle(std::chrono::milliseconds min_idle, std::size_t count,
                                            std::int64_t max_deliveries) {
  const std::string& stream = stream_;
  const std::string idle_text = std::to_string(min_idle.count());
  const std::string count_text = std::to_string(count);
  // XPENDING extended form: [[id, consumer, idle ms, deliveries], ...]
  const auto pending = checked(redis_.command({"XPENDING", stream, events::keys::worker_group,
                                               "IDLE", idle_text, "-", "+", count_text}),
                               "XPENDING failed");
  claim_result result;
  if (pending.elements.empty()) {
    return result;
  }
  std::vector<std::string_view> args{"XCLAIM", stream, events::keys::worker_group, name_,
                                     idle_text};
  std::vector<std::string> exhausted_ids;
  for (const auto& entry : pending.elements) {
    args.push_back(entry.elements.at(0).str);
    if (entry.elements.at(3).integer >= max_deliveries) {
      exhausted_ids.push_back(entry.elements.at(0).str);
    }
  }
  // XCLAIM answers with the entries it took over; deleted ones come back nil (or not at all).
  const auto claimed = checked(redis_.command(args), "XCLAIM failed");
  for (const auto& entry : claimed.elements) {
    if (entry.is_nil() || entry.elements.size() < 2) {
      continue;
    }
    const auto& id = entry.elements.at(0).str;
    const bool exhausted =
        std::find(exhausted_ids.begin(), exhausted_ids.end(), id) != exhausted_ids.end();
    append_messages(exhausted ? result.exhausted : result.claimed, stream, entry);
  }
  return result;
}

namespace {

// Stream ids "<ms>-<seq>" as a pair, for ordering; nullopt for anything else.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_stream_id(std::string_view id) {
  const auto dash = id.find('-');
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;
  if (dash == std::string_view::npos ||
      std::from_chars(id.data(), id.data() + dash, ms).ec != std::errc{} ||
      std::from_chars(id.data() + dash + 1, id.data() + id.size(), seq).ec != std::errc{}) {
    return std::nullopt;
  }
  return std::pair{ms, seq};
}

// The value after `key` in a flat [key, value, ...] reply.
const redis::reply* field_of(const redis::reply& map, std::string_view key) {
  for (std::size_t i = 0; i + 1 < map.elements.size(); i += 2) {
    if (map.elements[i].str == key) {
      return &map.elements[i + 1];
    }
  }
  return nullptr;
}

}  // namespace

namespace {

std::int64_t trim_stream(redis::connection& redis, const std::string& stream) {
  const auto groups = redis.command({"XINFO", "GROUPS", stream});
  if (groups.is_error() || groups.elements.empty()) {
    return 0;  // no stream or no group yet: nothing is known to be consumed
  }
  std::optional<std::pair<std::uint64_t, std::uint64_t>> keep_from;
  auto keep = [&keep_from](std::string_view id) {
    const auto parsed = parse_stream_id(id);
    if (!parsed) {
      throw std::runtime_error("unexpected stream id '" + std::string(id) + "'");
    }
    // Entries after the last delivered one are undelivered: keep from the next id on.
    if (!keep_from || *parsed < *keep_from) {
      keep_from = parsed;
    }
  };
  for (const auto& group : groups.elements) {
    const auto* name = field_of(group, "name");
    const auto* delivered = field_of(group, "last-delivered-id");
    if (name == nullptr || delivered == nullptr) {
      throw std::runtime_error("unexpected XINFO GROUPS reply");
    }
    auto next = *parse_stream_id(delivered->str);
    next.second += 1;  // the entry after the last delivered one
    if (!keep_from || next < *keep_from) {
      keep_from = next;
    }
    // XPENDING summary: [count, smallest id, greatest id, consumers]
    const auto pending = checked(redis.command({"XPENDING", stream, name->str}), "XPENDING failed");
    if (!pending.elements.empty() && pending.elements.at(0).integer > 0) {
      keep(pending.elements.at(1).str);
    }
  }
  const std::string min_id =
      std::to_string(keep_from->first) + "-" + std::to_string(keep_from->second);
  return checked(redis.command({"XTRIM", stream, "MINID", min_id}), "XTRIM failed").integer;
}

}  // namespace

std::int64_t trim_consumed(redis::connection& redis, const events::keys& keys) {
  return trim_stream(redis, keys.events_stream()) + trim_stream(redis, keys.deferred_stream());
}

std::vector<dead_letter> list_dead_letters(redis::connection& redis, const events::keys& keys,
                                           std::size_t limit) {
  const auto reply = checked(redis.command({"XRANGE", keys.dead_letter_stream(), "-", "+", "COUNT",
                                            std::to_string(limit)}),
                             "XRANGE failed");
  std::vector<dead_letter> out;
  for (const auto& entry : reply.elements) {
    dead_letter d;
    d.id = entry.elements.at(0).str;
    const auto& kv = entry.elements.at(1).elements;
    for (std::size_t i = 0; i + 1 < kv.size(); i += 2) {
      const auto& key = kv[i].str;
      // The first three pairs are dead_letter()'s own: error, stream_id, consumer.
      if (i == 0 && key == "error") {
        d.error = kv[i + 1].str;
      } else if (i >= 6) {
        d.fields.emplace_back(key, kv[i + 1].str);
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

bool retry_dead_letter(redis::connection& redis, const events::keys& keys, std::string_view id) {
  const auto reply =
      checked(redis.command({"XRANGE", keys.dead_letter_stream(), id, id}), "XRANGE failed");
  if (reply.elements.empty()) {
    return false;
  }
  events::fields fields;
  const auto& kv = reply.elements.at(0).elements.at(1).elements;
  for (std::size_t i = 6; i + 1 < kv.size(); i += 2) {
    fields.emplace_back(kv[i].str, kv[i + 1].str);
  }
  const std::string record = serialize(fields);
  append(redis, keys, std::span<const std::string>(&record, 1));
  checked(redis.command({"XDEL", keys.dead_letter_stream(), id}), "XDEL failed");
  return true;
}

}  // namespace plumb::queue
