#include "plumb/smtp/client.hpp"

#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <random>

namespace plumb::smtp {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// Replies are short; a server sending more than this in one reply is broken or hostile.
constexpr std::size_t max_reply_bytes = 64 * 1024;
// Messages waiting in an outbox; beyond this, new ones fail at once (a mail storm must not grow
// the dashboard's memory without bound).
constexpr std::size_t max_queued = 1'000;
constexpr int max_attempts = 5;

std::string base64(std::string_view in) {
  static constexpr char table[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto byte = [&](std::size_t i) -> std::uint32_t {
    return i < in.size() ? static_cast<unsigned char>(in[i]) : 0U;
  };
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const std::uint32_t n = (byte(i) << 16U) | (byte(i + 1) << 8U) | byte(i + 2);
    out += table[(n >> 18U) & 63U];
    out += table[(n >> 12U) & 63U];
    out += i + 1 < in.size() ? table[(n >> 6U) & 63U] : '=';
    out += i + 2 < in.size() ? table[n & 63U] : '=';
  }
  return out;
}

std::optional<std::string> percent_decoded(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      return std::nullopt;
    }
    out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
    i += 2;
  }
  return out;
}

bool has_line_break(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

// A header value: as is when ASCII, else RFC 2047 encoded-word (UTF-8, base64).
std::string header_text(std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return "=?UTF-8?B?" + base64(s) + "?=";
    }
  }
  return std::string(s);
}

std::string rfc5322_date() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[64];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S +0000", &utc);
  return text;
}

std::string domain_of(const std::string& address) {
  const auto at = address.rfind('@');
  return at == std::string::npos ? "localhost" : address.substr(at + 1);
}

