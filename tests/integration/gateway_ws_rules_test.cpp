// wsgate end to end over HTTP/1.1: the WebSocket-aware route options (issue 6). Keep-alive PINGs on
// the wire at the interval and their PONGs consumed; a client or backend that never answers is
// closed after interval + timeout with 1011 to the other side; the unsolicited PONG heartbeat;
// peer PINGs forwarded or answered; idle_timeout; per-route handshake/close timeouts;
// max_frame_bytes; max_websockets → 503; require_subprotocol → 400; routing by subprotocol;
// route_defaults; the listener's max_connections. Backends are wsgate-echo or a recording
// TinyServer (gateway_test_util.hpp) that shows what the gateway sent it.
#include <gtest/gtest.h>

#include <chrono>
#include <initializer_list>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/client_helpers.hpp"
#include "tests/integration/gateway_test_util.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/ws_client.hpp"

namespace wsgate::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// One route "ws" (options in ${ROUTE}) to ${BACKEND}; ${EXTRA} adds top-level keys or routes first.
constexpr std::string_view kConfig = R"(
workers: 1
drain_timeout: 2s
listeners:
  - name: main
    address: 127.0.0.1:0
    protocols: [http/1.1]
${LISTENER_EXTRA}access_log:
  path: off
limits:
  close_timeout: 2s
${EXTRA}routes:
${ROUTES}  - name: ws
    backend: b
${ROUTE}backends:
  - name: b
    endpoints: [${BACKEND}]
)";

std::string config(const std::string& backend, std::string_view route_options, std::string_view extra = {},
                   std::string_view routes = {}, std::string_view listener_extra = {}) {
  return format_template(kConfig, {{"BACKEND", backend},
                                   {"ROUTE", std::string(route_options)},
                                   {"EXTRA", std::string(extra)},
                                   {"ROUTES", std::string(routes)},
                                   {"LISTENER_EXTRA", std::string(listener_extra)}});
}

// The value of a Prometheus sample whose line starts with `name{` and carries every label in
// `labels` ("route=\"ws\""); 0 when absent.
double metric(Gateway& gateway, std::string_view name, const std::vector<std::string>& labels) {
  const auto port = gateway.admin_port();
  if (!port) return -1;
  const HttpResponse r = http_get(*port, "/metrics");
  std::size_t pos = 0;
  while (pos < r.body.size()) {
    std::size_t end = r.body.find('\n', pos);
    if (end == std::string::npos) end = r.body.size();
    std::string_view line(r.body.data() + pos, end - pos);
    pos = end + 1;
    if (!line.starts_with(std::string(name) + "{")) continue;
    bool all = true;
    for (const auto& l : labels) all = all && line.find(l) != std::string_view::npos;
    if (!all) continue;
    return std::stod(std::string(line.substr(line.rfind(' ') + 1)));
  }
  return 0;
}

