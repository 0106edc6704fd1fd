// wsgate end to end over HTTP/1.1: a side that goes away mid-stream, and the SIGTERM drain, over
// cleartext and TLS listeners. A backend that drops or dies → close 1011 to the client, then TCP
// close; a client that resets or vanishes → a masked close 1001 to the backend (seen by a
// recording TinyServer backend); SIGTERM → close 1001 to every client and exit 0 within
// drain_timeout.
#include <gtest/gtest.h>
#include <signal.h>

#include <mutex>
#include <string>
#include <vector>

#include "tests/integration/client_helpers.hpp"
#include "tests/integration/gateway_test_util.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/ws_client.hpp"
#include "ws/handshake.hpp"

namespace wsgate::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kConfig = R"(
workers: ${WORKERS}
drain_timeout: 3s
listeners:
${LISTENER}access_log:
  path: off
limits:
  close_timeout: ${CLOSE_TIMEOUT}
routes:
  - name: echo
    backend: echo
backends:
  - name: echo
    endpoints: [${BACKEND}]
)";

std::string gateway_config(ClientTransport transport, const std::string& backend, int workers = 1,
                           std::string_view close_timeout = "2s") {
  return format_template(kConfig, {{"LISTENER", listener_yaml(transport)},
                                   {"BACKEND", backend},
                                   {"WORKERS", std::to_string(workers)},
                                   {"CLOSE_TIMEOUT", std::string(close_timeout)}});
}

class GatewayCloseTest : public ::testing::TestWithParam<ClientTransport> {
 protected:
  ClientTransport transport() const { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(Gateway, GatewayCloseTest,
                         ::testing::Values(ClientTransport::kPlain, ClientTransport::kTls),
                         transport_param_name);

// The client's view of a backend that went away: close 1011, and after the client's answer the
// gateway closes TCP.
void expect_backend_failure_close(WsClient& client) {
  const auto peer_close = client.expect_close(3s);
  ASSERT_TRUE(peer_close) << client.last_error();
  EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(ws::close_code::kInternalError));
  ASSERT_TRUE(client.close(ws::close_code::kInternalError));
  EXPECT_TRUE(client.wait_eof(3s)) << client.last_error();
  client.disconnect();  // else the gateway waits close_timeout for our FIN
}

// ---- the backend goes away ----

TEST_P(GatewayCloseTest, BackendDroppingTcpGivesClient1011ThenTcpClose) {
  EchoBackend echo;
  Gateway gateway(gateway_config(transport(), echo.address()));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), transport(), "/?drop_after_ms=100"));
  expect_backend_failure_close(client);
  EXPECT_EQ(gateway.stop(5s), 0);
}

TEST_P(GatewayCloseTest, BackendKilledMidStreamGivesClient1011ThenTcpClose) {
  EchoBackend echo;
  Gateway gateway(gateway_config(transport(), echo.address()));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), transport()));
  ASSERT_TRUE(client.send_text("before the crash"));
  const auto echoed = client.recv_message();
  ASSERT_TRUE(echoed) << client.last_error();
  EXPECT_EQ(echoed->payload, "before the crash");
  echo.process().kill();  // SIGKILL: the kernel closes its sockets, no close frame
  expect_backend_failure_close(client);
  EXPECT_EQ(gateway.stop(5s), 0);
}

TEST_P(GatewayCloseTest, BackendDropWithoutClientAnswerStillEndsTheConnection) {
  EchoBackend echo;
  Gateway gateway(gateway_config(transport(), echo.address(), 1, "1s"));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), transport(), "/?drop_after_ms=50"));
  const auto peer_close = client.expect_close(3s);
  ASSERT_TRUE(peer_close) << client.last_error();
  EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(ws::close_code::kInternalError));
  EXPECT_TRUE(client.wait_eof(3s)) << client.last_error();  // bounded by close_timeout: 1s
  EXPECT_EQ(gateway.stop(5s), 0);
}

