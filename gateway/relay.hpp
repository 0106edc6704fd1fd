// Relay: joins a client Channel and a backend Channel after both handshakes.
// Bytes flow both ways through bounded buffers; a ws::FrameScanner per
// direction finds frame boundaries, where the relay can inject control frames
// (close 1001 on drain, 1011/1014 when the backend dies, 1002/1009 on bad input,
// keep-alive PINGs and PONGs) and where it follows the close handshake
// (RFC 6455 §5.5.1, §7). One housekeeping timer per relay runs keep-alive and the
// idle timeout; the data path only stamps times.
#pragma once

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/buffer_pool.hpp"
#include "gateway/channel.hpp"
#include "gateway/metrics.hpp"
#include "ws/frame_scanner.hpp"
#include "ws/keepalive.hpp"

namespace wsgate::gw {

enum class Side : std::uint8_t { kClient = 0, kBackend = 1 };

// Keep-alive toward one side (the .NET ClientWebSocket model): interval 0 = off;
// timeout 0 = an unsolicited PONG every interval without traffic toward that side;
// otherwise a PING with a unique payload after `interval` without anything from
// that side, and no matching PONG within `timeout` = the side is dead.
struct KeepaliveRule {
  std::chrono::milliseconds interval{0};
  std::chrono::milliseconds timeout{0};
};

struct RelayOptions {
  std::size_t buffer_bytes = 64 * 1024;           // per direction, the most read but not yet written
                                                  // (a read starts with 16 KiB and grows up to this)
  std::chrono::milliseconds close_timeout{5000};  // for a peer that never finishes closing
  std::chrono::milliseconds write_stall_timeout{
      60000};                                 // a sink taking no bytes this long is dropped; 0 = off
  ws::FrameScannerOptions client_frames;      // rules for frames from the client (masked)
  ws::FrameScannerOptions backend_frames;     // rules for frames from the backend (unmasked)
  std::uint16_t backend_failure_code = 1011;  // sent to the client when the backend drops (1011 or 1014)
  WorkerMetrics* metrics = nullptr;           // frames/messages/bytes counted live (this worker's)
  std::size_t route = 0;                      // route index for the metrics labels
  std::array<KeepaliveRule, 2> keepalive{};   // [Side]: toward the client, toward the backend
  bool answer_pings = false;                  // answer peers' PINGs here instead of forwarding them
  std::chrono::milliseconds idle_timeout{0};  // no data message either way this long: 1001; 0 = off
};

struct DirectionStats {
  std::uint64_t frames = 0;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;  // wire bytes forwarded
};

struct RelayResult {
  DirectionStats client_to_backend;
  DirectionStats backend_to_client;
  std::optional<std::uint16_t> close_code;    // the first close code seen or sent
  std::string_view close_initiator = "none";  // "client", "backend" or "gateway" (static strings)
  std::optional<StreamTimeout> timeout;       // the gateway ended the WebSocket on this timeout
  std::chrono::steady_clock::duration duration{};
};

class Relay : public std::enable_shared_from_this<Relay> {
 public:
  using DoneHandler = std::function<void(const RelayResult&)>;

  Relay(boost::asio::any_io_executor executor, std::shared_ptr<Channel> client,
        std::shared_ptr<Channel> backend, RelayOptions options, DoneHandler on_done);
  ~Relay();

  // `client_pending`: client bytes read after its request head (sent to the
  // backend first); `backend_pending`: backend bytes read after its 101 head.
  void start(const std::vector<std::uint8_t>& client_pending,
             const std::vector<std::uint8_t>& backend_pending);

  // Graceful drain: close 1001 "going away" to both sides at frame boundaries.
  void go_away();
  // Immediate teardown (drain timeout passed).
  void abort();

 private:
  struct SideState {
    std::shared_ptr<Channel> channel;
    bool close_queued = false;                          // a close frame toward this side is queued or written
    bool close_received = false;                        // a whole close frame came from this side
    bool read_ended = false;                            // EOF or error reading this side
    bool write_shut = false;                            // our FIN was sent
    bool closed = false;                                // channel released
    bool dead = false;                                  // a write failed or the transport is gone
    std::unique_ptr<ws::KeepaliveScheduler> keepalive;  // toward this side; only when enabled
  };

  // Bytes read from side `from` and written to the other side.
  // Frames the gateway writes itself toward a sink, at frame boundaries.
  struct Injected {
    std::vector<std::uint8_t> inject;  // close frame to write at the next output boundary
    bool inject_is_close = false;
    std::vector<std::uint8_t> pong_answer;  // PONG answering the sink's latest PING (answer_pings)
    std::vector<std::uint8_t> keepalive;    // keep-alive PING or unsolicited PONG toward the sink
    std::vector<std::uint8_t> in_flight;    // injected frame being written
  };