// Waits (bounded) until metric() reads `expected`: a WebSocket is counted when it has fully ended.
::testing::AssertionResult metric_reaches(Gateway& gateway, std::string_view name,
                                          const std::vector<std::string>& labels, double expected) {
  double last = 0;
  if (wait_until([&] { return (last = metric(gateway, name, labels)) == expected; }, 5s)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << name << " is " << last << ", expected " << expected;
}

// wsgate_websocket_timeouts_total{route="ws",kind=`kind`} reaches 1.
::testing::AssertionResult timeout_counted(Gateway& gateway, std::string_view kind) {
  return metric_reaches(gateway, "wsgate_websocket_timeouts_total",
                        {"route=\"ws\"", "kind=\"" + std::string(kind) + "\""}, 1);
}

std::optional<std::uint16_t> close_code_of(const raw::RawFrame& frame) {
  if (frame.opcode != 0x8 || frame.payload.size() < 2) return std::nullopt;
  return static_cast<std::uint16_t>((static_cast<std::uint8_t>(frame.payload[0]) << 8) |
                                    static_cast<std::uint8_t>(frame.payload[1]));
}

// The close code of the first close frame the recording backend got (once it finished).
std::optional<std::uint16_t> backend_close_code(RecordingBackend& backend) {
  if (!backend.wait_done(6s)) return std::nullopt;
  for (const auto& f : backend.frames()) {
    if (f.opcode == 0x8) return close_code_of(f);
  }
  return std::nullopt;
}

// ---- keep-alive toward the client ----

TEST(GatewayKeepalive, PingsTheClientAtTheIntervalAndConsumesItsPongs) {
  RecordingBackend backend;
  Gateway gateway(config(backend.address(), "    keepalive: {interval: 200ms, timeout: 2s}\n"));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), ClientTransport::kPlain));
  client.set_auto_pong(false);
  std::vector<Clock::time_point> seen;
  std::vector<std::string> payloads;
  const auto start = Clock::now();
  while (seen.size() < 3) {
    auto ping = client.recv_message(2s, kReturnPings);
    ASSERT_TRUE(ping) << client.last_error();
    ASSERT_EQ(ping->opcode, ws::Opcode::kPing);
    EXPECT_EQ(ping->payload.size(), 8u);
    seen.push_back(Clock::now());
    payloads.push_back(ping->payload);
    ASSERT_TRUE(client.send_frame(ws::Opcode::kPong, ping->payload));
  }
  // The first after one interval of silence, then one per interval (each PONG is traffic).
  EXPECT_GE(seen[0] - start, 150ms);
  EXPECT_GE(seen[1] - seen[0], 150ms);
  EXPECT_GE(seen[2] - seen[1], 150ms);
  EXPECT_LT(seen[2] - start, 3s);
  EXPECT_NE(payloads[0], payloads[1]);  // unique payloads
  EXPECT_NE(payloads[1], payloads[2]);
  // Still open; the PONGs never reached the backend.
  ASSERT_TRUE(client.send_text("after pings"));
  ASSERT_TRUE(client.close_and_wait(1000, {}, 3s));
  ASSERT_TRUE(backend.wait_done(5s));
  std::vector<int> opcodes;
  for (const auto& f : backend.frames()) opcodes.push_back(f.opcode);
  EXPECT_EQ(opcodes, (std::vector<int>{0x1, 0x8}));
}

TEST(GatewayKeepalive, ClientThatNeverAnswersIsClosedAfterIntervalPlusTimeoutAndBackendGets1011) {
  RecordingBackend backend;
  Gateway gateway(config(backend.address(), "    keepalive: {interval: 200ms, timeout: 300ms}\n"));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), ClientTransport::kPlain));
  client.set_auto_pong(false);
  const auto start = Clock::now();
  auto ping = client.recv_message(2s, kReturnPings);
  ASSERT_TRUE(ping) << client.last_error();
  EXPECT_EQ(ping->opcode, ws::Opcode::kPing);
  // No PONG: the gateway aborts the client (no close frame can be expected from a dead peer).
  EXPECT_TRUE(client.wait_eof(3s));
  const auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, 450ms);
  EXPECT_LT(elapsed, 2500ms);
  EXPECT_EQ(backend_close_code(backend), std::optional<std::uint16_t>(1011));
  EXPECT_TRUE(metric_reaches(gateway, "wsgate_websocket_timeouts_total",
                             {"route=\"ws\"", "kind=\"client_keepalive\""}, 1));
}

TEST(GatewayKeepalive, DataFromTheClientPostponesThePing) {
  RecordingBackend backend;
  Gateway gateway(config(backend.address(), "    keepalive: {interval: 400ms, timeout: 200ms}\n"));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), ClientTransport::kPlain));
  client.set_auto_pong(false);
  // Traffic every 100 ms for a second: the client is never silent for an interval.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(client.send_text("tick"));
    auto frame = client.recv_frame(100ms);
    EXPECT_FALSE(frame) << "unexpected frame, opcode " << static_cast<int>(frame ? frame->header.opcode : 0);
  }
  ASSERT_TRUE(client.close_and_wait(1000, {}, 3s)) << client.last_error();
}

