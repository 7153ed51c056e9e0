#include "plumb/test_support/loopback_port.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace plumb::test_support {

loopback_port::loopback_port(mode m) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      (m == mode::silent && ::listen(fd_, SOMAXCONN) != 0)) {
    const std::string error = std::strerror(errno);
    if (fd_ >= 0) {
      ::close(fd_);
    }
    throw std::runtime_error("cannot bind a loopback port: " + error);
  }
  port_ = ntohs(address.sin_port);
}

loopback_port::~loopback_port() { ::close(fd_); }

int loopback_port::accept_one() const {
  const int fd = ::accept(fd_, nullptr, nullptr);
  if (fd < 0) {
    throw std::runtime_error(std::string("accept failed: ") + std::strerror(errno));
  }
  return fd;
}

}  // namespace plumb::test_support
