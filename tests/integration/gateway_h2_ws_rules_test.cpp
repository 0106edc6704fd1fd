// wsgate end to end over HTTP/2 (RFC 8441): the WebSocket-aware route options behave on a stream
// as on an HTTP/1.1 connection (gateway_ws_rules_test.cpp): keep-alive PINGs on the stream at the
// interval, a stream that never answers is ended and the others on the connection go on, the idle
// timeout, max_websockets → 503, require_subprotocol → 400 and routing by subprotocol; over h2c
// and h2 over TLS.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "tests/integration/gateway_h2_test_util.hpp"

namespace wsgate::test::h2_gateway {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kRoutes = R"(  - name: ka
    match: {path: /ka}
    backend: echo
    keepalive: {interval: 200ms, timeout: 300ms}
  - name: idle
    match: {path: /idle}
    backend: echo
    idle_timeout: 300ms
  - name: limited
    match: {path: /limited}
    backend: echo
    max_websockets: 1
  - name: sub
    match: {path: /sub}
    backend: echo
    subprotocols: [chat]
    require_subprotocol: true
  - name: graphql
    match: {path: /api, subprotocol: graphql-transport-ws}
    backend: echo
)";

class GatewayH2WsRulesTest : public GatewayH2Fixture<> {
 protected:
  Transport transport() const override { return GetParam(); }
  void SetUp() override { start({}, kRoutes); }
};

INSTANTIATE_TEST_SUITE_P(Gateway, GatewayH2WsRulesTest, kBothTransports, transport_param_name);

TEST_P(GatewayH2WsRulesTest, KeepalivePingsOnTheStreamAndAnUnansweredStreamEndsAlone) {
  H2Client client;
  ASSERT_TRUE(connect(client));
  client.set_auto_pong(false);
  const std::int32_t ka = open_echo(client, "/ka");
  const std::int32_t plain = open_echo(client, "/echo");
  ASSERT_GT(ka, 0);
  ASSERT_GT(plain, 0);
  const auto start = Clock::now();
  auto ping = client.recv_message(ka, 2s, kReturnPings);
  ASSERT_TRUE(ping) << client.last_error();
  EXPECT_EQ(ping->opcode, ws::Opcode::kPing);
  EXPECT_EQ(ping->payload.size(), 8u);
  EXPECT_GE(Clock::now() - start, 150ms);
  // No PONG: after the timeout the gateway drops the stream (RST_STREAM: a dead peer gets no close).
  EXPECT_TRUE(client.wait_stream_closed(ka, 3s)) << client.last_error();
  EXPECT_GE(Clock::now() - start, 450ms);
  // The other WebSocket on the connection is untouched.
  EXPECT_TRUE(echo_once(client, plain, "still here"));
}

TEST_P(GatewayH2WsRulesTest, AnsweredKeepalivePingsKeepTheStreamOpen) {
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::int32_t ka = open_echo(client, "/ka");
  ASSERT_GT(ka, 0);
  for (int i = 0; i < 3; ++i) {  // recv_message answers each PING (auto pong)
    auto ping = client.recv_message(ka, 2s, kReturnPings);
    ASSERT_TRUE(ping) << client.last_error();
    ASSERT_EQ(ping->opcode, ws::Opcode::kPing);
  }
  EXPECT_TRUE(echo_once(client, ka, "alive"));
  EXPECT_FALSE(client.stream_closed(ka));
}

TEST_P(GatewayH2WsRulesTest, IdleStreamIsClosedWith1001) {
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::int32_t idle = open_echo(client, "/idle");
  ASSERT_GT(idle, 0);
  EXPECT_TRUE(echo_once(client, idle, "once"));
  auto close = client.expect_close(idle, 3s);
  ASSERT_TRUE(close) << client.last_error();
  EXPECT_EQ(close->close_code, std::optional<std::uint16_t>(1001));
}

TEST_P(GatewayH2WsRulesTest, MaxWebsocketsAnswers503OnTheStream) {
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::int32_t first = open_echo(client, "/limited");
  ASSERT_GT(first, 0);
  const std::int32_t second = client.open_websocket("/limited");
  ASSERT_GT(second, 0);
  auto response = client.wait_response(second);
  ASSERT_TRUE(response) << client.last_error();
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->header("retry-after"), "1");
  EXPECT_TRUE(echo_once(client, first, "first still works"));
}

TEST_P(GatewayH2WsRulesTest, RequireSubprotocolAnd400) {
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::int32_t none = client.open_websocket("/sub");
  auto r1 = client.wait_response(none);
  ASSERT_TRUE(r1) << client.last_error();
  EXPECT_EQ(r1->status, 400);
  const std::int32_t wrong = client.open_websocket("/sub", "localhost", {{"sec-websocket-protocol", "mqtt"}});
  auto r2 = client.wait_response(wrong);
  ASSERT_TRUE(r2) << client.last_error();
  EXPECT_EQ(r2->status, 400);
  const std::int32_t good =
      client.open_websocket("/sub", "localhost", {{"sec-websocket-protocol", "mqtt, chat"}});
  auto r3 = client.wait_response(good);
  ASSERT_TRUE(r3) << client.last_error();
  EXPECT_EQ(r3->status, 200);
}