TEST(GatewayKeepalive, UnsolicitedPongHeartbeatWithoutTimeout) {
  RecordingBackend backend;
  Gateway gateway(config(backend.address(), "    keepalive: {interval: 150ms}\n"));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), ClientTransport::kPlain));
  client.set_auto_pong(false);
  std::vector<Clock::time_point> seen;
  while (seen.size() < 3) {
    auto pong = client.recv_message(2s, kReturnControl);
    ASSERT_TRUE(pong) << client.last_error();
    ASSERT_EQ(pong->opcode, ws::Opcode::kPong);
    seen.push_back(Clock::now());
  }
  EXPECT_GE(seen[2] - seen[0], 200ms);
  // Nobody answers heartbeats, and nobody is closed for not answering.
  ASSERT_TRUE(client.send_text("still here"));
  ASSERT_TRUE(client.close_and_wait(1000, {}, 3s)) << client.last_error();
  std::vector<int> opcodes;
  ASSERT_TRUE(backend.wait_done(5s));
  for (const auto& f : backend.frames()) opcodes.push_back(f.opcode);
  EXPECT_EQ(opcodes, (std::vector<int>{0x1, 0x8}));
}

// ---- keep-alive toward the backend ----

TEST(GatewayKeepalive, BackendPongsAreConsumedNotForwarded) {
  EchoBackend echo;  // answers PINGs
  Gateway gateway(config(echo.address(), "    keepalive: {backend: {interval: 100ms, timeout: 1s}}\n"));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), ClientTransport::kPlain));
  // Several keep-alive rounds with the backend: the client sees none of it.
  auto frame = client.recv_frame(700ms);
  EXPECT_FALSE(frame) << "client got opcode " << static_cast<int>(frame ? frame->header.opcode : 0);
  ASSERT_TRUE(client.send_text("echo me"));
  auto echoed = client.recv_message(2s);
  ASSERT_TRUE(echoed) << client.last_error();
  EXPECT_EQ(echoed->payload, "echo me");
  ASSERT_TRUE(client.close_and_wait(1000, {}, 3s));
}

TEST(GatewayKeepalive, SilentBackendIsDeadAfterIntervalPlusTimeoutClientGets1011) {
  RecordingBackend backend;  // never answers PINGs
  Gateway gateway(config(backend.address(), "    keepalive: {backend: {interval: 200ms, timeout: 300ms}}\n"));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), ClientTransport::kPlain));
  const auto start = Clock::now();
  auto close = client.expect_close(3s);
  ASSERT_TRUE(close) << client.last_error();
  EXPECT_EQ(close->close_code, std::optional<std::uint16_t>(1011));
  EXPECT_GE(Clock::now() - start, 450ms);
  ASSERT_TRUE(backend.wait_done(6s));
  ASSERT_FALSE(backend.frames().empty());
  const raw::RawFrame ping = backend.frames().front();
  EXPECT_EQ(ping.opcode, 0x9);
  EXPECT_TRUE(ping.masked);  // the gateway is the backend's client (RFC 6455 §5.3)
  EXPECT_EQ(ping.payload.size(), 8u);
  EXPECT_TRUE(metric_reaches(gateway, "wsgate_websocket_timeouts_total",
                             {"route=\"ws\"", "kind=\"backend_keepalive\""}, 1));
}

// ---- PINGs from peers ----

