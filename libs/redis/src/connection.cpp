// connection: a thin RAII layer over a blocking hiredis 0.14 context. Every reply is copied into
// plumb::redis::reply before the hiredis object is freed.

#include "plumb/redis/connection.hpp"

#include <charconv>

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <cerrno>
#include <limits>
#include <new>
#include <stdexcept>

#include "reply_conversion.hpp"

namespace plumb::redis {
namespace {

struct context_deleter {
  void operator()(redisContext* context) const noexcept { redisFree(context); }
};
using context_ptr = std::unique_ptr<redisContext, context_deleter>;

struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

constexpr std::int64_t ms_per_second = 1'000;
constexpr std::int64_t us_per_ms = 1'000;

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / ms_per_second);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % ms_per_second) * us_per_ms);
  return tv;
}

// hiredis takes argv as parallel arrays of pointers and lengths (binary safe: no strlen).
struct argv_buffer {
  std::vector<const char*> data;
  std::vector<std::size_t> lengths;

  // Rejects what Redis cannot answer: an empty command would leave us waiting for a reply that
  // never comes. Throws std::invalid_argument (a caller bug, the connection stays usable).
  template <class Args>
  static void check(const Args& args) {
    if (args.empty()) {
      throw std::invalid_argument("redis: empty command");
    }
    if (args.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      throw std::invalid_argument("redis: too many arguments");
    }
  }

  template <class Args>
  explicit argv_buffer(const Args& args) {
    data.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& arg : args) {
      const std::string_view view(arg);
      // An empty string_view may carry a null pointer; hiredis would memcpy from it.
      data.push_back(view.data() != nullptr ? view.data() : "");
      lengths.push_back(view.size());
    }
  }

  int argc() const { return static_cast<int>(data.size()); }
};

}  // namespace

struct connection::impl {
  context_ptr context;
  std::chrono::milliseconds command_timeout{};
  bool broken = false;

  // The context, or a throw when this connection must not be used any more.
  static redisContext& usable(const std::unique_ptr<impl>& self) {
    if (self == nullptr) {
      throw error("redis: connection used after being moved from");
    }
    if (self->broken) {
      throw error("redis: connection is broken by an earlier error; discard it");
    }
    return *self->context;
  }

  // After hiredis returned REDIS_ERR (context->err is set): the stream's state is unknown, so the
  // connection is broken for good. Throws redis::error naming what failed.
  [[noreturn]] void fail(std::string_view what) {
    const int saved_errno = errno;  // read() left EAGAIN when the socket timeout expired
    broken = true;
    std::string message = "redis " + std::string(what) + ": ";
    if (context->err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK)) {
      message += "timed out after " + std::to_string(command_timeout.count()) + " ms";
    } else {
      message += context->errstr;
    }
    throw error(message);
  }
};

connection::connection(const endpoint& where, timeouts limits) : impl_(std::make_unique<impl>()) {
  // To hiredis a zero timeval means "fail at once" for connect and "wait forever" for the socket
  // timeout; neither is what a caller means, so refuse both.
  if (limits.connect.count() <= 0 || limits.command.count() <= 0) {
    throw std::invalid_argument("redis: timeouts must be positive");
  }
  const std::string target = where.host + ":" + std::to_string(where.port);
  context_ptr context(
      redisConnectWithTimeout(where.host.c_str(), where.port, to_timeval(limits.connect)));
  if (context == nullptr) {
    throw std::bad_alloc();  // hiredis returns null only when it cannot allocate the context
  }
  if (context->err != 0) {
    throw error("redis connect to " + target + ": " + context->errstr);
  }
  // Socket send/receive timeouts: every later read or write gives up after `command`.
  if (redisSetTimeout(context.get(), to_timeval(limits.command)) != REDIS_OK) {
    throw error("redis connect to " + target + ": cannot set timeout: " + context->errstr);
  }
  // TCP keepalive notices a peer that vanished without closing while the connection sits idle.
  if (redisEnableKeepAlive(context.get()) != REDIS_OK) {
    throw error("redis connect to " + target + ": cannot enable keepalive: " + context->errstr);
  }
  impl_->context = std::move(context);
  impl_->command_timeout = limits.command;

  if (where.password) {
    // The reply text never contains the password, so it is safe to pass on.
    const reply auth = command({"AUTH", *where.password});
    if (auth.is_error()) {
      throw error("redis AUTH at " + target + ": " + auth.str);
    }
  }
  if (where.database != 0) {
    const std::string database = std::to_string(where.database);
    const reply select = command({"SELECT", database});
    if (select.is_error()) {
      throw error("redis SELECT " + database + " at " + target + ": " + select.str);
    }
  }
}

