// Keep-alive toward one peer, sans-I/O (the .NET ClientWebSocket model):
//   interval 0            -> off;
//   interval, no timeout  -> an unsolicited PONG when nothing was sent to the peer
//                            for `interval` (keeps NATs and proxies open);
//   interval and timeout  -> a PING with a unique 8-byte payload after `interval`
//                            without anything from the peer; no PONG carrying that
//                            payload within `timeout` -> the peer is dead.
// The owner stamps traffic (on_received / on_sent), hands PONGs to on_pong, wakes
// up at next_deadline() and does what poll() says.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <span>

namespace wsgate::ws {

class KeepaliveScheduler {
 public:
  using Clock = std::chrono::steady_clock;
  struct Rule {
    std::chrono::milliseconds interval{0};
    std::chrono::milliseconds timeout{0};
  };
  enum class Action : std::uint8_t { kNone, kSendPing, kSendPong, kDead };

  KeepaliveScheduler() = default;
  KeepaliveScheduler(Rule rule, Clock::time_point now);

  bool enabled() const { return rule_.interval.count() != 0; }
  void on_received(Clock::time_point now) { last_rx_ = now; }
  void on_sent(Clock::time_point now) { last_tx_ = now; }
  // A PONG from the peer: true when it answers the outstanding PING (the owner
  // consumes it rather than forwarding it).
  bool on_pong(std::span<const std::uint8_t> payload);
  // What is due at `now`. kSendPing: send ping_payload(); kSendPong: an empty
  // unsolicited PONG; kDead: no answer in time (the scheduler stops).
  Action poll(Clock::time_point now);
  std::span<const std::uint8_t> ping_payload() const { return payload_; }
  bool awaiting_pong() const { return awaiting_; }
  // When poll() may next have something to do; Clock::time_point::max() if never.
  Clock::time_point next_deadline() const;

 private:
  Rule rule_;
  Clock::time_point last_rx_{};
  Clock::time_point last_tx_{};
  Clock::time_point ping_sent_{};
  bool awaiting_ = false;
  bool dead_ = false;
  std::array<std::uint8_t, 8> payload_{};
};

}  // namespace wsgate::ws