TEST(GatewayPeerPings, ForwardedByDefault) {
  RecordingBackend backend(/*answer_pings=*/true);
  Gateway gateway(config(backend.address(), ""));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), ClientTransport::kPlain));
  ASSERT_TRUE(client.send_ping("are you there"));
  auto pong = client.recv_message(2s, kReturnPongs);
  ASSERT_TRUE(pong) << client.last_error();
  EXPECT_EQ(pong->opcode, ws::Opcode::kPong);
  EXPECT_EQ(pong->payload, "are you there");
  ASSERT_TRUE(client.close_and_wait(1000, {}, 3s));
  ASSERT_TRUE(backend.wait_done(5s));
  ASSERT_FALSE(backend.frames().empty());
  EXPECT_EQ(backend.frames().front().opcode, 0x9);
}

TEST(GatewayPeerPings, AnsweredByTheGatewayWhenConfigured) {
  RecordingBackend backend;  // would never answer
  Gateway gateway(config(backend.address(), "    keepalive: {peer_pings: answer}\n"));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), ClientTransport::kPlain));
  ASSERT_TRUE(client.send_ping("one"));
  ASSERT_TRUE(client.send_ping("two"));
  auto pong = client.recv_message(2s, kReturnPongs);
  ASSERT_TRUE(pong) << client.last_error();
  EXPECT_EQ(pong->opcode, ws::Opcode::kPong);
  EXPECT_TRUE(pong->payload == "one" || pong->payload == "two") << pong->payload;
  ASSERT_TRUE(client.send_text("data"));
  ASSERT_TRUE(client.close_and_wait(1000, {}, 3s));
  ASSERT_TRUE(backend.wait_done(5s));
  std::vector<int> opcodes;
  for (const auto& f : backend.frames()) opcodes.push_back(f.opcode);
  EXPECT_EQ(opcodes, (std::vector<int>{0x1, 0x8}));  // the PINGs stayed at the gateway
}

// ---- idle timeout ----

TEST(GatewayIdleTimeout, NoDataMessagesClosesBothSidesWith1001EvenWithPings) {
  RecordingBackend backend(/*answer_pings=*/true);
  Gateway gateway(config(backend.address(), "    idle_timeout: 400ms\n"));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), ClientTransport::kPlain));
  const auto start = Clock::now();
  // PINGs are not data: they do not keep the WebSocket from being idle.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.send_ping("p"));
    ASSERT_TRUE(client.recv_message(1s, kReturnPongs));
  }
  auto close = client.expect_close(3s);
  ASSERT_TRUE(close) << client.last_error();
  EXPECT_EQ(close->close_code, std::optional<std::uint16_t>(1001));
  EXPECT_GE(Clock::now() - start, 350ms);
  ASSERT_TRUE(client.close(1001));
  EXPECT_EQ(backend_close_code(backend), std::optional<std::uint16_t>(1001));
  EXPECT_TRUE(timeout_counted(gateway, "idle"));
}

TEST(GatewayIdleTimeout, DataMessagesKeepItOpen) {
  EchoBackend echo;
  Gateway gateway(config(echo.address(), "    idle_timeout: 300ms\n"));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), ClientTransport::kPlain));
  for (int i = 0; i < 8; ++i) {  // 800 ms of traffic, one message per 100 ms
    ASSERT_TRUE(client.send_text("m" + std::to_string(i)));
    auto echoed = client.recv_message(1s);
    ASSERT_TRUE(echoed) << client.last_error();
    ASSERT_EQ(echoed->payload, "m" + std::to_string(i));
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(client.close_and_wait(1000, {}, 3s));
}

// ---- handshake and close timeouts per route ----

TEST(GatewayRouteTimeouts, RouteHandshakeTimeoutOverridesTheBackends) {
  TinyServer silent([](int) {}, /*accept_connections=*/false);  // TCP connects, nothing answers
  Gateway gateway(config(silent.address(), "    handshake_timeout: 300ms\n"));
  WsClient client;
  ASSERT_TRUE(connect_client(client, gateway.port("main"), ClientTransport::kPlain));
  const auto start = Clock::now();
  const HandshakeResult r = client.handshake("/", "", {}, 5s);
  EXPECT_EQ(r.status, 504);
  EXPECT_LT(Clock::now() - start, 2s);  // the backend's default is 5 s
}