// ---- the client goes away: what the backend sees ----

void expect_going_away_to_backend(RecordingBackend& backend) {
  ASSERT_TRUE(backend.wait_done(5s));
  const std::vector<raw::RawFrame> frames = backend.frames();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].opcode, 0x1);
  EXPECT_TRUE(frames[0].masked);
  EXPECT_EQ(frames[0].payload, "last words");
  const raw::RawFrame& close = frames[1];
  EXPECT_EQ(close.opcode, 0x8);
  EXPECT_TRUE(close.masked) << "RFC 6455 §5.1: the gateway is the backend's client and must mask";
  ASSERT_GE(close.payload.size(), 2u);
  EXPECT_EQ((static_cast<std::uint8_t>(close.payload[0]) << 8) | static_cast<std::uint8_t>(close.payload[1]),
            ws::close_code::kGoingAway);
}

TEST_P(GatewayCloseTest, ClientResetSendsMaskedGoingAwayToBackend) {
  RecordingBackend backend;
  Gateway gateway(gateway_config(transport(), backend.address()));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), transport()));
  ASSERT_TRUE(client.send_text("last words"));
  std::this_thread::sleep_for(100ms);  // let the frame through before the RST discards it
  client.abort();
  expect_going_away_to_backend(backend);
  EXPECT_EQ(gateway.stop(5s), 0);
}

TEST_P(GatewayCloseTest, ClientVanishingWithoutCloseSendsMaskedGoingAwayToBackend) {
  RecordingBackend backend;
  Gateway gateway(gateway_config(transport(), backend.address()));
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway.port("main"), transport()));
  ASSERT_TRUE(client.send_text("last words"));
  client.disconnect();  // FIN, no close frame
  expect_going_away_to_backend(backend);
  EXPECT_EQ(gateway.stop(5s), 0);
}

// The client resets while the backend→client buffer is full (a flood the client never read). The
// gateway sends the backend close 1001 and must keep reading the backend, dropping its data, to
// see its close or its end: here the backend process exits, so the gateway should let go of the
// backend socket at once rather than after close_timeout (5 s).
TEST_P(GatewayCloseTest, ClientResetDuringBackendFloodReleasesTheBackendPromptly) {
  EchoBackend echo;
  Gateway gateway(gateway_config(transport(), echo.address(), 1, "5s"));
  const auto fds_before = gateway.process().open_fd_count();
  ASSERT_TRUE(fds_before);
  WsClient slow;
  slow.set_recv_buffer(4096);
  ASSERT_TRUE(upgrade_client(slow, gateway.port("main"), transport(), "/?flood=67108864"));
  std::this_thread::sleep_for(300ms);  // the flood fills the client's window and the gateway's buffer
  EXPECT_EQ(gateway.process().open_fd_count(), *fds_before + 2);  // client and backend sockets
  slow.abort();
  ASSERT_EQ(echo.stop(5s), 0);  // the backend's socket closes with it
  EXPECT_TRUE(wait_until([&] { return gateway.process().open_fd_count() == fds_before; }, 1500ms))
      << "the gateway still holds " << gateway.process().open_fd_count().value_or(0) - *fds_before
      << " socket(s) of the WebSocket 1.5 s after both peers went away";
  EXPECT_EQ(gateway.stop(8s), 0);
}

