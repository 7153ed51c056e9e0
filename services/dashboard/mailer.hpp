#pragma once
// Messages to users: password resets and invitations. Plumb has no SMTP client yet; main.cpp
// logs each message for the operator to deliver (README, "Dashboard API"). Tests capture them.

#include <functional>
#include <string>

namespace plumb::dashboard {

struct mail {
  std::string to;
  std::string subject;
  std::string link;  // the one thing the recipient needs
};

using mail_sender = std::function<void(const mail&)>;

}  // namespace plumb::dashboard
