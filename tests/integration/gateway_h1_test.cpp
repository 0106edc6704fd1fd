// wsgate end to end over HTTP/1.1: real wsgate and wsgate-echo processes on loopback, a client on
// a cleartext or a TLS listener (every test runs over both). Echo of every payload-length boundary,
// fragments, ping/pong, the close handshake in both directions, 500 concurrent WebSockets,
// subprotocol negotiation, the headers the backend receives, and frame checks (1002, 1009).
// Errors are in gateway_errors_test.cpp, drops and drain in gateway_close_test.cpp, load and
// stock clients in gateway_load_test.cpp.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "tests/integration/client_helpers.hpp"
#include "tests/integration/gateway_test_util.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/ws_client.hpp"

namespace wsgate::test {
namespace {

using namespace std::chrono_literals;

// /filtered allows only the "chat" subprotocol; /small relays messages of up to 1 KiB; every other
// path goes to the echo backend as is.
constexpr std::string_view kEchoConfig = R"(
workers: 2
drain_timeout: 3s
listeners:
${LISTENER}access_log:
  path: off
limits:
  close_timeout: 2s
routes:
  - name: filtered
    match: {path_prefix: /filtered}
    backend: echo
    subprotocols: [chat]
  - name: small
    match: {path_prefix: /small}
    backend: echo
    max_message_bytes: 1KiB
  - name: echo
    backend: echo
backends:
  - name: echo
    endpoints: [${ECHO}]
)";

EchoOptions echo_with_subprotocols() {
  EchoOptions options;
  options.subprotocols = {"superchat", "chat"};
  return options;
}

// wsgate-echo (supporting subprotocols "superchat" and "chat") behind a gateway listening over
// `transport`.
struct EchoSetup {
  explicit EchoSetup(ClientTransport t)
      : transport(t),
        echo(echo_with_subprotocols()),
        gateway(format_template(kEchoConfig, {{"LISTENER", listener_yaml(t)}, {"ECHO", echo.address()}})) {}

  ::testing::AssertionResult upgrade(WsClient& client, std::string_view path = "/",
                                     const HeaderList& headers = {}) {
    return upgrade_client(client, gateway.port("main"), transport, path, headers);
  }

  ClientTransport transport;
  EchoBackend echo;
  Gateway gateway;
};

class GatewayEchoTest : public ::testing::TestWithParam<ClientTransport> {
 protected:
  void TearDown() override { EXPECT_EQ(setup_.gateway.stop(5s), 0); }

  EchoSetup setup_{GetParam()};
};

INSTANTIATE_TEST_SUITE_P(Gateway, GatewayEchoTest,
                         ::testing::Values(ClientTransport::kPlain, ClientTransport::kTls),
                         transport_param_name);

// ---- echo of every payload-length encoding boundary (RFC 6455 §5.2), text and binary ----

using SizeParam = std::tuple<ClientTransport, ws::Opcode, std::size_t>;

class GatewayEchoSizeTest : public ::testing::TestWithParam<SizeParam> {
 protected:
  void TearDown() override { EXPECT_EQ(setup_.gateway.stop(5s), 0); }

  EchoSetup setup_{std::get<0>(GetParam())};
};

TEST_P(GatewayEchoSizeTest, EchoesOneMessage) {
  const auto [transport, opcode, size] = GetParam();
  WsClient client;
  ASSERT_TRUE(setup_.upgrade(client));
  const std::string payload =
      opcode == ws::Opcode::kText ? text_payload(size, size) : binary_payload(size, size);
  ASSERT_TRUE(client.send_message(opcode, payload)) << client.last_error();
  const auto message = client.recv_message();
  ASSERT_TRUE(message) << client.last_error();
  EXPECT_EQ(message->opcode, opcode);
  ASSERT_EQ(message->payload.size(), payload.size());
  EXPECT_TRUE(message->payload == payload) << "payload differs";
  EXPECT_EQ(message->frame_count, 1u);  // the gateway relays frames as they are
  const auto peer_close = client.close_and_wait(1000);
  ASSERT_TRUE(peer_close) << client.last_error();
  EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(1000));
}

std::string size_param_name(const ::testing::TestParamInfo<SizeParam>& info) {
  const auto [transport, opcode, size] = info.param;
  return transport_name(transport) + "_" + (opcode == ws::Opcode::kText ? "Text" : "Binary") +
         std::to_string(size);
}

