#include "plumb/test_support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstring>
#include <regex>
#include <stdexcept>

namespace plumb::test_support {
namespace {

std::vector<std::string> env_strings(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  for (const auto& [k, v] : env) {
    out.push_back(k + "=" + v);
  }
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

int spawn(const std::string& path, const std::vector<std::string>& args,
          const std::map<std::string, std::string>& env, int stdout_fd, int stderr_fd) {
  std::vector<std::string> argv_strings{path};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  auto envp_strings = env_strings(env);
  auto argv = c_strings(argv_strings);
  auto envp = c_strings(envp_strings);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
  // Test binaries block no signals the child would inherit, but reset the mask to be sure.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, path.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    throw std::runtime_error("cannot start " + path + ": " + std::strerror(rc));
  }
  return pid;
}

std::string read_all(int fd) {
  std::string out;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) {
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

int decode_status(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  return 128 + WTERMSIG(status);
}

}  // namespace

process::process(std::string path, std::vector<std::string> args,
                 std::map<std::string, std::string> env) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  pid_ = spawn(path, args, env, pipe_fds[1], pipe_fds[1]);
  close(pipe_fds[1]);
  stderr_fd_ = pipe_fds[0];
  reader_ = std::thread([this] {
    char buffer[4096];
    ssize_t n = 0;
    while ((n = read(stderr_fd_, buffer, sizeof buffer)) > 0) {
      const std::lock_guard lock(mutex_);
      output_.append(buffer, static_cast<std::size_t>(n));
    }
  });
}

process::~process() {
  stop(SIGTERM);
  if (reader_.joinable()) {
    reader_.join();
  }
  if (stderr_fd_ >= 0) {
    close(stderr_fd_);
  }
}

std::string process::output() const {
  const std::lock_guard lock(mutex_);
  return output_;
}

std::uint16_t process::wait_for_port(std::chrono::milliseconds timeout) {
  static const std::regex listening(R"re("msg":"listening".*"port":(\d+))re");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch match;
    const std::string text = output();
    if (std::regex_search(text, match, listening)) {
      return static_cast<std::uint16_t>(std::stoi(match[1].str()));
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      status_ = decode_status(status);
      throw std::runtime_error("process exited with status " + std::to_string(status_) +
                               " before listening:\n" + output());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("process did not report a port in time:\n" + output());
}

int process::stop(int signal, std::chrono::milliseconds timeout) {
  if (exited_ || pid_ <= 0) {
    return status_;
  }
  kill(pid_, signal);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  exited_ = true;
  status_ = decode_status(status);
  return status_;
}

run_result run(const std::string& path, const std::vector<std::string>& args,
               const std::map<std::string, std::string>& env) {
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  const int pid = spawn(path, args, env, out_pipe[1], err_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  run_result result;
  std::thread err_reader([&] { result.err = read_all(err_pipe[0]); });
  result.out = read_all(out_pipe[0]);
  err_reader.join();
  close(out_pipe[0]);
  close(err_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.status = decode_status(status);
  return result;
}

http_reply http_request(const std::string& method, std::uint16_t port, const std::string& target,
                        const std::string& body, const std::map<std::string, std::string>& headers) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(30));
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) {
    req.set(name, value);
  }
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  http_reply reply;
  reply.status = res.result_int();
  reply.body = res.body();
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (char& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    reply.headers[name] = std::string(field.value());
  }
  beast::error_code ignored;
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  return reply;
}

}  // namespace plumb::test_support