  struct Direction {
    Side from = Side::kClient;
    ws::FrameScanner scanner;
    PooledBuffer buffer;                  // taken from the worker's pool only while bytes are in flight
    PooledBuffer retired;                 // a buffer outgrown while a write from it was in flight
    std::size_t begin = 0;                // first byte not yet written
    std::size_t end = 0;                  // one past the last byte read
    std::size_t scanned = 0;              // bytes up to here went through the scanner
    std::optional<std::size_t> boundary;  // last frame boundary not yet passed by writes
    bool reading = false;
    bool read_again = false;  // the last read filled the buffer: read before waiting
    bool writing = false;
    std::size_t write_end = 0;   // one past the last buffer byte of the data write in flight
    bool stopped = false;        // scanning ended (close passed or protocol error): drop further input
    bool close_passed = false;   // a close frame is the last thing queued in this direction
    bool output_closed = false;  // the gateway closed toward the sink: scan input, write nothing
    std::unique_ptr<Injected> injected;  // made on first use: an idle relay injects nothing
    std::chrono::steady_clock::time_point write_started{};  // when the pending write was issued
    bool abort_when_stuck = false;  // source is gone: abort the sink if no boundary can be reached
    DirectionStats stats;
  };

  SideState& side(Side s) { return sides_[static_cast<int>(s)]; }
  Direction& dir_from(Side s) { return dirs_[static_cast<int>(s)]; }
  static Side other(Side s) { return s == Side::kClient ? Side::kBackend : Side::kClient; }

  void do_read(Direction& d);
  void grow_buffer(Direction& d);
  void on_readable(Direction& d, const ErrorCode& ec);
  void process(Direction& d);
  void on_frame_end(Direction& d, const ws::ScanResult& r, std::size_t frame_end);
  void on_protocol_error(Direction& d, const ws::ScanResult& r);
  void on_ping_pong(Direction& d, const ws::ScanResult& r, std::size_t frame_end);
  void drop_control_frame(Direction& d, const ws::ScanResult& r, std::size_t frame_end);
  static bool has_inject(const Direction& d) {
    return d.injected && (!d.injected->inject.empty() || !d.injected->pong_answer.empty() ||
                          !d.injected->keepalive.empty());
  }
  static bool has_close_to_inject(const Direction& d) { return d.injected && !d.injected->inject.empty(); }
  static Injected& injected(Direction& d) {
    if (!d.injected) d.injected = std::make_unique<Injected>();
    return *d.injected;
  }
  void arm_house_timer();
  void on_house_timer();
  void send_keepalive(Side toward, ws::Opcode opcode, std::span<const std::uint8_t> payload);
  void keepalive_dead(Side s);
  std::size_t writable_limit(const Direction& d) const;
  void do_write(Direction& d);
  void drop_scanned(Direction& d);
  void release_if_empty(Direction& d);
  void on_written(Direction& d, std::size_t n, bool injected, const ErrorCode& ec);
  void on_read_end(Side s);
  void on_side_dead(Side s);
  void source_gone(Direction& d);
  void queue_close(Side toward, std::uint16_t code, std::string_view reason);
  void send_deferred_client_close();
  void start_close_timer();
  void arm_stall_timer();
  void on_stall_check();
  void check_progress();
  void release(Side s, bool abort);
  void finish();
  void note_close(std::optional<std::uint16_t> code, const char* initiator);

  boost::asio::any_io_executor executor_;
  RelayOptions options_;
  std::array<SideState, 2> sides_;
  std::array<Direction, 2> dirs_;
  std::array<std::size_t, 2> capacity_{};  // buffer size of each direction while allocated
  // Made on first use: most WebSockets never close slowly, stall or keep alive, and an idle relay
  // should not carry three timers (120 B each).
  class LazyTimer {
   public:
    boost::asio::steady_timer& get(const boost::asio::any_io_executor& executor) {
      if (!timer_) timer_ = std::make_unique<boost::asio::steady_timer>(executor);
      return *timer_;
    }
    void cancel() {
      if (timer_) timer_->cancel();
    }

   private:
    std::unique_ptr<boost::asio::steady_timer> timer_;
  };
  LazyTimer close_timer_;
  bool close_timer_started_ = false;
  LazyTimer stall_timer_;
  bool stall_timer_armed_ = false;
  LazyTimer house_timer_;  // keep-alive and idle timeout
  bool house_timer_armed_ = false;
  std::uint64_t house_timer_generation_ = 0;  // a wait replaced by a newer one is ignored when it fires
  std::chrono::steady_clock::time_point last_data_;  // last data frame either way
  // A client that broke the protocol gets its close (1002/1007/1009) once the
  // backend answered our 1001 (or went away), so that the backend's answers to
  // what the client sent before the violation still reach it (RFC 6455 §7.1.7
  // only asks for the close; Autobahn 3.*, 4.*, 5.15 expect the echo first).
  std::optional<std::pair<std::uint16_t, std::string>> deferred_client_close_;
  bool finished_ = false;
  DoneHandler on_done_;
  RelayResult result_;
  std::chrono::steady_clock::time_point started_at_;
};

}  // namespace wsgate::gw