TEST(GatewayRouteTimeouts, RouteCloseTimeoutEndsAHalfClosedWebSocket) {
  // A backend that takes the close and never answers it.
  TinyServer mute([](int fd) {
    auto head = raw::read_head(fd, 5s);
    if (!head) return;
    const std::string key = raw::header_value(*head, "Sec-WebSocket-Key").value_or("");
    raw::write_all(fd,
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: " +
                       ws::compute_accept(key) + "\r\n\r\n");
    while (raw::read_frame(fd, 3s)) {
    }
  });
  Gateway gateway(config(mute.address(), "    close_timeout: 300ms\n"));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), ClientTransport::kPlain));
  const auto start = Clock::now();
  ASSERT_TRUE(client.close(1000));
  EXPECT_TRUE(client.wait_eof(3s));
  EXPECT_LT(Clock::now() - start, 1500ms);  // limits.close_timeout is 2 s here
  EXPECT_TRUE(timeout_counted(gateway, "close"));
}

// ---- limits ----

TEST(GatewayLimits, FrameOverMaxFrameBytesGets1009AndTheBackend1001) {
  RecordingBackend backend;
  Gateway gateway(config(backend.address(), "    max_frame_bytes: 100\n"));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), ClientTransport::kPlain));
  ASSERT_TRUE(client.send_text(std::string(60, 'a')));   // fits
  ASSERT_TRUE(client.send_text(std::string(200, 'b')));  // one frame of 200 bytes
  auto close = client.expect_close(3s);
  ASSERT_TRUE(close) << client.last_error();
  EXPECT_EQ(close->close_code, std::optional<std::uint16_t>(1009));
  ASSERT_TRUE(backend.wait_done(6s));
  const auto frames = backend.frames();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].payload, std::string(60, 'a'));
  EXPECT_EQ(close_code_of(frames[1]), std::optional<std::uint16_t>(1001));
}

TEST(GatewayLimits, FragmentsUnderMaxFrameBytesPassAMessageOverIt) {
  EchoBackend echo;
  Gateway gateway(config(echo.address(), "    max_frame_bytes: 100\n"));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), ClientTransport::kPlain));
  const std::string payload(90, 'x');
  ASSERT_TRUE(client.send_message(ws::Opcode::kText, payload + payload + payload, 90));
  auto echoed = client.recv_message(2s);
  ASSERT_TRUE(echoed) << client.last_error();
  EXPECT_EQ(echoed->payload.size(), 270u);
}

TEST(GatewayLimits, MaxWebsocketsPerRouteAnswers503BeyondAndFreesSlotsOnClose) {
  EchoBackend echo;
  Gateway gateway(config(echo.address(), "    max_websockets: 2\n"));
  WsClient a, b, c;
  ASSERT_TRUE(upgrade_client(a, gateway.port("main"), ClientTransport::kPlain));
  ASSERT_TRUE(upgrade_client(b, gateway.port("main"), ClientTransport::kPlain));
  ASSERT_TRUE(connect_client(c, gateway.port("main"), ClientTransport::kPlain));
  const HandshakeResult refused = c.handshake("/");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.headers.get("Retry-After"), std::optional<std::string_view>("1"));
  ASSERT_TRUE(a.close_and_wait(1000, {}, 3s));
  a.disconnect();
  // The slot comes back once the WebSocket has ended.
  bool upgraded = false;
  for (int i = 0; i < 50 && !upgraded; ++i) {
    WsClient d;
    ASSERT_TRUE(connect_client(d, gateway.port("main"), ClientTransport::kPlain));
    upgraded = d.handshake("/").upgraded();
    if (!upgraded) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(upgraded);
}