INSTANTIATE_TEST_SUITE_P(Gateway, GatewayEchoSizeTest,
                         ::testing::Combine(::testing::Values(ClientTransport::kPlain, ClientTransport::kTls),
                                            ::testing::Values(ws::Opcode::kText, ws::Opcode::kBinary),
                                            ::testing::Values(0, 125, 126, 65535, 65536, 1 << 20, 16 << 20)),
                         size_param_name);

// ---- fragments and control frames ----

TEST_P(GatewayEchoTest, PreservesFragments) {
  WsClient client;
  ASSERT_TRUE(setup_.upgrade(client));
  const std::string payload = text_payload(10'000, 7);
  ASSERT_TRUE(client.send_message(ws::Opcode::kText, payload, 1000));
  std::string echoed;
  for (int i = 0; i < 10; ++i) {
    const auto frame = client.recv_frame();
    ASSERT_TRUE(frame) << "frame " << i << ": " << client.last_error();
    EXPECT_EQ(frame->opcode(), i == 0 ? ws::Opcode::kText : ws::Opcode::kContinuation) << "frame " << i;
    EXPECT_EQ(frame->header.fin, i == 9) << "frame " << i;
    EXPECT_FALSE(frame->header.masked);
    EXPECT_EQ(frame->payload.size(), 1000u) << "frame " << i;
    echoed += frame->payload;
  }
  EXPECT_TRUE(echoed == payload);
}

TEST_P(GatewayEchoTest, PingBetweenFragmentsIsAnsweredByTheBackend) {
  WsClient client;
  ASSERT_TRUE(setup_.upgrade(client));
  const std::string payload = binary_payload(3000, 11);
  ASSERT_TRUE(client.send_frame(ws::Opcode::kBinary, std::string_view(payload).substr(0, 1000), false));
  ASSERT_TRUE(client.send_ping("between"));  // RFC 6455 §5.4: control frames may sit between fragments
  ASSERT_TRUE(
      client.send_frame(ws::Opcode::kContinuation, std::string_view(payload).substr(1000, 1000), false));
  ASSERT_TRUE(client.send_frame(ws::Opcode::kContinuation, std::string_view(payload).substr(2000), true));
  bool got_pong = false;
  std::optional<Message> data;
  for (int i = 0; i < 2; ++i) {
    auto message = client.recv_message(kDefaultTimeout, kReturnPongs);
    ASSERT_TRUE(message) << client.last_error();
    if (message->opcode == ws::Opcode::kPong) {
      EXPECT_EQ(message->payload, "between");
      got_pong = true;
    } else {
      data = std::move(message);
    }
  }
  EXPECT_TRUE(got_pong);
  ASSERT_TRUE(data);
  EXPECT_EQ(data->opcode, ws::Opcode::kBinary);
  EXPECT_EQ(data->frame_count, 3u);
  EXPECT_TRUE(data->payload == payload);
}

TEST_P(GatewayEchoTest, PingIsAnsweredWithPong) {
  WsClient client;
  ASSERT_TRUE(setup_.upgrade(client));
  ASSERT_TRUE(client.send_ping("hello"));
  const auto pong = client.recv_message(kDefaultTimeout, kReturnPongs);
  ASSERT_TRUE(pong) << client.last_error();
  EXPECT_EQ(pong->opcode, ws::Opcode::kPong);
  EXPECT_EQ(pong->payload, "hello");
}

// ---- the close handshake, both directions ----

TEST_P(GatewayEchoTest, ClientCloseCodeAndReasonRoundTrip) {
  WsClient client;
  ASSERT_TRUE(setup_.upgrade(client));
  ASSERT_TRUE(client.send_text("before close"));
  const auto peer_close = client.close_and_wait(4000, "bye now", 3s);
  ASSERT_TRUE(peer_close) << client.last_error();
  EXPECT_EQ(client.discarded_messages(), 1u);  // the echo of "before close"
  EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(4000));
  EXPECT_EQ(peer_close->close_reason, "bye now");
  EXPECT_TRUE(client.wait_eof(3s)) << client.last_error();  // RFC 6455 §7.1.1: the server closes TCP first
}

