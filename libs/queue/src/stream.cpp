#include "plumb/queue/stream.hpp"

#include <stdexcept>

namespace plumb::queue {
namespace {

const redis::reply& checked(const redis::reply& reply, std::string_view what) {
  if (reply.is_error()) {
    throw std::runtime_error(std::string(what) + ": " + reply.str);
  }
  return reply;
}

// XREADGROUP reply: [[stream, [[id, [f1, v1, ...]], ...]]] or nil when nothing arrived.
std::vector<message> parse_read_reply(const redis::reply& reply) {
  std::vector<message> out;
  if (reply.is_nil() || reply.elements.empty()) {
    return out;
  }
  for (const auto& entry : reply.elements.at(0).elements.at(1).elements) {
    message m;
    m.stream_id = entry.elements.at(0).str;
    const auto& kv = entry.elements.at(1);
    // A pending entry that was deleted from the stream comes back with nil fields.
    for (std::size_t i = 0; i + 1 < kv.elements.size(); i += 2) {
      m.fields.emplace_back(kv.elements[i].str, kv.elements[i + 1].str);
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

void append(redis::connection& redis, const events::keys& keys,
            std::span<const events::fields> entries) {
  if (entries.empty()) {
    return;
  }
  const std::string stream = keys.events_stream();
  std::vector<std::vector<std::string>> commands;
  commands.reserve(entries.size());
  for (const auto& entry : entries) {
    std::vector<std::string> xadd{"XADD", stream, "*"};
    xadd.reserve(3 + entry.size() * 2);
    for (const auto& [field, value] : entry) {
      xadd.push_back(field);
      xadd.push_back(value);
    }
    commands.push_back(std::move(xadd));
  }
  for (const auto& reply : redis.pipeline(commands)) {
    checked(reply, "XADD failed");
  }
}

consumer::consumer(redis::connection& redis, events::keys keys, std::string name)
    : redis_(redis), keys_(std::move(keys)), name_(std::move(name)) {}

void consumer::ensure_group() {
  const auto reply = redis_.command(
      {"XGROUP", "CREATE", keys_.events_stream(), events::keys::worker_group, "0", "MKSTREAM"});
  if (reply.is_error() && reply.str.rfind("BUSYGROUP", 0) != 0) {
    throw std::runtime_error("XGROUP CREATE failed: " + reply.str);
  }
}

std::vector<message> consumer::read(std::size_t count, std::chrono::milliseconds block,
                                    std::string_view from) {
  const std::string count_text = std::to_string(count);
  const std::string block_text = std::to_string(block.count());
  const std::string stream = keys_.events_stream();
  std::vector<std::string_view> args{"XREADGROUP", "GROUP", events::keys::worker_group, name_,
                                     "COUNT", count_text};
  if (block.count() > 0) {
    args.insert(args.end(), {"BLOCK", block_text});
  }
  args.insert(args.end(), {"STREAMS", stream, from});
  return parse_read_reply(checked(redis_.command(args), "XREADGROUP failed"));
}

std::vector<message> consumer::read_pending(std::size_t count) {
  return read(count, std::chrono::milliseconds(0), "0");
}

std::vector<message> consumer::read_new(std::size_t count, std::chrono::milliseconds block) {
  return read(count, block, ">");
}

void consumer::ack(std::span<const message> messages) {
  if (messages.empty()) {
    return;
  }
  const std::string stream = keys_.events_stream();
  std::vector<std::string_view> args{"XACK", stream, events::keys::worker_group};
  for (const auto& m : messages) {
    args.push_back(m.stream_id);
  }
  checked(redis_.command(args), "XACK failed");
}

void consumer::dead_letter(const message& m, std::string_view error) {
  const std::string dead = keys_.dead_letter_stream();
  std::vector<std::string_view> args{"XADD", dead, "*", "error", error, "stream_id", m.stream_id,
                                     "consumer", name_};
  for (const auto& [field, value] : m.fields) {
    args.push_back(field);
    args.push_back(value);
  }
  checked(redis_.command(args), "dead-letter XADD failed");
  ack(std::span<const message>(&m, 1));
}

}  // namespace plumb::queue