TEST(GatewayLimits, ListenerMaxConnectionsRefusesBeyondAndCountsThem) {
  EchoBackend echo;
  Gateway gateway(config(echo.address(), "", {}, {}, "    max_connections: 2\n"));
  WsClient a, b;
  ASSERT_TRUE(upgrade_client(a, gateway.port("main"), ClientTransport::kPlain));
  ASSERT_TRUE(upgrade_client(b, gateway.port("main"), ClientTransport::kPlain));
  WsClient c;
  if (connect_client(c, gateway.port("main"), ClientTransport::kPlain)) {
    const HandshakeResult r = c.handshake("/", "", {}, 3s);
    EXPECT_FALSE(r.upgraded());
    EXPECT_EQ(r.status, 0);  // reset before any answer
  }
  EXPECT_TRUE(
      metric_reaches(gateway, "wsgate_downstream_connections_rejected_total", {"listener=\"main\""}, 1));
  // The open ones are unaffected.
  ASSERT_TRUE(a.send_text("still fine"));
  auto echoed = a.recv_message(2s);
  ASSERT_TRUE(echoed) << a.last_error();
  EXPECT_EQ(echoed->payload, "still fine");
}

// ---- subprotocols ----

TEST(GatewaySubprotocols, RequireSubprotocolAnswers400WhenNoOfferSurvivesTheAllowList) {
  RecordingBackend backend(false, "chat.v2");
  Gateway gateway(config(backend.address(), "    subprotocols: [chat.v2]\n    require_subprotocol: true\n"));
  WsClient none, other, good;
  ASSERT_TRUE(connect_client(none, gateway.port("main"), ClientTransport::kPlain));
  EXPECT_EQ(none.handshake("/").status, 400);
  ASSERT_TRUE(connect_client(other, gateway.port("main"), ClientTransport::kPlain));
  EXPECT_EQ(other.handshake("/", "", {{"Sec-WebSocket-Protocol", "chat.v1, mqtt"}}).status, 400);
  ASSERT_TRUE(connect_client(good, gateway.port("main"), ClientTransport::kPlain));
  const HandshakeResult r = good.handshake("/", "", {{"Sec-WebSocket-Protocol", "mqtt, chat.v2"}});
  ASSERT_TRUE(r.upgraded()) << r.status << " " << r.body;
  EXPECT_EQ(r.headers.get("Sec-WebSocket-Protocol"), std::optional<std::string_view>("chat.v2"));
  ASSERT_TRUE(good.close_and_wait(1000, {}, 3s));
  ASSERT_TRUE(backend.wait_done(5s));
  // The backend saw only the allowed offer.
  EXPECT_EQ(raw::header_value(backend.request_head(), "Sec-WebSocket-Protocol"),
            std::optional<std::string>("chat.v2"));
}

TEST(GatewaySubprotocols, RoutesMatchOnAnOfferedSubprotocol) {
  RecordingBackend graphql(false, "graphql-transport-ws");
  EchoBackend echo;
  const std::string routes =
      "  - name: graphql\n    match: {path: /api, subprotocol: graphql-transport-ws}\n"
      "    backend: gql\n";
  std::string yaml = config(echo.address(), "", {}, routes);
  yaml += "  - name: gql\n    endpoints: [" + graphql.address() + "]\n";
  Gateway gateway(yaml);
  // Offering graphql-transport-ws on /api → the graphql backend.
  WsClient g;
  ASSERT_TRUE(connect_client(g, gateway.port("main"), ClientTransport::kPlain));
  const HandshakeResult rg = g.handshake("/api", "", {{"Sec-WebSocket-Protocol", "graphql-transport-ws"}});
  ASSERT_TRUE(rg.upgraded()) << rg.status << " " << rg.body;
  EXPECT_EQ(rg.headers.get("Sec-WebSocket-Protocol"),
            std::optional<std::string_view>("graphql-transport-ws"));
  ASSERT_TRUE(g.close_and_wait(1000, {}, 3s));
  ASSERT_TRUE(graphql.wait_done(5s));
  EXPECT_EQ(graphql.connections(), 1u);
  // Offering mqtt on /api → the next route that matches (the echo backend).
  WsClient m;
  ASSERT_TRUE(connect_client(m, gateway.port("main"), ClientTransport::kPlain));
  const HandshakeResult rm = m.handshake("/api", "", {{"Sec-WebSocket-Protocol", "mqtt"}});
  ASSERT_TRUE(rm.upgraded()) << rm.status << " " << rm.body;
  ASSERT_TRUE(m.send_text("to echo"));
  auto echoed = m.recv_message(2s);
  ASSERT_TRUE(echoed) << m.last_error();
  EXPECT_EQ(echoed->payload, "to echo");
  EXPECT_EQ(graphql.connections(), 1u);
}