TEST_P(GatewayEchoTest, EmptyClosePayloadRoundTrips) {
  WsClient client;
  ASSERT_TRUE(setup_.upgrade(client));
  const auto peer_close = client.close_and_wait(std::nullopt, {}, 3s);
  ASSERT_TRUE(peer_close) << client.last_error();
  EXPECT_FALSE(peer_close->close_code);  // 1005: no status in the frame
  EXPECT_TRUE(client.wait_eof(3s)) << client.last_error();
}

TEST_P(GatewayEchoTest, BackendCloseReachesClientAndTheConnectionEnds) {
  WsClient client;
  ASSERT_TRUE(setup_.upgrade(client, "/?close_after_ms=50"));
  const auto peer_close = client.expect_close(3s);
  ASSERT_TRUE(peer_close) << client.last_error();
  EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(1000));
  EXPECT_EQ(peer_close->close_reason, "bye");
  ASSERT_TRUE(client.close(1000, "ok"));
  EXPECT_TRUE(client.wait_eof(3s)) << client.last_error();
}

// ---- many WebSockets at once ----

TEST_P(GatewayEchoTest, FiveHundredConcurrentConnectionsKeepTheirOwnData) {
  constexpr std::size_t kCount = 500;
  std::string error;
  std::vector<WsClient> clients = open_many("127.0.0.1", setup_.gateway.port("main"), kCount, "/", &error,
                                            kDefaultTimeout, client_tls(setup_.transport));
  ASSERT_EQ(clients.size(), kCount) << error;
  EXPECT_TRUE(echo_round_trip(clients, [](std::size_t i) { return text_payload(16 + i % 300, i); }));
  EXPECT_TRUE(echo_round_trip(
      clients, [](std::size_t i) { return binary_payload(1 + i * 7 % 2000, 1000 + i); },
      ws::Opcode::kBinary));
}

// ---- subprotocols (RFC 6455 §4.2.2 / §11.3.4) ----

TEST_P(GatewayEchoTest, SubprotocolChosenByTheBackendReachesTheClient) {
  WsClient client;
  ASSERT_TRUE(connect_client(client, setup_.gateway.port("main"), setup_.transport));
  const HandshakeResult result = client.handshake("/", "", {{"Sec-WebSocket-Protocol", "superchat, chat"}});
  ASSERT_TRUE(result.upgraded()) << result.status << " " << result.error;
  EXPECT_EQ(result.headers.get_all("Sec-WebSocket-Protocol").size(), 1u);
  EXPECT_EQ(result.headers.get("Sec-WebSocket-Protocol").value_or(""),
            "superchat");  // the client's first choice
  ASSERT_TRUE(client.send_text("with a subprotocol"));
  const auto message = client.recv_message();
  ASSERT_TRUE(message) << client.last_error();
  EXPECT_EQ(message->payload, "with a subprotocol");
}

TEST_P(GatewayEchoTest, RouteSubprotocolAllowListFiltersTheOffers) {
  WsClient client;
  ASSERT_TRUE(connect_client(client, setup_.gateway.port("main"), setup_.transport));
  const HandshakeResult result =
      client.handshake("/filtered", "", {{"Sec-WebSocket-Protocol", "superchat, chat"}});
  ASSERT_TRUE(result.upgraded()) << result.status << " " << result.error;
  EXPECT_EQ(result.headers.get("Sec-WebSocket-Protocol").value_or(""),
            "chat");  // "superchat" never reached it
}

TEST_P(GatewayEchoTest, NoAllowedSubprotocolOfferedUpgradesWithout) {
  WsClient client;
  ASSERT_TRUE(connect_client(client, setup_.gateway.port("main"), setup_.transport));
  const HandshakeResult result = client.handshake("/filtered", "", {{"Sec-WebSocket-Protocol", "superchat"}});
  ASSERT_TRUE(result.upgraded()) << result.status << " " << result.error;
  EXPECT_FALSE(result.headers.contains("Sec-WebSocket-Protocol"));
}

// ---- what the backend receives ----

