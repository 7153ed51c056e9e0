#pragma once
// Sends mail through an SMTP submission server: STARTTLS (smtp://, port 587 by default) or
// implicit TLS (smtps://, port 465), the server's certificate checked against the system's CAs
// (or ca_file) and its name, AUTH PLAIN or LOGIN when a user is given. Plain-text connections are
// refused: the messages carry sign-in links.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "plumb/core/expected.hpp"

namespace plumb::smtp {

struct settings {
  bool implicit_tls = false;  // smtps://
  std::string host;
  std::uint16_t port = 587;
  std::string user;  // empty: no AUTH
  std::string password;
  std::string from;     // envelope sender and From header
  std::string ca_file;  // PEM CAs to trust instead of the system's; empty: the system's
  // Bounds each step (connect, TLS handshake, every reply), so a silent server cannot hold the
  // sending thread.
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
};

// smtp[s]://[user[:password]@]host[:port] (user and password percent-decoded). The error says
// what is wrong, without the password.
expected<settings, std::string> parse_url(std::string_view url);

struct message {
  std::string to;
  std::string subject;
  std::string text;  // plain text, UTF-8, '\n' line ends
};

// Sends one message, blocking (each step bounded by s.timeout). Returns "" when the server
// accepted it, else what failed (the server's reply or the network error; never the message).
std::string send(const settings& s, const message& m);

// Sends messages on its own thread, oldest first, so callers never wait for the network. A failed
// message is tried again after 1, 2, 4 and 8 s (5 attempts). Reports go to the callbacks, on the
// sending thread.
class outbox {
 public:
  struct reports {
    std::function<void(const message&)> sent;
    // `final`: no attempt is left (or the outbox was full or stopping); the message is dropped.
    std::function<void(const message&, const std::string& error, int attempt, bool final)> failed;
  };
  outbox(settings s, reports r);
  // Stops after the attempt in progress; messages still queued are reported as failed.
  ~outbox();
  outbox(const outbox&) = delete;
  outbox& operator=(const outbox&) = delete;

  void post(message m);

 private:
  void run();

  settings settings_;
  reports reports_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<message> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace plumb::smtp