// The DATA payload: headers, the text with CRLF line ends and leading dots doubled, the final dot.
std::string data_of(const settings& s, const message& m) {
  std::random_device random;
  std::string out = "From: " + s.from + "\r\nTo: " + m.to + "\r\nSubject: " + header_text(m.subject) +
                    "\r\nDate: " + rfc5322_date() + "\r\nMessage-ID: <" +
                    std::to_string(random()) + std::to_string(random()) + "." +
                    std::to_string(std::time(nullptr)) + "@" + domain_of(s.from) +
                    ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: 8bit\r\n\r\n";
  std::size_t start = 0;
  while (start <= m.text.size()) {
    auto end = m.text.find('\n', start);
    if (end == std::string::npos) {
      end = m.text.size();
    }
    std::string_view line(m.text.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (!line.empty() && line.front() == '.') {
      out += '.';
    }
    out.append(line).append("\r\n");
    start = end + 1;
  }
  return out + ".\r\n";
}

struct reply {
  int code = 0;
  std::string text;  // every line, joined by '\n'
};

// One SMTP conversation: blocking calls, each bounded by the timeout (Asio's async operations
// run for at most that long on a private io_context; a late one closes the socket).
class session {
 public:
  explicit session(const settings& s) : s_(s), tls_context_(ssl::context::tls_client) {
    tls_context_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                             ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                             ssl::context::no_tlsv1_1);
    if (s.ca_file.empty()) {
      tls_context_.set_default_verify_paths();
    } else {
      tls_context_.load_verify_file(s.ca_file);
    }
    tls_context_.set_verify_mode(ssl::verify_peer);
  }

  void connect() {
    tcp::resolver resolver(io_);
    tcp::resolver::results_type endpoints;
    run([&](auto done) {
      resolver.async_resolve(s_.host, std::to_string(s_.port),
                             [&, done](error_code e, tcp::resolver::results_type r) {
                               endpoints = std::move(r);
                               done(e);
                             });
    }, "resolve");
    run([&](auto done) {
      asio::async_connect(socket_, endpoints,
                          [done](error_code e, const tcp::endpoint&) { done(e); });
    }, "connect");
    if (s_.implicit_tls) {
      start_tls();
    }
  }

  void start_tls() {
    tls_ = std::make_unique<ssl::stream<tcp::socket>>(std::move(socket_), tls_context_);
    // SNI (SSL_set_tlsext_host_name, spelled out: the macro's C cast does not compile here).
    if (SSL_ctrl(tls_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(s_.host.c_str())) != 1) {
      throw std::runtime_error("TLS: cannot set the server name");
    }
    tls_->set_verify_callback(ssl::host_name_verification(s_.host));
    run([&](auto done) {
      tls_->async_handshake(ssl::stream_base::client, [done](error_code e) { done(e); });
    }, "TLS handshake");
  }

  reply read_reply() {
    reply r;
    for (;;) {
      std::size_t n = 0;
      run([&](auto done) {
        const auto handler = [&, done](error_code e, std::size_t bytes) {
          n = bytes;
          done(e);
        };
        if (tls_) {
          asio::async_read_until(*tls_, buffer_, "\r\n", handler);
        } else {
          asio::async_read_until(socket_, buffer_, "\r\n", handler);
        }
      }, "read");
      std::string line(asio::buffers_begin(buffer_.data()),
                       asio::buffers_begin(buffer_.data()) + static_cast<std::ptrdiff_t>(n - 2));
      buffer_.consume(n);
      if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0]))) {
        throw std::runtime_error("malformed reply: " + line.substr(0, 200));
      }
      r.code = std::stoi(line.substr(0, 3));
      r.text += (r.text.empty() ? "" : "\n") + line;
      if (line.size() == 3 || line[3] != '-') {
        return r;
      }
    }
  }

  void write(const std::string& data) {
    run([&](auto done) {
      const auto handler = [done](error_code e, std::size_t) { done(e); };
      if (tls_) {
        asio::async_write(*tls_, asio::buffer(data), handler);
      } else {
        asio::async_write(socket_, asio::buffer(data), handler);
      }
    }, "write");
  }

  // Sends a command and requires a reply code in [lo, hi]; `shown` replaces the command in errors
  // (credentials).
  reply command(const std::string& line, int lo, int hi, std::string_view shown = {}) {
    write(line + "\r\n");
    return expect(lo, hi, shown.empty() ? std::string_view(line) : shown);
  }

  reply expect(int lo, int hi, std::string_view after) {
    auto r = read_reply();
    if (r.code < lo || r.code > hi) {
      throw std::runtime_error(std::string(after) + ": " + r.text.substr(0, 500));
    }
    return r;
  }

  bool secure() const { return tls_ != nullptr; }

 private:
  // Runs one asynchronous step to completion or the timeout.
  template <class Start>
  void run(Start start, const char* what) {
    std::optional<error_code> result;
    start([&result](error_code e) { result = e; });
    io_.restart();
    io_.run_for(s_.timeout);
    if (!result) {
      error_code ignored;
      socket_.close(ignored);
      if (tls_) {
        tls_->next_layer().close(ignored);
      }
      io_.restart();
      io_.run();  // lets the cancelled operation finish before its state goes away
      throw std::runtime_error(std::string(what) + ": timed out");
    }
    if (*result) {
      throw std::runtime_error(std::string(what) + ": " + result->message());
    }
  }

  const settings& s_;
  asio::io_context io_;
  ssl::context tls_context_;
  tcp::socket socket_{io_};
  std::unique_ptr<ssl::stream<tcp::socket>> tls_;
  asio::streambuf buffer_{max_reply_bytes};
};

