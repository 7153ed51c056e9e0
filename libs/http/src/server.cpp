#include "plumb/http/server.hpp"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "session.hpp"

namespace plumb::http {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// After a failed accept (typically EMFILE: out of file descriptors) retrying at once would spin
// a core; wait this long so closing connections can free descriptors first.
constexpr std::chrono::milliseconds accept_retry_delay{100};

[[noreturn]] void throw_system_error(const beast::error_code& ec, const std::string& what) {
  throw std::system_error(std::error_code(ec), "plumb::http::server: " + what);
}

// Where a session's handlers run. With one I/O thread, on the io_context's own executor: handlers
// are serialised by the single thread, and a strand would only add a lock and a queue hop to every
// completion. With several, on a strand per connection. Both are concrete executor types (no
// type-erased any_io_executor on the per-request path).
using io_executor = net::io_context::executor_type;
using strand_executor = net::strand<io_executor>;

// Accepts connections and starts one session per connection.
class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(net::io_context& ioc, const tcp::endpoint& endpoint,
           std::shared_ptr<detail::server_state> state, bool single_threaded)
      : ioc_(ioc),
        single_threaded_(single_threaded),
        acceptor_(net::make_strand(ioc)),
        retry_timer_(acceptor_.get_executor()),
        state_(std::move(state)) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) {
      throw_system_error(ec, "open");
    }
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (ec) {
      throw_system_error(ec, "set reuse_address");
    }
    acceptor_.bind(endpoint, ec);
    if (ec) {
      throw_system_error(
          ec, "bind " + endpoint.address().to_string() + ":" + std::to_string(endpoint.port()));
    }
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      throw_system_error(ec, "listen");
    }
    port_ = acceptor_.local_endpoint().port();
  }

  std::uint16_t port() const { return port_; }

  void run() {
    net::dispatch(acceptor_.get_executor(),
                  beast::bind_front_handler(&listener::do_accept, shared_from_this()));
  }

  // Closes the acceptor on its strand; the future is ready once it is closed.
  std::future<void> close() {
    auto done = std::make_shared<std::promise<void>>();
    std::future<void> closed = done->get_future();
    net::post(acceptor_.get_executor(), [self = shared_from_this(), done] {
      beast::error_code ec;
      self->acceptor_.close(ec);  // a close error leaves nothing to undo
      self->retry_timer_.cancel();
      done->set_value();
    });
    return closed;
  }

 private:
  void do_accept() {
    if (single_threaded_) {
      acceptor_.async_accept(
          ioc_.get_executor(),
          beast::bind_front_handler(&listener::on_accept<io_executor>, shared_from_this()));
    } else {
      acceptor_.async_accept(
          net::make_strand(ioc_),
          beast::bind_front_handler(&listener::on_accept<strand_executor>, shared_from_this()));
    }
  }

  template <class Executor>
  void on_accept(beast::error_code ec, net::basic_stream_socket<tcp, Executor> socket) {
    if (!acceptor_.is_open()) {
      return;  // stopping
    }
    if (ec) {
      retry_timer_.expires_after(accept_retry_delay);
      retry_timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec && self->acceptor_.is_open()) {
          self->do_accept();
        }
      });
      return;
    }
    // The peer address is read once, here: later the peer may be gone and the call would fail.
    beast::error_code peer_ec;
    const tcp::endpoint peer = socket.remote_endpoint(peer_ec);
    if (!peer_ec) {
      using stream = beast::basic_stream<tcp, Executor>;
      std::make_shared<detail::session<stream>>(stream(std::move(socket)), state_,
                                                peer.address().to_string())
          ->run();
    }
    do_accept();
  }

  net::io_context& ioc_;
  bool single_threaded_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  std::shared_ptr<detail::server_state> state_;
  std::uint16_t port_ = 0;
};

}  // namespace

struct server::impl {
  enum class phase { created, running, stopped };

  server_options options;
  router routes;

  std::mutex mutex;  // serializes start() and stop()
  phase state = phase::created;
  std::uint16_t port = 0;

