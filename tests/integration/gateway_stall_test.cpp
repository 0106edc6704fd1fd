// wsgate end to end: limits.write_stall_timeout drops a client that stopped reading while its
// backend keeps sending, and the backend's WebSocket is closed too; a reading client is untouched.
#include <gtest/gtest.h>

#include <regex>
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
  buffer_per_direction: 64KiB
  write_stall_timeout: 500ms
  close_timeout: 1s
routes:
  - name: echo
    backend: echo
backends:
  - name: echo
    endpoints: [${ECHO}]
)";

// The value of wsgate_websocket_streams_active for route echo over h1, or -1.
long open_streams(std::uint16_t admin_port) {
  HttpResponse r = http_get(admin_port, "/metrics", 2s);
  static const std::regex kLine(R"(wsgate_websocket_streams_active\{route="echo",protocol="h1"\} ([0-9]+))");
  std::smatch m;
  if (r.status != 200 || !std::regex_search(r.body, m, kLine)) return -1;
  return std::stol(m[1].str());
}

class GatewayStallTest : public ::testing::TestWithParam<ClientTransport> {
 protected:
  void TearDown() override { EXPECT_EQ(gateway_.stop(5s), 0); }

  EchoBackend echo_;
  Gateway gateway_{
      format_template(kConfig, {{"LISTENER", listener_yaml(GetParam())}, {"ECHO", echo_.address()}})};
};

INSTANTIATE_TEST_SUITE_P(Gateway, GatewayStallTest,
                         ::testing::Values(ClientTransport::kPlain, ClientTransport::kTls),
                         transport_param_name);

TEST_P(GatewayStallTest, ClientThatStopsReadingIsDroppedAfterTheStallTimeout) {
  const std::uint16_t admin = *gateway_.admin_port();
  WsClient reader;
  ASSERT_TRUE(upgrade_client(reader, gateway_.port("main"), GetParam(), "/"));

  WsClient stalled;
  stalled.set_recv_buffer(4096);
  ASSERT_TRUE(upgrade_client(stalled, gateway_.port("main"), GetParam(), "/?flood=67108864"));
  ASSERT_TRUE(wait_until([&] { return open_streams(admin) == 2; }, 5s));

  // `stalled` reads nothing: after write_stall_timeout (plus one check period) the gateway drops
  // it and closes the backend side; the reading client keeps working.
  const auto start = Clock::now();
  ASSERT_TRUE(wait_until([&] { return open_streams(admin) == 1; }, 5s))
      << "streams still open: " << open_streams(admin);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  std::cout << "stalled client dropped after " << took.count() << " ms\n";
  EXPECT_GE(took.count(), 300);

  ASSERT_TRUE(reader.send_text("still here"));
  auto echoed = reader.recv_message(2s);
  ASSERT_TRUE(echoed) << reader.last_error();
  EXPECT_EQ(echoed->payload, "still here");
}

}  // namespace
}  // namespace wsgate::test