bool offers(const reply& ehlo, std::string_view keyword) {
  std::size_t start = 0;
  while (start < ehlo.text.size()) {
    auto end = ehlo.text.find('\n', start);
    if (end == std::string::npos) {
      end = ehlo.text.size();
    }
    std::string line = ehlo.text.substr(start, end - start);
    for (auto& c : line) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    // "250-STARTTLS", "250 AUTH PLAIN LOGIN": the keyword as a word after the code.
    if (line.size() > 4 && (" " + line.substr(4) + " ").find(" " + std::string(keyword) + " ") !=
                               std::string::npos) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

}  // namespace

expected<settings, std::string> parse_url(std::string_view url) {
  settings s;
  if (url.starts_with("smtps://")) {
    s.implicit_tls = true;
    s.port = 465;
    url.remove_prefix(8);
  } else if (url.starts_with("smtp://")) {
    url.remove_prefix(7);
  } else {
    return unexpected<std::string>("must start with smtp:// (STARTTLS) or smtps:// (TLS)");
  }
  if (const auto slash = url.find('/'); slash != std::string_view::npos) {
    if (url.substr(slash) != "/") {
      return unexpected<std::string>("must have no path");
    }
    url = url.substr(0, slash);
  }
  if (const auto at = url.rfind('@'); at != std::string_view::npos) {
    const auto credentials = url.substr(0, at);
    url.remove_prefix(at + 1);
    const auto colon = credentials.find(':');
    const auto user = percent_decoded(credentials.substr(0, colon));
    const auto password = percent_decoded(
        colon == std::string_view::npos ? std::string_view() : credentials.substr(colon + 1));
    if (!user || !password || user->empty()) {
      return unexpected<std::string>("has a malformed user or password (percent-encode @ : / %)");
    }
    s.user = *user;
    s.password = *password;
  }
  if (const auto colon = url.rfind(':'); colon != std::string_view::npos && url.back() != ']') {
    const auto port = url.substr(colon + 1);
    url = url.substr(0, colon);
    int value = 0;
    for (const char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || (value = value * 10 + (c - '0')) > 65535) {
        return unexpected<std::string>("has a bad port");
      }
    }
    if (port.empty() || value == 0) {
      return unexpected<std::string>("has a bad port");
    }
    s.port = static_cast<std::uint16_t>(value);
  }
  if (url.size() > 2 && url.front() == '[' && url.back() == ']') {
    url = url.substr(1, url.size() - 2);
  }
  if (url.empty()) {
    return unexpected<std::string>("has no host");
  }
  s.host = std::string(url);
  return s;
}

std::string send(const settings& s, const message& m) {
  if (has_line_break(m.to) || has_line_break(m.subject) || has_line_break(s.from)) {
    return "a line break in the recipient, subject or sender";
  }
  try {
    session c(s);
    c.connect();
    c.expect(220, 220, "greeting");
    const std::string helo = "EHLO " + domain_of(s.from);
    auto ehlo = c.command(helo, 250, 250);
    if (!c.secure()) {
      if (!offers(ehlo, "STARTTLS")) {
        return "the server does not offer STARTTLS (use smtps:// for implicit TLS)";
      }
      c.command("STARTTLS", 220, 220);
      c.start_tls();
      ehlo = c.command(helo, 250, 250);
    }
    if (!s.user.empty()) {
      if (offers(ehlo, "PLAIN")) {
        c.command("AUTH PLAIN " + base64(std::string(1, '\0') + s.user + '\0' + s.password), 235,
                  235, "AUTH PLAIN");
      } else if (offers(ehlo, "LOGIN")) {
        c.command("AUTH LOGIN", 334, 334);
        c.command(base64(s.user), 334, 334, "AUTH LOGIN user");
        c.command(base64(s.password), 235, 235, "AUTH LOGIN password");
      } else {
        return "the server offers neither AUTH PLAIN nor AUTH LOGIN";
      }
    }
    c.command("MAIL FROM:<" + s.from + ">", 250, 250);
    c.command("RCPT TO:<" + m.to + ">", 250, 251);
    c.command("DATA", 354, 354);
    c.write(data_of(s, m));
    c.expect(250, 250, "message");
    try {
      c.command("QUIT", 221, 221);
    } catch (const std::exception&) {
      // The message was accepted; a server that hangs up on QUIT changes nothing.
    }
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

outbox::outbox(settings s, reports r)
    : settings_(std::move(s)), reports_(std::move(r)), thread_([this] { run(); }) {}

outbox::~outbox() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void outbox::post(message m) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && queue_.size() < max_queued) {
      queue_.push_back(std::move(m));
      wake_.notify_all();
      return;
    }
  }
  reports_.failed(m, "the outbox is full or stopping", 0, true);
}

void outbox::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) {
      for (const auto& m : queue_) {
        reports_.failed(m, "the dashboard stopped before sending", 0, true);
      }
      return;
    }
    message m = std::move(queue_.front());
    queue_.pop_front();
    for (int attempt = 1;; ++attempt) {
      lock.unlock();
      const std::string error = send(settings_, m);
      lock.lock();
      if (error.empty()) {
        reports_.sent(m);
        break;
      }
      const bool last = attempt == max_attempts || stopping_;
      reports_.failed(m, error, attempt, last);
      if (last) {
        break;
      }
      // 1, 2, 4, 8 s; a stop request ends the wait.
      wake_.wait_for(lock, std::chrono::seconds(1 << (attempt - 1)), [&] { return stopping_; });
    }
  }
}

}  // namespace plumb::smtp