connection::~connection() = default;
connection::connection(connection&&) noexcept = default;
connection& connection::operator=(connection&&) noexcept = default;

reply connection::command(const std::vector<std::string_view>& args) {
  redisContext& context = impl::usable(impl_);
  argv_buffer::check(args);
  argv_buffer argv(args);  // non-const: hiredis 0.14 takes `const char**`
  reply_ptr raw(static_cast<redisReply*>(
      redisCommandArgv(&context, argv.argc(), argv.data.data(), argv.lengths.data())));
  if (raw == nullptr) {
    impl_->fail("command");
  }
  return from_hiredis(*raw);
}

std::vector<reply> connection::pipeline(const std::vector<std::vector<std::string>>& commands) {
  for (const auto& args : commands) {
    argv_buffer::check(args);
  }
  std::string protocol;
  for (const auto& args : commands) {
    append_command(protocol, std::vector<std::string_view>(args.begin(), args.end()));
  }
  return pipeline_formatted(protocol, commands.size());
}

std::vector<reply> connection::pipeline_formatted(std::string_view protocol,
                                                  std::size_t command_count) {
  std::vector<reply> replies;
  pipeline_formatted(protocol, command_count, replies);
  return replies;
}

void connection::pipeline_formatted(std::string_view protocol, std::size_t command_count,
                                    std::vector<reply>& replies) {
  redisContext& context = impl::usable(impl_);
  if (command_count == 0) {
    return;
  }
  // Until the last reply is read the stream is mid-conversation: if anything below throws
  // (I/O error, timeout, allocation), unread replies would answer the next caller's commands.
  impl_->broken = true;
  if (redisAppendFormattedCommand(&context, protocol.data(), protocol.size()) != REDIS_OK) {
    impl_->fail("pipeline");
  }
  replies.reserve(replies.size() + command_count);
  for (std::size_t i = 0; i < command_count; ++i) {
    void* raw_reply = nullptr;
    // The first call flushes every appended command to the socket; each call reads one reply.
    if (redisGetReply(&context, &raw_reply) != REDIS_OK) {
      impl_->fail("pipeline");
    }
    const reply_ptr raw(static_cast<redisReply*>(raw_reply));
    replies.push_back(from_hiredis(*raw));
  }
  impl_->broken = false;
}

namespace {
// The line is built on the stack and appended once: this runs for every field of every hit.
void append_length_line(std::string& out, char type, std::size_t n) {
  char line[24];  // type, at most 20 digits, CRLF
  line[0] = type;
  char* end = std::to_chars(line + 1, line + sizeof line - 2, n).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out.append(line, end);
}
}  // namespace

void append_array_header(std::string& out, std::size_t count) { append_length_line(out, '*', count); }

void append_bulk_string(std::string& out, std::string_view value) {
  append_length_line(out, '$', value.size());
  out.append(value);
  out += "\r\n";
}

void append_command(std::string& out, std::span<const std::string_view> args) {
  append_array_header(out, args.size());
  for (const auto arg : args) {
    append_bulk_string(out, arg);
  }
}

bool connection::broken() const {
  return impl_ == nullptr || impl_->broken;
}

pool::pool(endpoint where, std::size_t size, timeouts limits)
    : core::pool<connection>(
          size, [where = std::move(where), limits] { return std::make_unique<connection>(where, limits); },
          [](const connection& conn) { return !conn.broken(); }, "Redis") {}

std::size_t delete_prefixed(connection& conn, std::string_view prefix) {
  // MATCH takes a glob: the prefix's own glob characters are escaped.
  std::string pattern;
  for (const char c : prefix) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
      pattern += '\\';
    }
    pattern += c;
  }
  pattern += '*';
  std::size_t deleted = 0;
  std::string cursor = "0";
  do {
    const auto page = conn.command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (page.is_error() || page.elements.size() != 2) {
      throw error("SCAN failed: " + page.str);
    }
    cursor = page.elements[0].str;
    std::vector<std::string_view> unlink{"UNLINK"};
    for (const auto& key : page.elements[1].elements) {
      unlink.push_back(key.str);
    }
    if (unlink.size() > 1) {
      const auto r = conn.command(unlink);
      if (r.is_error()) {
        throw error("UNLINK failed: " + r.str);
      }
      deleted += static_cast<std::size_t>(r.integer);
    }
  } while (cursor != "0");
  return deleted;
}

}  // namespace plumb::redis
