#pragma once
// A pipelined, non-blocking Redis client that runs inside an Asio io_context which already
// exists (the HTTP server's), so that a component answering from the I/O threads needs no
// thread hand-off: commands are written and replies parsed (hiredis's redisReader, no
// connection of its own) in the same event loop. Batching is natural: whatever is submitted
// while a write is in flight, or in the same turn of the event loop, goes in the next write.
// The io_context type stays out of this header; Asio is a private dependency of plumb::redis.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "plumb/redis/connection.hpp"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace plumb::redis {

struct async_pipeline_options {
  // A connection attempt, or the oldest unanswered command, taking longer than this fails the
  // connection (and with it every unanswered command). Checked every quarter of it (at most
  // every 100 ms); an unanswered command fails only when a second check finds that nothing was
  // read from Redis in between (its reply may be read already and waiting for the I/O thread),
  // so a failure is noticed up to two such intervals later.
  std::chrono::milliseconds timeout{1'000};
  // After a failure the pipeline reconnects this often until it succeeds.
  std::chrono::milliseconds retry_interval{1'000};
  // True when exactly one thread runs the io_context: the pipeline then runs on the io_context's
  // own executor instead of a strand (no lock or allocation per submission). With several
  // threads it must stay false.
  bool single_threaded = false;
  // Called on the pipeline's executor once Redis has answered every command of one write (one
  // round trip, however many submissions it carried): how many commands it held and how long
  // since it was written. For latency and batch-size metrics; may be empty; must not throw.
  std::function<void(std::size_t commands, std::chrono::steady_clock::duration round_trip)>
      on_round_trip = {};
};

namespace detail {
struct async_pipeline_state;
}  // namespace detail

class async_pipeline {
 public:
  // Called once per submission, on the pipeline's executor (an I/O thread of the io_context):
  // `replies` holds one reply per command in order (Redis error replies included) when `failure`
  // is empty. Otherwise the connection failed, timed out or was closed (or was not ready when
  // the submission was taken): `replies` holds the replies read before that, and the commands
  // after them may or may not have run. Must not throw.
  using completion = std::function<void(std::span<const reply> replies, std::string_view failure)>;

  // Starts connecting at once (resolve, connect, AUTH and SELECT when the endpoint has them).
  async_pipeline(boost::asio::io_context& ioc, endpoint where, async_pipeline_options options = {});
  // Calls close() if it was not called.
  ~async_pipeline();
  async_pipeline(const async_pipeline&) = delete;
  async_pipeline& operator=(const async_pipeline&) = delete;

  // True while connected and usable; from any thread. A submission taken while false fails.
  bool ready() const;
  // Commands submitted and not yet completed (for bounding memory); from any thread.
  std::size_t pending_commands() const;

  // Queues `command_count` commands in Redis protocol form (append_command); from any thread.
  // `done` is called exactly once, on the pipeline's executor; inside this call only when the
  // submission fails at once (not ready, or closed) and the call is made on that executor.
  void submit(std::string protocol, std::size_t command_count, completion done);

  // Fails every unfinished submission with "closed" (their completions run inside this call) and
  // destroys the socket and timers. Call it only while no thread runs the io_context (after its
  // threads were joined, before it is destroyed). Later submissions fail at once.
  void close();

 private:
  std::shared_ptr<detail::async_pipeline_state> impl_;
};

}  // namespace plumb::redis
