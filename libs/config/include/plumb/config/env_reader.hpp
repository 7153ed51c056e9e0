#pragma once
// Reads PLUMB_* settings through an injectable lookup (tests pass a map; services pass the process
// environment). Every problem is collected, so an operator sees all of them in one start attempt.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace plumb::config {

using lookup_fn = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment; empty values count as unset.
lookup_fn process_environment();

struct listen_address {
  std::string host;
  std::uint16_t port = 0;
};

// Thrown by env_reader::finish() when any setting was invalid; what() lists each on its own line.
class invalid_config : public std::runtime_error {
 public:
  explicit invalid_config(const std::vector<std::string>& problems);
};

class env_reader {
 public:
  explicit env_reader(lookup_fn lookup);

  std::string text(const std::string& name, std::string fallback);
  std::string required_text(const std::string& name);
  std::int64_t integer(const std::string& name, std::int64_t fallback, std::int64_t min,
                       std::int64_t max);
  std::chrono::milliseconds millis(const std::string& name, std::chrono::milliseconds fallback,
                                   std::chrono::milliseconds min, std::chrono::milliseconds max);
  bool flag(const std::string& name, bool fallback);
  // "host:port" or "[v6]:port"; port 0 lets the OS pick.
  listen_address listen(const std::string& name, std::string_view fallback);
  // A secret from NAME, or from the file named by NAME_FILE (trailing newline dropped). Refuses
  // empty, short and well-known example values. Redacted in effective().
  std::string secret(const std::string& name, std::size_t min_length);
  // A URL-like value whose password part is redacted in effective() (DSNs, redis URLs).
  std::string connection_url(const std::string& name, std::string fallback);

  // Records a problem found by the caller's own validation.
  void problem(const std::string& name, const std::string& message);

  // Throws invalid_config if any problem was recorded.
  void finish() const;
  const std::vector<std::string>& problems() const { return problems_; }
  // Every setting read, with its effective value (secrets redacted), for the startup log.
  const std::vector<std::pair<std::string, std::string>>& effective() const { return effective_; }

 private:
  std::optional<std::string> raw(const std::string& name);
  lookup_fn lookup_;
  std::vector<std::string> problems_;
  std::vector<std::pair<std::string, std::string>> effective_;
};

// "postgresql://user:secret@host/db" -> "postgresql://user:***@host/db"; no password: unchanged.
std::string redact_url(std::string_view url);

}  // namespace plumb::config