TEST_P(GatewayH2WsRulesTest, RouteMatchesOnOfferedSubprotocol) {
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::int32_t offered =
      client.open_websocket("/api", "localhost", {{"sec-websocket-protocol", "graphql-transport-ws"}});
  auto r1 = client.wait_response(offered);
  ASSERT_TRUE(r1) << client.last_error();
  EXPECT_EQ(r1->status, 200);
  const std::int32_t other = client.open_websocket("/api", "localhost", {{"sec-websocket-protocol", "mqtt"}});
  auto r2 = client.wait_response(other);
  ASSERT_TRUE(r2) << client.last_error();
  EXPECT_EQ(r2->status, 404);  // no other route matches /api
}

}  // namespace
}  // namespace wsgate::test::h2_gateway

namespace wsgate::test::h2_gateway {
namespace {

TEST(GatewayH2ListenerLimits, MaxStreamsPerConnectionHoldsTheThirdWebSocketUntilOneEnds) {
  EchoBackend echo;
  Gateway gateway(R"(workers: 1
listeners:
  - name: main
    address: 127.0.0.1:0
    protocols: [h2c, http/1.1]
    max_streams_per_connection: 2
access_log: {path: "off"}
routes:
  - name: echo
    backend: echo
backends:
  - name: echo
    endpoints: [)" +
                  echo.address() + "]\n");
  H2Client client;
  ASSERT_TRUE(client.connect("127.0.0.1", gateway.port("main"), false)) << client.last_error();
  std::vector<std::int32_t> open;
  for (int i = 0; i < 2; ++i) {
    const std::int32_t s = client.open_websocket("/");
    ASSERT_GT(s, 0) << client.last_error();
    auto r = client.wait_response(s);
    ASSERT_TRUE(r) << client.last_error();
    ASSERT_EQ(r->status, 200);
    open.push_back(s);
  }
  // SETTINGS_MAX_CONCURRENT_STREAMS = 2: the client may not open a third (nghttp2 holds it back).
  const std::int32_t third = client.open_websocket("/");
  ASSERT_GT(third, 0) << client.last_error();
  EXPECT_FALSE(client.wait_response(third, 500ms));
  ASSERT_TRUE(client.close_and_wait(open[0], 1000, {}, 3s)) << client.last_error();
  ASSERT_TRUE(client.end_stream(open[0])) << client.last_error();  // the stream closes both ways
  auto r = client.wait_response(third, 5s);
  ASSERT_TRUE(r) << client.last_error();
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace wsgate::test::h2_gateway

namespace wsgate::test::h2_gateway {
namespace {

// A client breaking RFC 6455 on an HTTP/2 stream gets the same close codes as over HTTP/1.1
// (1002, 1007 with validate: full, 1009), and the other streams of the connection go on.
struct ClientViolation {
  std::string name;
  std::string frame;  // raw WebSocket bytes sent on the stream
  std::uint16_t code;
};

void PrintTo(const ClientViolation& v, std::ostream* os) { *os << v.name; }

class GatewayH2ClientViolationTest : public GatewayH2Fixture<std::tuple<Transport, ClientViolation>> {
 protected:
  Transport transport() const override { return std::get<0>(GetParam()); }
};

TEST_P(GatewayH2ClientViolationTest, OffenderGetsItsCloseOtherStreamsGoOn) {
  const ClientViolation& v = std::get<1>(GetParam());
  start({},
        "  - name: full\n    match: {path: /full}\n    backend: echo\n    validate: full\n"
        "    max_frame_bytes: 1000\n");
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::int32_t bad = open_echo(client, "/full");
  const std::int32_t good = open_echo(client, "/full");
  ASSERT_GT(bad, 0);
  ASSERT_GT(good, 0);
  client.queue_data(bad, v.frame);
  ASSERT_TRUE(client.flush(bad));
  auto close = client.expect_close(bad, 3s);
  ASSERT_TRUE(close) << client.last_error();
  EXPECT_EQ(close->close_code, std::optional<std::uint16_t>(v.code));
  EXPECT_TRUE(echo_once(client, good, "the neighbour is fine"));
}

std::string masked(std::uint8_t opcode, std::string_view payload, bool fin = true, std::uint8_t rsv = 0) {
  return WsClient::build_frame(opcode, payload, fin, ws::MaskKey{9, 8, 7, 6}, rsv);
}

std::string unmasked_text() {
  std::string f;
  f += static_cast<char>(0x81);
  f += static_cast<char>(0x02);
  f += "hi";
  return f;
}

INSTANTIATE_TEST_SUITE_P(
    Gateway, GatewayH2ClientViolationTest,
    ::testing::Combine(
        kBothTransports,
        ::testing::Values(ClientViolation{"Unmasked", unmasked_text(), 1002},
                          ClientViolation{"UnnegotiatedRsv1", masked(0x1, "x", true, 0x40), 1002},
                          ClientViolation{"ReservedOpcode", masked(0x3, ""), 1002},
                          ClientViolation{"FragmentedPing", masked(0x9, "", false), 1002},
                          ClientViolation{"CloseCode1005", masked(0x8, std::string("\x03\xed", 2)), 1002},
                          ClientViolation{"ContinuationWithoutStart", masked(0x0, "x"), 1002},
                          ClientViolation{"InvalidUtf8", masked(0x1, "\xc3\x28"), 1007},
                          ClientViolation{"FrameOverMaxFrameBytes", masked(0x2, std::string(1001, 'b')),
                                          1009})),
    [](const ::testing::TestParamInfo<std::tuple<Transport, ClientViolation>>& p) {
      return transport_name(std::get<0>(p.param)) + "_" + std::get<1>(p.param).name;
    });

}  // namespace
}  // namespace wsgate::test::h2_gateway
