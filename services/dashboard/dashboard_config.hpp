#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "plumb/config/env_reader.hpp"
#include "plumb/core/ip_address.hpp"
#include "plumb/runtime/service.hpp"
#include "plumb/smtp/client.hpp"

namespace plumb::dashboard {

struct dashboard_config {
  runtime::common_settings common;
  std::string pg_dsn;
  config::listen_address listen;
  unsigned io_threads = 2;
  // Threads that run database-backed handlers; also the PostgreSQL and Redis pool sizes.
  unsigned query_threads = 8;
  std::chrono::milliseconds statement_timeout{15'000};
  // Where users reach the dashboard ("https://plumb.example.com"): the only Origin accepted on
  // state-changing requests, and the base of links in emails.
  std::string public_url;
  // Where sites load the tracker from (the tracking snippet).
  std::string collector_url;
  // Keys the hashes that name rate-limit counters, so stored counters reveal no address.
  std::string secret;
  std::chrono::milliseconds session_idle{std::chrono::hours(24)};
  std::chrono::milliseconds session_absolute{std::chrono::hours(24 * 14)};
  std::vector<core::cidr> trusted_proxies;  // peers whose X-Forwarded-For is believed
  // Where password-reset and invitation mails go out (PLUMB_SMTP_URL, PLUMB_SMTP_FROM,
  // PLUMB_SMTP_CA_FILE); none: they are logged for the operator to deliver.
  std::optional<smtp::settings> smtp;

  static dashboard_config from_env(config::env_reader& env);
  static std::string help();
};

}  // namespace plumb::dashboard
