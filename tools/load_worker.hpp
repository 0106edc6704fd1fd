// One load-generator thread: its io_context, its share of the connections, the run's clock
// (connect, warm-up, measured window, end), the open-loop schedule, the echo checks and the
// statistics. Connections (load_h1.cpp, load_h2.cpp) own sockets; the worker owns the rules.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "tools/load_histogram.hpp"
#include "tools/load_options.hpp"
#include "tools/load_payload.hpp"
#include "ws/frame.hpp"

namespace wsgate::tools {

using LoadClock = std::chrono::steady_clock;

struct LoadStats {
  LatencyHistogram latency;     // echo round trips in the measured window
  LatencyHistogram handshake;   // opening handshakes completed in the measured window
  std::uint64_t messages = 0;   // echoes received and checked in the measured window
  std::uint64_t handshakes = 0; // WebSockets opened in the measured window
  std::uint64_t established = 0;  // WebSockets open at the end of the connect phase (idle: at the end)
  std::uint64_t errors = 0;
  double establish_seconds = 0;   // idle: start until every WebSocket was open

  void merge(const LoadStats& other);
};

// One WebSocket as the worker sees it, whatever carries it.
class LoadConnection;

struct EchoStream {
  LoadConnection* owner = nullptr;  // the connection carrying it
  std::uint32_t number = 0;        // stream number carried in payloads, unique in the run
  std::uint32_t slot = 0;          // index among the worker's streams (open-loop schedule)
  std::int32_t h2_stream_id = -1;  // h2: the HTTP/2 stream while one is open
  std::uint64_t next_send_seq = 0;
  std::uint64_t next_recv_seq = 0;
  LoadClock::time_point sent_at{};    // closed loop: when the outstanding message was queued
  LoadClock::time_point opened_at{};  // when the opening handshake started
  bool open = false;                  // handshake done, not closed
  bool close_sent = false;            // we sent a close frame (churn)
  bool close_received = false;        // the server's close frame arrived
  ws::FrameParser parser{ws::FrameParserOptions{.sender = ws::Sender::kServer}};

  void reset_for_reopen();
};

class LoadWorker;

// What the worker asks of a connection. Sends only queue bytes; the connection writes them.
class LoadConnection {
 public:
  virtual ~LoadConnection() = default;
  virtual void start() = 0;
  // Queues the stream's next message; false when the connection's send buffer is full (open loop:
  // the message stays owed and is sent from catch-up once writes drain).
  virtual bool send_message(EchoStream& stream) = 0;
  // Queues a close frame on the stream (churn: after its one echo).
  virtual void send_close(EchoStream& stream) = 0;
  // The server's close frame arrived on a stream that had sent one (churn).
  virtual void on_close_handshake_done(EchoStream& stream) = 0;
  // Writes what is queued, if no write is in flight.
  virtual void flush() = 0;
  // Closes the transport; no handler of this connection does anything afterwards.
  virtual void stop() = 0;
  virtual std::span<EchoStream> streams() = 0;

  bool connect_settled = false;  // the worker counted this connection's attempt as done
};

class LoadWorker {
 public:
  LoadWorker(const LoadOptions& options, boost::asio::ip::tcp::endpoint target, unsigned first_connection,
             unsigned connection_count, unsigned total_streams);
  ~LoadWorker();

  // Runs until the measured window ends or the time bound hits; returns the statistics.
  LoadStats run();

  boost::asio::io_context& io() { return io_; }
  const LoadOptions& options() const { return options_; }
  const boost::asio::ip::tcp::endpoint& target() const { return target_; }
  const PayloadPattern& pattern() const { return pattern_; }
  boost::asio::ssl::context* tls_context() { return tls_.get(); }
  bool stopping() const { return stopping_; }

  // --- called by connections ---
  // Feeds bytes received on a stream; checks every echo and drives the stream. False: the stream
  // broke (an error was counted) and the connection should be dropped.
  bool receive(LoadConnection& connection, EchoStream& stream, std::span<const std::uint8_t> bytes,
               LoadClock::time_point now);
  void on_established(LoadConnection& connection, EchoStream& stream, LoadClock::time_point now);
  // A connection is gone (after error()); its streams count as failed if never established.
  void on_connection_failed(LoadConnection& connection);
  // Sends what the open-loop schedule owes a connection's streams (after its send buffer drained).
  void catch_up(LoadConnection& connection);
  // Counts an error (ignored once the run is ending) and logs the first few.
  void error(std::string_view what);
  // Closed loop: the send time to remember for a message queued now.
  void note_sent(EchoStream& stream, LoadClock::time_point now) { stream.sent_at = now; }

 private:
  void start_next_connections();
  void on_settled();
  void begin_run(LoadClock::time_point now);
  void schedule_tick();
  void on_tick();
  void finish();
  std::uint64_t due_messages(const EchoStream& stream) const;
  LoadClock::time_point intended_send_time(const EchoStream& stream, std::uint64_t seq) const;
  bool in_window(LoadClock::time_point now) const { return now >= window_start_ && now < window_end_; }

  const LoadOptions& options_;
  boost::asio::ip::tcp::endpoint target_;
  PayloadPattern pattern_;
  boost::asio::io_context io_{1};
  std::unique_ptr<boost::asio::ssl::context> tls_;
  boost::asio::steady_timer end_timer_{io_};
  boost::asio::steady_timer bound_timer_{io_};
  boost::asio::steady_timer tick_timer_{io_};
  std::vector<std::unique_ptr<LoadConnection>> connections_;
  std::vector<EchoStream*> slots_;  // every stream of this worker by slot
  std::size_t next_to_start_ = 0;
  std::size_t connecting_ = 0;      // connection attempts in flight
  std::size_t settled_streams_ = 0; // streams established or failed in the connect phase
  std::size_t total_streams_ = 0;
  bool running_ = false;            // the clock started
  bool stopping_ = false;
  unsigned errors_logged_ = 0;
  LoadClock::time_point started_at_{};
  LoadClock::time_point run_start_{};     // t0 of the open-loop schedule
  LoadClock::time_point window_start_{};  // warm-up over
  LoadClock::time_point window_end_{};
  double interval_ns_ = 0;                // open loop: time between two sends of this worker
  std::uint64_t issued_ = 0;              // open loop: schedule entries that came due
  LoadStats stats_;
};

// Factories in load_h1.cpp / load_h2.cpp. `first_stream_number` numbers the streams of the run.
std::unique_ptr<LoadConnection> make_h1_connection(LoadWorker& worker, std::uint32_t first_stream_number);
std::unique_ptr<LoadConnection> make_h2_connection(LoadWorker& worker, std::uint32_t first_stream_number);

}  // namespace wsgate::tools
