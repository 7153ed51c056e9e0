#include "plumb/test_support/environment.hpp"

#include <cstdlib>
#include <random>
#include <stdexcept>

namespace plumb::test_support {
namespace {

std::string required(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    throw std::runtime_error(std::string(name) +
                             " is not set: run integration tests through 'scripts/plumb test'");
  }
  return value;
}

}  // namespace

std::string pg_admin_dsn() { return required("PLUMB_TEST_PG_DSN"); }
std::string redis_url() { return required("PLUMB_TEST_REDIS_URL"); }
std::string bin_dir() { return required("PLUMB_TEST_BIN_DIR"); }

std::string service_binary(std::string_view service) {
  const std::string name(service);
  return bin_dir() + "/services/" + name + "/" + (name == "plumbctl" ? name : "plumb-" + name);
}

std::string unique_name(std::string_view prefix) {
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 engine{std::random_device{}()};
  std::uniform_int_distribution<std::size_t> pick(0, sizeof(alphabet) - 2);
  std::string name(prefix);
  for (int i = 0; i < 12; ++i) {
    name.push_back(alphabet[pick(engine)]);
  }
  return name;
}

}  // namespace plumb::test_support
