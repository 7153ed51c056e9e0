#pragma once
// A port on 127.0.0.1 held for the object's lifetime (no other process can take it meanwhile),
// standing in for a server that fails: bound only, so connecting is refused, or listening, so
// connections wait in the backlog and nothing is read or answered unless the test accepts one.

#include <cstdint>

namespace plumb::test_support {

class loopback_port {
 public:
  enum class mode { refusing, silent };
  // Throws std::runtime_error when no socket can be bound.
  explicit loopback_port(mode m);
  ~loopback_port();
  loopback_port(const loopback_port&) = delete;
  loopback_port& operator=(const loopback_port&) = delete;

  std::uint16_t port() const { return port_; }
  // The server side of the oldest connection in the backlog (silent mode), for a test that
  // plays the server by hand; blocks until there is one. The caller closes it. Throws on failure.
  int accept_one() const;

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

}  // namespace plumb::test_support