// ---- strict frames: the offender's close ----

TEST(GatewayStrictFrames, BackendAnswersToEarlierMessagesArriveBeforeTheClients1002) {
  EchoBackend echo;
  Gateway gateway(config(echo.address(), ""));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), ClientTransport::kPlain));
  // A valid message and a frame with an unnegotiated RSV bit, in one write (Autobahn 3.2).
  ASSERT_TRUE(client.send_raw(WsClient::build_frame(0x1, "Hello, world!") +
                              WsClient::build_frame(0x1, "bad", true, ws::MaskKey{1, 2, 3, 4}, 0x20)));
  auto echoed = client.recv_message(3s);
  ASSERT_TRUE(echoed) << client.last_error();
  EXPECT_EQ(echoed->payload, "Hello, world!");
  auto close = client.expect_close(3s);
  ASSERT_TRUE(close) << client.last_error();
  EXPECT_EQ(close->close_code, std::optional<std::uint16_t>(1002));
}

TEST(GatewayStrictFrames, InvalidUtf8MidFrameAfterPartOfItWasForwardedDropsTheConnectionAtOnce) {
  EchoBackend echo;
  Gateway gateway(config(echo.address(), "    validate: full\n"));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), ClientTransport::kPlain));
  // One masked 12-byte text frame sent in parts (Autobahn 6.4.3): the first part is valid and
  // reaches the echo, which streams it back; the second holds U+110000 (invalid).
  const ws::MaskKey key{0, 0, 0, 0};
  std::string frame = WsClient::build_frame(0x1, "abcd\xf4\x90\x80\x80wxyz", true, key);
  const std::size_t header = frame.size() - 12;
  ASSERT_TRUE(client.send_raw(frame.substr(0, header + 4)));
  std::this_thread::sleep_for(300ms);
  const auto start = Clock::now();
  ASSERT_TRUE(client.send_raw(frame.substr(header + 4, 4)));
  EXPECT_TRUE(client.wait_eof(3s));
  EXPECT_LT(Clock::now() - start, 1500ms);  // not close_timeout (2 s here)
}

// A backend breaking RFC 6455: with validate: frames (full for UTF-8) it gets close 1002 (1007),
// masked, and the client 1001.
struct BackendViolation {
  std::string name;
  std::string bytes;  // what the backend sends after its 101
  std::uint16_t code;
  std::string validate = "frames";
};

void PrintTo(const BackendViolation& v, std::ostream* os) { *os << v.name; }

class GatewayBackendViolationTest : public ::testing::TestWithParam<BackendViolation> {};

