// Tests for ws/keepalive.*: the keep-alive scheduler's three modes, its deadlines, PONG matching
// and unique payloads, on a synthetic clock.
#include "ws/keepalive.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace wsgate::ws {
namespace {

using namespace std::chrono_literals;
using Clock = KeepaliveScheduler::Clock;
using Action = KeepaliveScheduler::Action;

const Clock::time_point t0 = Clock::time_point{} + 1h;

TEST(KeepaliveScheduler, IntervalZeroIsOff) {
  KeepaliveScheduler k({0ms, 0ms}, t0);
  EXPECT_FALSE(k.enabled());
  EXPECT_EQ(k.poll(t0 + 1h), Action::kNone);
  EXPECT_EQ(k.next_deadline(), Clock::time_point::max());
  KeepaliveScheduler defaulted;
  EXPECT_FALSE(defaulted.enabled());
  EXPECT_EQ(defaulted.poll(t0), Action::kNone);
}

TEST(KeepaliveScheduler, PingAfterAnIntervalOfSilenceFromThePeer) {
  KeepaliveScheduler k({10s, 5s}, t0);
  EXPECT_EQ(k.next_deadline(), t0 + 10s);
  EXPECT_EQ(k.poll(t0 + 9s), Action::kNone);
  k.on_received(t0 + 9s);  // traffic postpones the PING
  EXPECT_EQ(k.next_deadline(), t0 + 19s);
  EXPECT_EQ(k.poll(t0 + 10s), Action::kNone);
  EXPECT_EQ(k.poll(t0 + 19s), Action::kSendPing);
  EXPECT_TRUE(k.awaiting_pong());
  EXPECT_EQ(k.ping_payload().size(), 8u);
  EXPECT_EQ(k.next_deadline(), t0 + 24s);      // now the PONG's deadline
  EXPECT_EQ(k.poll(t0 + 20s), Action::kNone);  // one PING at a time
}

TEST(KeepaliveScheduler, SendingDoesNotPostponeAPing) {
  KeepaliveScheduler k({10s, 5s}, t0);
  k.on_sent(t0 + 9s);  // our own traffic says nothing about the peer
  EXPECT_EQ(k.poll(t0 + 10s), Action::kSendPing);
}

TEST(KeepaliveScheduler, MatchingPongIsConsumedAndTheNextPingFollowsAnInterval) {
  KeepaliveScheduler k({10s, 5s}, t0);
  ASSERT_EQ(k.poll(t0 + 10s), Action::kSendPing);
  const std::vector<std::uint8_t> payload(k.ping_payload().begin(), k.ping_payload().end());
  k.on_received(t0 + 11s);
  EXPECT_TRUE(k.on_pong(payload));
  EXPECT_FALSE(k.awaiting_pong());
  EXPECT_FALSE(k.on_pong(payload));  // a second copy is the peer's own business: forwarded
  EXPECT_EQ(k.next_deadline(), t0 + 21s);
  EXPECT_EQ(k.poll(t0 + 16s), Action::kNone);  // past the old PONG deadline: not dead
  EXPECT_EQ(k.poll(t0 + 21s), Action::kSendPing);
}

TEST(KeepaliveScheduler, PongWithAnotherPayloadDoesNotCount) {
  KeepaliveScheduler k({10s, 5s}, t0);
  ASSERT_EQ(k.poll(t0 + 10s), Action::kSendPing);
  std::vector<std::uint8_t> other(k.ping_payload().begin(), k.ping_payload().end());
  other[7] ^= 1;
  EXPECT_FALSE(k.on_pong(other));
  EXPECT_FALSE(k.on_pong({}));
  EXPECT_TRUE(k.awaiting_pong());
  EXPECT_EQ(k.poll(t0 + 15s), Action::kDead);
}

TEST(KeepaliveScheduler, NoPongWithinTheTimeoutIsDeadOnceThenStops) {
  KeepaliveScheduler k({10s, 5s}, t0);
  ASSERT_EQ(k.poll(t0 + 10s), Action::kSendPing);
  k.on_received(t0 + 12s);  // data, but no PONG: still waiting for it
  EXPECT_EQ(k.poll(t0 + 14s), Action::kNone);
  EXPECT_EQ(k.poll(t0 + 15s), Action::kDead);
  EXPECT_EQ(k.poll(t0 + 30s), Action::kNone);
  EXPECT_EQ(k.next_deadline(), Clock::time_point::max());
}

TEST(KeepaliveScheduler, WithoutTimeoutAnUnsolicitedPongWhenNothingWasSent) {
  KeepaliveScheduler k({10s, 0ms}, t0);
  EXPECT_EQ(k.poll(t0 + 9s), Action::kNone);
  k.on_sent(t0 + 9s);  // traffic toward the peer keeps the path open by itself
  k.on_received(t0 + 9s);
  EXPECT_EQ(k.poll(t0 + 10s), Action::kNone);
  EXPECT_EQ(k.next_deadline(), t0 + 19s);
  EXPECT_EQ(k.poll(t0 + 19s), Action::kSendPong);
  EXPECT_FALSE(k.awaiting_pong());  // nothing answers an unsolicited PONG
  EXPECT_EQ(k.next_deadline(), t0 + 29s);
  EXPECT_EQ(k.poll(t0 + 29s), Action::kSendPong);
  EXPECT_EQ(k.poll(t0 + 1h), Action::kSendPong);  // never dead
}

TEST(KeepaliveScheduler, PayloadsAreUniqueAcrossSchedulers) {
  std::set<std::vector<std::uint8_t>> seen;
  for (int i = 0; i < 100; ++i) {
    KeepaliveScheduler k({1s, 1s}, t0);
    ASSERT_EQ(k.poll(t0 + 1s), Action::kSendPing);
    seen.emplace(k.ping_payload().begin(), k.ping_payload().end());
    ASSERT_TRUE(k.on_pong(*seen.find({k.ping_payload().begin(), k.ping_payload().end()})));
    ASSERT_EQ(k.poll(t0 + 2s), Action::kSendPing);
    seen.emplace(k.ping_payload().begin(), k.ping_payload().end());
  }
  EXPECT_EQ(seen.size(), 200u);
}

}  // namespace
}  // namespace wsgate::ws
