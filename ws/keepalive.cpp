// See keepalive.hpp.
#include "ws/keepalive.hpp"

#include <algorithm>
#include <atomic>

namespace wsgate::ws {

KeepaliveScheduler::KeepaliveScheduler(Rule rule, Clock::time_point now)
    : rule_(rule), last_rx_(now), last_tx_(now) {}

bool KeepaliveScheduler::on_pong(std::span<const std::uint8_t> payload) {
  if (!awaiting_ || !std::equal(payload.begin(), payload.end(), payload_.begin(), payload_.end()))
    return false;
  awaiting_ = false;
  return true;
}

KeepaliveScheduler::Action KeepaliveScheduler::poll(Clock::time_point now) {
  if (!enabled() || dead_) return Action::kNone;
  if (rule_.timeout.count() == 0) {
    if (now - last_tx_ < rule_.interval) return Action::kNone;
    last_tx_ = now;
    return Action::kSendPong;
  }
  if (awaiting_) {
    if (now - ping_sent_ < rule_.timeout) return Action::kNone;
    dead_ = true;
    return Action::kDead;
  }
  if (now - last_rx_ < rule_.interval) return Action::kNone;
  // A process-wide counter: every PING payload is unique, whichever connection sends it.
  static std::atomic<std::uint64_t> next{1};
  const std::uint64_t id = next.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t i = 0; i < payload_.size(); ++i) {
    payload_[i] = static_cast<std::uint8_t>(id >> (8 * (payload_.size() - 1 - i)));
  }
  awaiting_ = true;
  ping_sent_ = now;
  return Action::kSendPing;
}

KeepaliveScheduler::Clock::time_point KeepaliveScheduler::next_deadline() const {
  if (!enabled() || dead_) return Clock::time_point::max();
  if (rule_.timeout.count() == 0) return last_tx_ + rule_.interval;
  return awaiting_ ? ping_sent_ + rule_.timeout : last_rx_ + rule_.interval;
}

}  // namespace wsgate::ws