TEST_P(GatewayEchoTest, BackendReceivesForwardingHeadersAndEndToEndFields) {
  const std::string port = std::to_string(setup_.gateway.port("main"));
  const std::string proto = setup_.transport == ClientTransport::kTls ? "https" : "http";
  WsClient client;
  ASSERT_TRUE(connect_client(client, setup_.gateway.port("main"), setup_.transport));
  const std::string key = client.send_handshake_request("/headers", "",
                                                        {{"Cookie", "session=c00k1e"},
                                                         {"Authorization", "Bearer t0ken"},
                                                         {"Connection", "Upgrade, X-Hop"},
                                                         {"X-Hop", "hop-by-hop"}});
  ASSERT_FALSE(key.empty()) << client.last_error();
  const HandshakeResult result = client.read_response(key);
  ASSERT_TRUE(result.upgraded()) << result.status << " " << result.error;
  const auto message = client.recv_message();
  ASSERT_TRUE(message) << client.last_error();
  const std::string& json = message->payload;
  EXPECT_NE(json.find(R"("x-forwarded-for":"127.0.0.1")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("x-forwarded-proto":")" + proto + "\""), std::string::npos) << json;
  EXPECT_NE(json.find(R"("x-forwarded-host":"127.0.0.1:)" + port + "\""), std::string::npos) << json;
  EXPECT_NE(
      json.find(R"("forwarded":"for=127.0.0.1;proto=)" + proto + R"(;host=\"127.0.0.1:)" + port + R"(\"")"),
      std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("cookie":"session=c00k1e")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("authorization":"Bearer t0ken")"), std::string::npos) << json;
  // The gateway makes its own handshake: a fresh key, and no hop-by-hop field of the client's.
  EXPECT_NE(json.find(R"("sec-websocket-key":")"), std::string::npos) << json;
  EXPECT_EQ(json.find(key), std::string::npos) << "client key " << key << " reached the backend: " << json;
  EXPECT_EQ(json.find("x-hop"), std::string::npos) << json;
  EXPECT_EQ(json.find("hop-by-hop"), std::string::npos) << json;
}

TEST_P(GatewayEchoTest, ForwardingHeadersAppendToTheClientsOwn) {
  WsClient client;
  ASSERT_TRUE(setup_.upgrade(
      client, "/headers",
      {{"X-Forwarded-For", "10.0.0.1"}, {"Forwarded", "for=10.0.0.1"}, {"Host", "ws.example"}}));
  const auto message = client.recv_message();
  ASSERT_TRUE(message) << client.last_error();
  const std::string& json = message->payload;
  EXPECT_NE(json.find(R"("x-forwarded-for":"10.0.0.1, 127.0.0.1")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("forwarded":"for=10.0.0.1, for=127.0.0.1;proto=)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("x-forwarded-host":"ws.example")"), std::string::npos) << json;
}

// ---- frame checks ----

TEST_P(GatewayEchoTest, UnmaskedClientFrameGetsProtocolError) {
  WsClient client;
  ASSERT_TRUE(setup_.upgrade(client));
  ASSERT_TRUE(client.send_frame(ws::Opcode::kText, "not masked", true, /*masked=*/false));
  const auto peer_close = client.expect_close(3s);
  ASSERT_TRUE(peer_close) << client.last_error();
  EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(ws::close_code::kProtocolError));
  EXPECT_EQ(client.discarded_messages(), 0u);  // the bad frame was not echoed
  EXPECT_TRUE(client.wait_eof(3s)) << client.last_error();
}

TEST_P(GatewayEchoTest, MessageOverRouteLimitGetsMessageTooBig) {
  WsClient client;
  ASSERT_TRUE(setup_.upgrade(client, "/small"));
  const std::string fits = text_payload(1024, 1);
  ASSERT_TRUE(client.send_text(fits));
  const auto echoed = client.recv_message();
  ASSERT_TRUE(echoed) << client.last_error();
  EXPECT_TRUE(echoed->payload == fits);
  ASSERT_TRUE(client.send_text(text_payload(2048, 2)));
  const auto peer_close = client.expect_close(3s);
  ASSERT_TRUE(peer_close) << client.last_error();
  EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(ws::close_code::kMessageTooBig));
  EXPECT_EQ(client.discarded_messages(), 0u);
  EXPECT_TRUE(client.wait_eof(3s)) << client.last_error();
}

TEST_P(GatewayEchoTest, FragmentedMessageOverRouteLimitGetsMessageTooBig) {
  WsClient client;
  ASSERT_TRUE(setup_.upgrade(client, "/small"));
  ASSERT_TRUE(client.send_message(ws::Opcode::kBinary, binary_payload(2048, 3), 512));
  const auto peer_close = client.expect_close(3s);
  ASSERT_TRUE(peer_close) << client.last_error();
  EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(ws::close_code::kMessageTooBig));
}

}  // namespace
}  // namespace wsgate::test
