// Mail over SMTP against a real server process (tests/e2e/smtp_server.py, aiosmtpd): the client
// with STARTTLS and implicit TLS, AUTH PLAIN and LOGIN, and its refusals; then the dashboard's
// password reset, whose mail arrives with a link that works, and whose token stays out of the log.
#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "plumb/json/value.hpp"
#include "plumb/smtp/client.hpp"
#include "plumb/storage/migrations.hpp"
#include "plumb/storage/tenants.hpp"
#include "plumb/test_support/environment.hpp"
#include "plumb/test_support/process.hpp"

using namespace plumb;
using namespace plumb::test_support;

namespace {

const std::map<std::string, std::string> tool_env{{"PATH", "/usr/bin:/bin"}};

// A throwaway directory with a self-signed certificate for "localhost".
struct certificate {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / unique_name("plumb-smtp-");
  std::string cert = (dir / "cert.pem").string();
  std::string key = (dir / "key.pem").string();

  certificate() {
    std::filesystem::create_directories(dir);
    const auto r = run("/usr/bin/openssl",
                       {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout", key,
                        "-out", cert},
                       tool_env);
    REQUIRE(r.status == 0);
  }
  ~certificate() { std::filesystem::remove_all(dir); }
};

struct smtp_server {
  certificate tls;
  process server{"/usr/bin/python3",
                 {std::string(PLUMB_SOURCE_DIR) + "/tests/e2e/smtp_server.py", tls.cert, tls.key,
                  "mailer", "p@ss:word"},
                 tool_env};
  std::uint16_t port = server.wait_for_port();
  std::uint16_t tls_port = port_named("tls_port");

  // A port from the server's "listening" line.
  std::uint16_t port_named(const std::string& name) const {
    const auto out = server.output();
    const auto at = out.find("\"" + name + "\":");
    if (at == std::string::npos) {
      throw std::runtime_error("no " + name + " in: " + out);
    }
    return static_cast<std::uint16_t>(std::stoi(out.substr(at + name.size() + 3)));
  }

  // The messages received so far: {"to", "data"} of each JSON line the server printed.
  std::vector<std::pair<std::string, std::string>> mails() const {
    std::vector<std::pair<std::string, std::string>> out;
    const auto text = server.output();
    std::size_t start = 0;
    while (start < text.size()) {
      auto end = text.find('\n', start);
      if (end == std::string::npos) {
        break;
      }
      if (const auto line = json::parse(text.substr(start, end - start));
          line && line->find("msg") && *line->find("msg")->as_string() == "mail") {
        out.emplace_back(*(*line->find("to")->as_array())[0].as_string(),
                         *line->find("data")->as_string());
      }
      start = end + 1;
    }
    return out;
  }