TEST_P(GatewayCloseTest, BackendSeesNoClientKeyAndAGatewayHandshake) {
  RecordingBackend backend;
  Gateway gateway(gateway_config(transport(), backend.address()));
  WsClient client;
  ASSERT_TRUE(connect_client(client, gateway.port("main"), transport()));
  const std::string key = client.send_handshake_request("/chat?room=1");
  const HandshakeResult result = client.read_response(key);
  ASSERT_TRUE(result.upgraded()) << result.status << " " << result.error;
  const std::string head = backend.request_head();
  EXPECT_TRUE(head.starts_with("GET /chat?room=1 HTTP/1.1\r\n")) << head;
  const auto backend_key = raw::header_value(head, "Sec-WebSocket-Key");
  ASSERT_TRUE(backend_key) << head;
  EXPECT_NE(*backend_key, key);
  EXPECT_TRUE(ws::is_valid_key(*backend_key)) << *backend_key;
  EXPECT_EQ(raw::header_value(head, "Sec-WebSocket-Version").value_or(""), "13");
  const auto peer_close = client.close_and_wait(1000, "done", 3s);
  ASSERT_TRUE(peer_close) << client.last_error();
  EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(1000));
  EXPECT_EQ(peer_close->close_reason, "done");
  EXPECT_TRUE(client.wait_eof(3s)) << client.last_error();
  client.disconnect();
  EXPECT_EQ(gateway.stop(5s), 0);
}

// ---- SIGTERM drain ----

TEST_P(GatewayCloseTest, SigtermClosesEveryWebSocketWith1001AndExitsZero) {
  EchoBackend echo;
  Gateway gateway(gateway_config(transport(), echo.address(), 2));
  std::vector<WsClient> clients(3);
  for (std::size_t i = 0; i < clients.size(); ++i) {
    ASSERT_TRUE(upgrade_client(clients[i], gateway.port("main"), transport()));
    ASSERT_TRUE(clients[i].send_text("client " + std::to_string(i)));
    ASSERT_TRUE(clients[i].recv_message()) << clients[i].last_error();
  }
  const auto start = Clock::now();
  ASSERT_TRUE(gateway.process().send_signal(SIGTERM));
  for (std::size_t i = 0; i < clients.size(); ++i) {
    SCOPED_TRACE(i);
    const auto peer_close = clients[i].expect_close(3s);
    ASSERT_TRUE(peer_close) << clients[i].last_error();
    EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(ws::close_code::kGoingAway));
    ASSERT_TRUE(clients[i].close(ws::close_code::kGoingAway));
  }
  // RFC 6455 §7.1.1: the gateway closes TCP first (FIN); the client then closes its end.
  for (auto& client : clients) {
    EXPECT_TRUE(client.wait_eof(3s)) << client.last_error();
    client.disconnect();
  }
  EXPECT_EQ(gateway.process().wait_exit(3s), 0) << gateway.process().log_tail();
  EXPECT_LT(Clock::now() - start, 2s);  // well within drain_timeout: 3s
  EXPECT_EQ(gateway.process().count_lines(std::regex("drain timeout")), 0u) << gateway.process().log_tail();
  // Nothing listens any more.
  WsClient late;
  EXPECT_FALSE(late.connect("127.0.0.1", gateway.port("main"), 1s));
}

TEST_P(GatewayCloseTest, SigtermWithAClientThatNeverAnswersExitsWithinDrainTimeout) {
  EchoBackend echo;
  Gateway gateway(gateway_config(transport(), echo.address(), 1, "10s"));
  WsClient polite;
  WsClient mute;
  ASSERT_TRUE(upgrade_client(polite, gateway.port("main"), transport()));
  ASSERT_TRUE(upgrade_client(mute, gateway.port("main"), transport()));
  const auto start = Clock::now();
  ASSERT_TRUE(gateway.process().send_signal(SIGTERM));
  const auto peer_close = polite.expect_close(3s);
  ASSERT_TRUE(peer_close) << polite.last_error();
  EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(ws::close_code::kGoingAway));
  ASSERT_TRUE(polite.close(ws::close_code::kGoingAway));
  // `mute` reads nothing and never answers.
  EXPECT_EQ(gateway.process().wait_exit(5s), 0) << gateway.process().log_tail();
  EXPECT_LT(Clock::now() - start, 4s);  // drain_timeout: 3s, plus 1 s
  EXPECT_TRUE(mute.wait_eof(1s)) << mute.last_error();
}

}  // namespace
}  // namespace wsgate::test
