// Tests of the Gateway launcher in the harness: config file, listener ports by name, one WebSocket
// through, graceful stop, --check-config. The gateway's behaviour proper is tested elsewhere.
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/harness.hpp"
#include "tests/integration/ws_client.hpp"

namespace wsgate::test {
namespace {

constexpr std::string_view kTwoListeners = R"(
workers: 1
listeners:
  - name: main
    address: 127.0.0.1:0
    protocols: [http/1.1]
  - name: second
    address: 127.0.0.1:0
    protocols: [http/1.1]
access_log:
  path: off
routes:
  - name: echo
    backend: echo
backends:
  - name: echo
    endpoints: [${ECHO}]
)";

TEST(GatewayHarnessTest, StartsParsesPortsRelaysAndStops) {
  EchoBackend echo;
  Gateway gateway(format_template(kTwoListeners, {{"ECHO", echo.address()}}));
  ASSERT_EQ(gateway.listener_ports().size(), 2u);
  EXPECT_EQ(gateway.port(), gateway.port("main"));
  EXPECT_NE(gateway.port("main"), gateway.port("second"));
  EXPECT_THROW(gateway.port("nonexistent"), std::out_of_range);

  for (const auto& [name, port] : gateway.listener_ports()) {
    WsClient client;
    ASSERT_TRUE(client.connect("127.0.0.1", port)) << name << ": " << client.last_error();
    const HandshakeResult result = client.handshake("/");
    ASSERT_TRUE(result.upgraded()) << name << ": " << result.status << " " << result.error;
    ASSERT_TRUE(client.send_text("via " + name));
    const auto message = client.recv_message();
    ASSERT_TRUE(message) << name << ": " << client.last_error();
    EXPECT_EQ(message->payload, "via " + name);
    const auto peer_close = client.close_and_wait(1000);
    ASSERT_TRUE(peer_close) << client.last_error();
    EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(1000));
  }
  EXPECT_EQ(gateway.stop(), 0);
}

TEST(GatewayHarnessTest, CheckConfig) {
  std::string output;
  EXPECT_EQ(Gateway::check_config(format_template(kTwoListeners, {{"ECHO", "127.0.0.1:9"}}), &output), 0)
      << output;
  EXPECT_EQ(Gateway::check_config("listeners: [oops", &output), 2) << output;
}

TEST(GatewayHarnessTest, BadConfigFailsToStartWithTheLogInTheError) {
  try {
    Gateway gateway("listeners: []\n");
    FAIL() << "wsgate started with an empty listener list";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("did not become ready"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace wsgate::test