  // Waits (bounded) for the n-th message.
  std::pair<std::string, std::string> wait_for_mail(std::size_t n) const {
    for (int i = 0; i < 400; ++i) {
      if (const auto m = mails(); m.size() >= n) {
        return m[n - 1];
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL("no mail " << n << " within 20 s; server output:\n" << server.output());
    return {};
  }

  smtp::settings settings(bool implicit_tls, std::string password = "p@ss:word") const {
    smtp::settings s;
    s.implicit_tls = implicit_tls;
    s.host = "localhost";
    s.port = implicit_tls ? tls_port : port;
    s.user = "mailer";
    s.password = std::move(password);
    s.from = "plumb@plumb.test";
    s.ca_file = tls.cert;
    s.timeout = std::chrono::seconds(10);
    return s;
  }
};

}  // namespace

TEST_CASE("smtp urls name the security, the server and the credentials") {
  const auto s = smtp::parse_url("smtp://mailer:p%40ss%3Aword@mail.example.com:2525");
  REQUIRE(s);
  CHECK_FALSE(s->implicit_tls);
  CHECK(s->host == "mail.example.com");
  CHECK(s->port == 2525);
  CHECK(s->user == "mailer");
  CHECK(s->password == "p@ss:word");
  const auto tls = smtp::parse_url("smtps://mail.example.com");
  REQUIRE(tls);
  CHECK(tls->implicit_tls);
  CHECK(tls->port == 465);
  CHECK(tls->user.empty());
  CHECK(smtp::parse_url("smtp://mail.example.com")->port == 587);
  for (const auto* bad : {"http://mail.example.com", "smtp://", "smtp://host:0", "smtp://host:99999",
                          "smtp://host/path", "smtp://:pw@host", "smtp://u:%zz@host"}) {
    INFO(bad);
    CHECK_FALSE(smtp::parse_url(bad));
  }
}

TEST_CASE("the smtp client delivers over STARTTLS and implicit TLS, and says why it cannot") {
  smtp_server server;
  // STARTTLS, then AUTH PLAIN (offered first).
  CHECK(smtp::send(server.settings(false), {"one@plumb.test", "First", "Hello\n.dotted line\n"}) == "");
  const auto first = server.wait_for_mail(1);
  CHECK(first.first == "one@plumb.test");
  CHECK(first.second.find("Subject: First") != std::string::npos);
  CHECK(first.second.find("\n.dotted line") != std::string::npos);  // dot-stuffing undone
  // Implicit TLS; this port offers AUTH LOGIN only.
  CHECK(smtp::send(server.settings(true), {"two@plumb.test", "Zweite Grüße", "Hallo\n"}) == "");
  const auto second = server.wait_for_mail(2);
  CHECK(second.first == "two@plumb.test");
  CHECK(second.second.find("Subject: =?UTF-8?B?") != std::string::npos);

  // A wrong password, an untrusted certificate, a header injection: errors, nothing delivered.
  // (aiosmtpd 1.4 answers a rejected AUTH late or not at all: the error may be the timeout.)
  CHECK_FALSE(smtp::send(server.settings(false, "wrong"), {"x@plumb.test", "S", "T"}).empty());
  CHECK_FALSE(smtp::send(server.settings(true, "wrong"), {"x@plumb.test", "S", "T"}).empty());
  auto untrusted = server.settings(false);
  untrusted.ca_file.clear();  // the system's CAs do not know the test certificate
  CHECK_THAT(smtp::send(untrusted, {"x@plumb.test", "S", "T"}), Catch::Contains("TLS handshake"));
  CHECK_THAT(smtp::send(server.settings(false), {"x@plumb.test", "S\r\nBcc: y@plumb.test", "T"}),
             Catch::Contains("line break"));
  CHECK(server.mails().size() == 2);
}

TEST_CASE("a password reset mail arrives by SMTP with a link that works") {
  smtp_server server;
  scoped_database db;
  {
    pqxx::connection conn(db.dsn());
    storage::migrate(conn);
    pqxx::work tx(conn);
    storage::create_account(tx, "reset@plumb.test", "the old long password");
    tx.commit();
  }
  const std::string origin = "http://127.0.0.1:8490";
  process dashboard(service_binary("dashboard"), {},
                    {{"PLUMB_PG_DSN", db.dsn()},
                     {"PLUMB_REDIS_URL", redis_url()},
                     {"PLUMB_REDIS_PREFIX", unique_name("e2e:") + ":"},
                     {"PLUMB_DASHBOARD_LISTEN", "127.0.0.1:0"},
                     {"PLUMB_DASHBOARD_URL", origin},
                     {"PLUMB_DASHBOARD_SECRET", "e2e-secret-e2e-secret-e2e-secret-e2e"},
                     {"PLUMB_SMTP_URL", "smtp://mailer:p%40ss%3Aword@localhost:" +
                                            std::to_string(server.port)},
                     {"PLUMB_SMTP_FROM", "plumb@plumb.test"},
                     {"PLUMB_SMTP_CA_FILE", server.tls.cert}});
  const auto port = dashboard.wait_for_port();
  const std::map<std::string, std::string> json_headers{{"Content-Type", "application/json"},
                                                        {"Origin", origin}};
  CHECK(http_request("POST", port, "/api/auth/password-reset", R"({"email":"reset@plumb.test"})",
                     json_headers)
            .status == 202);
  const auto [to, data] = server.wait_for_mail(1);
  INFO(data);
  CHECK(to == "reset@plumb.test");
  const std::string marker = origin + "/reset-password#token=";
  const auto at = data.find(marker);
  REQUIRE(at != std::string::npos);
  const auto token_start = at + marker.size();
  const std::string token = data.substr(token_start, data.find_first_of("\r\n", token_start) - token_start);
  REQUIRE(token.size() >= 20);

  CHECK(http_request("POST", port, "/api/auth/password-reset/confirm",
                     R"({"token":")" + token + R"(","new_password":"the new long password"})",
                     json_headers)
            .status == 204);
  CHECK(http_request("POST", port, "/api/auth/login",
                     R"({"email":"reset@plumb.test","password":"the new long password"})",
                     json_headers)
            .status == 200);
  // Delivered: the log says so, and never shows the token.
  const auto log = dashboard.output();
  CHECK(log.find("\"mail sent\"") != std::string::npos);
  CHECK(log.find(token) == std::string::npos);
}
