#pragma once
// Messages to users: password resets and invitations. main.cpp sends them by SMTP when
// PLUMB_SMTP_URL is set (plumb::smtp::outbox, in the background) and otherwise logs each one for
// the operator to deliver (README, "Mail"). Tests capture them.

#include <functional>
#include <string>

namespace plumb::dashboard {

struct mail {
  std::string to;
  std::string subject;
  std::string link;  // the one thing the recipient needs
};

using mail_sender = std::function<void(const mail&)>;

// The plain-text body of a mail: the subject's request and its link.
inline std::string mail_text(const mail& m) {
  return m.subject + ": open this link.\n\n" + m.link +
         "\n\nIf you did not expect this mail, you can ignore it.\n";
}

}  // namespace plumb::dashboard
