// Access log: one JSON line per WebSocket (or refused handshake), formatted on
// the calling worker thread, queued under a short lock and written by a
// dedicated thread, so the data path never blocks on I/O. Full queue: drop and count.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "gateway/config.hpp"
#include "gateway/metrics.hpp"

namespace wsgate::gw {

struct FlowCounts {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;  // wire bytes
};

struct AccessLogEntry {
  std::chrono::system_clock::time_point time;     // when the exchange ended (written as RFC 3339 UTC, ms)
  std::string client_address;                     // "203.0.113.7:51234" or "[2001:db8::1]:51234"
  std::string listener;                           // listener name
  Protocol protocol = Protocol::kH1;              // "h1" / "h2"
  std::uint32_t h2_stream_id = 0;                 // 0 for h1
  std::string route;                              // empty: no route matched (written as null)
  std::string backend_endpoint;                   // "10.0.0.5:9000"; empty when none was reached
  int status = 0;                                 // handshake status answered to the client
  double duration_ms = 0;                         // request head to the end of the WebSocket
  FlowCounts client_to_backend;                   // messages and bytes client -> backend
  FlowCounts backend_to_client;                   // messages and bytes backend -> client
  std::optional<std::uint16_t> close_code;        // the first close code seen or sent
  std::optional<CloseInitiator> close_initiator;  // who closed first; nullopt when never upgraded
  std::string error;                              // short error text, empty = none (e.g. "backend refused")
};

// Bounds of the queue between the workers and the writer thread.
struct AccessLogLimits {
  std::size_t max_lines = 8192;
  std::size_t max_bytes = 4 * 1024 * 1024;
  bool writer_paused = false;  // tests: the writer thread starts only in flush_and_stop()
};

class AccessLog {
 public:
  // path "stdout", "stderr", "off", or a file (opened for append, created 0644).
  // Throws std::runtime_error naming the path when the file cannot be opened (start-up only).
  explicit AccessLog(const AccessLogConfig& config, AccessLogLimits limits = {});
  ~AccessLog();  // flush_and_stop()
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  bool enabled() const { return enabled_; }
  // Any thread; formats on the caller, never waits for I/O. Dropped (and counted) when the queue is full
  // or the log is stopped.
  void write(const AccessLogEntry& entry);
  // Any thread: the writer reopens a file path before its next write (log rotation on SIGHUP).
  void reopen();
  // Writes everything queued, then stops the writer thread. Idempotent.
  void flush_and_stop();

  std::uint64_t dropped() const;
  std::uint64_t written() const;  // lines handed to write(2)

  // The JSON line for `entry`, with the final '\n'.
  static std::string format(const AccessLogEntry& entry);

 private:
  void run_writer();
  bool write_all(const std::string& data);  // writer thread
  void open_file();

  bool enabled_ = false;
  std::string path_;
  int fd_ = -1;
  bool owns_fd_ = false;
  AccessLogLimits limits_;

  mutable std::mutex mutex_;  // guards the members below
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  bool stopping_ = false;
  bool stopped_ = false;
  bool reopen_ = false;
  std::uint64_t dropped_ = 0;
  std::uint64_t written_ = 0;
  std::thread writer_;
};

// JSON string helpers (RFC 8259 §7), shared with the status page: quotes,
// backslash and control characters escaped, invalid UTF-8 replaced by U+FFFD.
void append_json_string(std::string& out, std::string_view text);
std::string json_string(std::string_view text);

// "2024-05-01T12:34:56.789Z"
std::string format_rfc3339_ms(std::chrono::system_clock::time_point time);

}  // namespace wsgate::gw