TEST_P(GatewayBackendViolationTest, BackendGetsItsCloseAndTheClient1001) {
  const BackendViolation& v = GetParam();
  RecordingBackend backend(false, {}, v.bytes);
  Gateway gateway(config(backend.address(), "    validate: " + v.validate + "\n"));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), ClientTransport::kPlain));
  auto close = client.expect_close(3s);
  ASSERT_TRUE(close) << client.last_error();
  EXPECT_EQ(close->close_code, std::optional<std::uint16_t>(1001));
  EXPECT_EQ(client.discarded_messages(), 0u);  // nothing of the bad frame reached the client
  ASSERT_TRUE(backend.wait_done(6s));
  const auto frames = backend.frames();
  ASSERT_FALSE(frames.empty());
  EXPECT_TRUE(frames.back().masked);
  EXPECT_EQ(close_code_of(frames.back()), std::optional<std::uint16_t>(v.code));
}

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out += static_cast<char>(b);
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    Gateway, GatewayBackendViolationTest,
    ::testing::Values(
        BackendViolation{"MaskedFrame", bytes({0x81, 0x81, 1, 2, 3, 4, 'x' ^ 1}), 1002},
        BackendViolation{"UnnegotiatedRsv1", bytes({0xC1, 0x01, 'x'}), 1002},
        BackendViolation{"ReservedOpcode3", bytes({0x83, 0x00}), 1002},
        BackendViolation{"ReservedControlOpcode11", bytes({0x8B, 0x00}), 1002},
        BackendViolation{"FragmentedPing", bytes({0x09, 0x00}), 1002},
        BackendViolation{"PingOver125Bytes", bytes({0x89, 0x7E, 0x00, 0x7E}) + std::string(126, 'p'), 1002},
        BackendViolation{"CloseCode999", bytes({0x88, 0x02, 0x03, 0xE7}), 1002},
        BackendViolation{"CloseWithOneBytePayload", bytes({0x88, 0x01, 0x03}), 1002},
        BackendViolation{"ContinuationWithoutStart", bytes({0x80, 0x01, 'x'}), 1002},
        BackendViolation{"NewMessageInsideFragmented", bytes({0x01, 0x01, 'a', 0x81, 0x01, 'b'}), 1002},
        BackendViolation{"NonMinimalLength", bytes({0x81, 0x7E, 0x00, 0x01, 'x'}), 1002},
        BackendViolation{"InvalidUtf8Text", bytes({0x81, 0x02, 0xC3, 0x28}), 1007, "full"},
        BackendViolation{"InvalidUtf8AcrossFragments", bytes({0x01, 0x01, 0xE2, 0x80, 0x02, 0x82, 0x28}),
                         1007, "full"}),
    [](const ::testing::TestParamInfo<BackendViolation>& p) { return p.param.name; });

TEST(GatewayStrictFrames, ValidateOffTunnelsWhatFramesWouldRefuse) {
  RecordingBackend backend(false, {}, bytes({0xC1, 0x01, 'x'}));  // RSV1 without an extension
  Gateway gateway(config(backend.address(), "    validate: off\n"));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), ClientTransport::kPlain));
  client.set_allowed_rsv(ws::kRsv1);
  auto frame = client.recv_frame(3s);
  ASSERT_TRUE(frame) << client.last_error();
  EXPECT_EQ(frame->header.opcode, 0x1);
  EXPECT_EQ(frame->header.rsv, ws::kRsv1);
  // Boundaries are still tracked: the close handshake completes end to end.
  ASSERT_TRUE(client.close_and_wait(1000, {}, 3s)) << client.last_error();
}

// ---- route_defaults ----

TEST(GatewayRouteDefaults, RoutesInheritAndOverride) {
  RecordingBackend backend;
  const std::string extra = "route_defaults:\n  idle_timeout: 300ms\n  max_frame_bytes: 50\n";
  Gateway gateway(config(backend.address(), "    max_frame_bytes: 1000\n", extra));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), ClientTransport::kPlain));
  ASSERT_TRUE(client.send_text(std::string(500, 'z')));  // over the default, under the route's own
  auto close = client.expect_close(3s);                  // then idle (inherited) closes it
  ASSERT_TRUE(close) << client.last_error();
  EXPECT_EQ(close->close_code, std::optional<std::uint16_t>(1001));
  ASSERT_TRUE(backend.wait_done(6s));
  ASSERT_FALSE(backend.frames().empty());
  EXPECT_EQ(backend.frames().front().payload.size(), 500u);
}

}  // namespace
}  // namespace wsgate::test