  // Declaration order is destruction order reversed: the pool and listener (whose pending work
  // holds sessions with sockets of this io_context) must go before the io_context itself.
  std::optional<net::io_context> ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<net::thread_pool> pool;
  std::shared_ptr<detail::server_state> shared;
  std::shared_ptr<listener> acceptor;
  std::vector<std::thread> io_threads;
};

server::server(server_options options, router routes) : impl_(std::make_unique<impl>()) {
  impl_->options = std::move(options);
  impl_->routes = std::move(routes);
}

server::~server() {
  stop();
}

void server::start() {
  const std::lock_guard lock(impl_->mutex);
  if (impl_->state != impl::phase::created) {
    throw std::logic_error(
        "plumb::http::server: start() called twice (a server is not restartable)");
  }
  for (const auto& h : impl_->options.default_headers) {
    if (!detail::valid_header_name(h.name) || !detail::valid_header_value(h.value)) {
      throw std::invalid_argument("plumb::http::server: invalid default header '" + h.name + "'");
    }
  }
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(impl_->options.address, ec);
  if (ec) {
    throw_system_error(ec, "bad address '" + impl_->options.address + "'");
  }

  // At least one thread each: with zero nothing would ever run.
  const unsigned io_count = std::max(1U, impl_->options.io_threads);
  const unsigned blocking_count = std::max(1U, impl_->options.blocking_threads);

  impl_->ioc.emplace(static_cast<int>(io_count));
  impl_->pool.emplace(blocking_count);
  impl_->shared = std::make_shared<detail::server_state>(
      std::move(impl_->options), std::move(impl_->routes), impl_->pool->get_executor());
  try {
    impl_->acceptor =
        std::make_shared<listener>(*impl_->ioc, tcp::endpoint(address, impl_->shared->options.port),
                                   impl_->shared, io_count == 1);
    if (impl_->shared->options.on_io_start) {
      impl_->shared->options.on_io_start(*impl_->ioc);
    }
  } catch (...) {
    // Leave nothing running behind a failed start; the exception is the caller's to report.
    impl_->pool->stop();
    impl_->pool->join();
    impl_->acceptor.reset();  // closes the listening socket when on_io_start threw
    impl_->state = impl::phase::stopped;
    throw;
  }
  impl_->port = impl_->acceptor->port();
  // Keeps run() returning only on stop(): a blocking handler posting its response back must find
  // the I/O threads still there even when no socket operation is pending.
  impl_->work.emplace(impl_->ioc->get_executor());
  impl_->acceptor->run();
  impl_->io_threads.reserve(io_count);
  for (unsigned i = 0; i < io_count; ++i) {
    impl_->io_threads.emplace_back([this] { impl_->ioc->run(); });
  }
  impl_->state = impl::phase::running;
}

std::uint16_t server::port() const {
  return impl_->port;
}

// Must not be called from a handler: it joins the threads handlers run on.
void server::stop(std::chrono::milliseconds grace) {
  const std::lock_guard lock(impl_->mutex);
  if (impl_->state != impl::phase::running) {
    impl_->state = impl::phase::stopped;
    return;
  }
  impl_->state = impl::phase::stopped;
  const auto deadline = std::chrono::steady_clock::now() + grace;
  const auto remaining = [&] {
    return std::max(std::chrono::milliseconds{0},
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()));
  };

  impl_->shared->stopping.store(true);
  impl_->acceptor->close().wait_for(remaining());
  impl_->shared->in_flight.wait_idle(remaining());
  // Past the grace period responses completed later are dropped; from here on no responder
  // touches a session or the io_context, so both can be destroyed below.
  impl_->shared->gate->close();

  impl_->work.reset();
  impl_->ioc->stop();
  for (auto& t : impl_->io_threads) {
    t.join();
  }
  impl_->io_threads.clear();
  if (impl_->shared->options.on_io_stop) {
    impl_->shared->options.on_io_stop();
  }
  // A blocking handler still running past the grace period is waited for here: a thread cannot
  // be cancelled safely. Handlers not yet started are dropped.
  impl_->pool->stop();
  impl_->pool->join();
  // Destroying pending work closes every remaining connection (idle keep-alive ones included).
  impl_->pool.reset();
  impl_->acceptor.reset();
  impl_->ioc.reset();
}

}  // namespace plumb::http
