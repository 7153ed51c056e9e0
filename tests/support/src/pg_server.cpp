#include "plumb/test_support/pg_server.hpp"

#include <pwd.h>
#include <unistd.h>

#include <map>
#include <stdexcept>
#include <vector>

#include "plumb/test_support/process.hpp"

namespace plumb::test_support {
namespace {

const std::string bin_dir = "/usr/lib/postgresql/15/bin/";

// The command line that runs `program args` as the postgres user when we are root.
std::pair<std::string, std::vector<std::string>> as_owner(const std::string& program,
                                                          std::vector<std::string> args) {
  if (geteuid() != 0) {
    return {program, std::move(args)};
  }
  args.insert(args.begin(), {"-u", "postgres", "--", program});
  return {"/usr/sbin/runuser", std::move(args)};
}

}  // namespace

pg_server::pg_server() : dir_("plumb-pg-"), port_(free_port()) {
  if (geteuid() == 0) {
    const passwd* owner = getpwnam("postgres");
    if (owner == nullptr || chown(dir_.path().c_str(), owner->pw_uid, owner->pw_gid) != 0) {
      throw std::runtime_error("cannot hand " + dir_.path().string() + " to the postgres user");
    }
  }
  const auto [program, args] =
      as_owner(bin_dir + "initdb", {"-D", (dir_.path() / "data").string(), "--username=plumb",
                                    "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"});
  const auto result = run(program, args, {});
  if (result.status != 0) {
    throw std::runtime_error("initdb failed: " + result.err);
  }
  start();
}

pg_server::~pg_server() {
  if (running_) {
    stop();
  }
}

std::string pg_server::dsn() const {
  return "postgresql://plumb@127.0.0.1:" + std::to_string(port_) + "/postgres";
}

// pg_ctl rather than a child postgres: runuser does not pass our signals on, and pg_ctl's -w waits
// for exactly the states we need (accepting connections; fully shut down).
void pg_server::start() {
  // fsync off: these tests stop the server cleanly; durability across power loss is not their
  // subject, and it keeps them fast on a shared disk.
  const auto [program, args] = as_owner(
      bin_dir + "pg_ctl",
      {"start", "-w", "-t", "60", "-D", (dir_.path() / "data").string(), "-l", (dir_.path() / "log").string(),
       "-o", "-p " + std::to_string(port_) + " -k " + dir_.path().string() +
                 " -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"});
  const auto result = run(program, args, {});
  if (result.status != 0) {
    throw std::runtime_error("postgres did not start: " + result.out + result.err);
  }
  running_ = true;
}

void pg_server::stop() {
  const auto [program, args] =
      as_owner(bin_dir + "pg_ctl", {"stop", "-w", "-t", "60", "-m", "fast", "-D", (dir_.path() / "data").string()});
  const auto result = run(program, args, {});
  if (result.status != 0) {
    throw std::runtime_error("postgres did not stop: " + result.out + result.err);
  }
  running_ = false;
}

}  // namespace plumb::test_support
