// wsgate end to end over HTTP/1.1: bounded memory with a slow client under a 64 MiB flood, a stock
// client (Debian's python3-websockets) through the gateway, and --check-config on the default
// config. Over cleartext and TLS listeners where a client is involved.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>

#include "tests/integration/client_helpers.hpp"
#include "tests/integration/gateway_test_util.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/ws_client.hpp"

namespace wsgate::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kConfig = R"(
workers: 1
drain_timeout: 3s
listeners:
${LISTENER}access_log:
  path: off
limits:
  buffer_per_direction: 256KiB
  close_timeout: 2s
routes:
  - name: echo
    backend: echo
backends:
  - name: echo
    endpoints: [${ECHO}]
)";

class GatewayLoadTest : public ::testing::TestWithParam<ClientTransport> {
 protected:
  void TearDown() override { EXPECT_EQ(gateway_.stop(5s), 0); }

  ClientTransport transport() const { return GetParam(); }
  std::uint16_t port() const { return gateway_.port("main"); }

  EchoBackend echo_;
  Gateway gateway_{
      format_template(kConfig, {{"LISTENER", listener_yaml(GetParam())}, {"ECHO", echo_.address()}})};
};

INSTANTIATE_TEST_SUITE_P(Gateway, GatewayLoadTest,
                         ::testing::Values(ClientTransport::kPlain, ClientTransport::kTls),
                         transport_param_name);

TEST_P(GatewayLoadTest, SlowClientUnderFloodKeepsMemoryBoundedAndOthersServed) {
  constexpr std::size_t kFloodBytes = 64u << 20;
  constexpr std::size_t kRssAllowance = 32u << 20;  // the gateway holds at most 2 x 256 KiB per WebSocket

  WsClient other;
  ASSERT_TRUE(upgrade_client(other, port(), transport()));
  ASSERT_TRUE(other.send_text("warm-up"));
  ASSERT_TRUE(other.recv_message()) << other.last_error();
  const auto baseline = gateway_.process().rss_bytes();
  ASSERT_TRUE(baseline);

  WsClient slow;
  slow.set_recv_buffer(4096);  // before connect, so the advertised TCP window stays small
  ASSERT_TRUE(upgrade_client(slow, port(), transport(), "/?flood=" + std::to_string(kFloodBytes)));
  // `slow` reads nothing now: the flood backs up into the gateway, which must stop reading.

  std::size_t max_rss = *baseline;
  auto max_latency = Clock::duration::zero();
  int rounds = 0;
  const auto end = Clock::now() + 2s;
  while (Clock::now() < end) {
    const std::string payload = text_payload(1000, static_cast<std::size_t>(rounds));
    const auto sent_at = Clock::now();
    ASSERT_TRUE(other.send_text(payload)) << other.last_error();
    const auto message = other.recv_message(2s);
    ASSERT_TRUE(message) << "round " << rounds << ": " << other.last_error();
    EXPECT_TRUE(message->payload == payload) << "round " << rounds;
    max_latency = std::max(max_latency, Clock::now() - sent_at);
    const auto rss = gateway_.process().rss_bytes();
    ASSERT_TRUE(rss);
    max_rss = std::max(max_rss, *rss);
    ++rounds;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_LT(max_rss, *baseline + kRssAllowance) << "baseline " << *baseline << ", max " << max_rss;
  EXPECT_LT(max_latency, 1s) << std::chrono::duration_cast<std::chrono::milliseconds>(max_latency).count()
                             << " ms";
  EXPECT_GE(rounds, 10);

  // The flood itself arrives intact once the slow client reads (the first 1 MiB is enough).
  std::size_t total = 0;
  while (total < (1u << 20)) {
    const auto message = slow.recv_message(5s);
    ASSERT_TRUE(message) << "after " << total << " bytes: " << slow.last_error();
    ASSERT_EQ(message->opcode, ws::Opcode::kBinary);
    std::string expected(message->payload.size(), '\0');
    for (std::size_t i = 0; i < expected.size(); ++i)
      expected[i] = static_cast<char>(((total + i) * 31 + 7) & 0xFF);
    ASSERT_TRUE(message->payload == expected)
        << "flood bytes differ in [" << total << ", +" << expected.size() << ")";
    total += message->payload.size();
  }
  slow.abort();
  // wsgate-echo reads nothing until its flood is done, so it would never answer the gateway's close
  // 1001: stop it rather than wait close_timeout in the gateway's drain.
  EXPECT_EQ(echo_.stop(5s), 0);
}

// Debian's python3-websockets (10.4) as the client: tests/integration/stock_client_test.py.
TEST_P(GatewayLoadTest, StockPythonClientEchoesThroughTheGateway) {
  const std::string url = std::string(transport() == ClientTransport::kTls ? "wss" : "ws") +
                          "://127.0.0.1:" + std::to_string(port()) + "/";
  TempDir dir("wsgate-it-stock");
  Process python({"/usr/bin/python3", WSGATE_SOURCE_DIR "/tests/integration/stock_client_test.py", url},
                 dir.path() / "python.log");
  const auto status = python.wait_exit(20s);
  EXPECT_EQ(status, 0) << python.log_text();
  EXPECT_NE(python.log_text().find("stock client: OK"), std::string::npos) << python.log_text();
}

TEST(GatewayConfigTest, DefaultDeployConfigChecksOk) {
  const std::string path = WSGATE_SOURCE_DIR "/deploy/wsgate.yaml";
  TempDir dir("wsgate-it-check");
  Process check({wsgate_binary(), "--check-config", path}, dir.path() / "check.log");
  EXPECT_EQ(check.wait_exit(10s), 0) << check.log_text();
  EXPECT_NE(check.log_text().find(path + ": OK"), std::string::npos) << check.log_text();
}

}  // namespace
}  // namespace wsgate::test
