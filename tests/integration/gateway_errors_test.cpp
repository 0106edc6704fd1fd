// wsgate end to end over HTTP/1.1: every answer other than 101, over cleartext and TLS listeners.
// Client mistakes (404, 400, 426, 403, 431, 408) and backend failures (a non-101 answer passed
// through, refused 502, silent 504, bad 101 or 200 → 502, unresolvable 503). The misbehaving
// backends are TinyServers run by the test process (gateway_test_util.hpp).
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "tests/integration/client_helpers.hpp"
#include "tests/integration/gateway_test_util.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/ws_client.hpp"
#include "ws/handshake.hpp"

namespace wsgate::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// No route matches "/" or any path not listed here, so those get 404.
constexpr std::string_view kErrorsConfig = R"(
workers: 1
drain_timeout: 3s
listeners:
${LISTENER}access_log:
  path: off
limits:
  header_read_timeout: 500ms
  max_request_head: 4KiB
  close_timeout: 2s
routes:
  - name: only
    match: {path: /only}
    backend: echo
  - name: origin
    match: {path: /origin}
    backend: echo
    allowed_origins: ["https://good.example"]
  - name: status
    match: {path_prefix: /status/}
    backend: echo
  - name: down
    match: {path: /down}
    backend: down
  - name: silent
    match: {path: /silent}
    backend: silent
  - name: wrong-accept
    match: {path: /wrong-accept}
    backend: wrong-accept
  - name: ok200
    match: {path: /ok200}
    backend: ok200
  - name: unoffered-protocol
    match: {path: /unoffered-protocol}
    backend: unoffered-protocol
  - name: unresolvable
    match: {path: /unresolvable}
    backend: unresolvable
backends:
  - name: echo
    endpoints: [${ECHO}]
  - name: down
    endpoints: [127.0.0.1:${CLOSED_PORT}]
  - name: silent
    endpoints: [${SILENT}]
    handshake_timeout: 300ms
  - name: wrong-accept
    endpoints: [${WRONG_ACCEPT}]
  - name: ok200
    endpoints: [${OK200}]
  - name: unoffered-protocol
    endpoints: [${UNOFFERED}]
  - name: unresolvable
    endpoints: [nonexistent.invalid:80]
)";

// Bytes a broken backend sends after its answer; they must never reach the client.
constexpr std::string_view kLeak = "leaked-backend-bytes";

// A TinyServer handler: reads the upgrade request, writes respond(request head), then reads until
// the gateway closes (at most 3 s).
TinyServer::Handler answer_with(std::function<std::string(const std::string& head)> respond) {
  return [respond = std::move(respond)](int fd) {
    auto head = raw::read_head(fd, 3s);
    if (!head) return;
    raw::write_all(fd, respond(*head) + raw::server_frame(0x1, kLeak));
    const auto deadline = Clock::now() + 3s;
    char buffer[4096];
    while (raw::wait_fd(fd, POLLIN, deadline) && ::recv(fd, buffer, sizeof buffer, 0) > 0) {
    }
  };
}

std::string accept_for(const std::string& head) {
  return ws::compute_accept(raw::header_value(head, "Sec-WebSocket-Key").value_or(""));
}

class GatewayErrorTest : public ::testing::TestWithParam<ClientTransport> {
 protected:
  GatewayErrorTest()
      : silent_(nullptr, /*accept_connections=*/false),
        wrong_accept_(answer_with([](const std::string&) {
          return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: " +
                 ws::compute_accept("AAAAAAAAAAAAAAAAAAAAAA==") + "\r\n\r\n";
        })),
        ok200_(answer_with([](const std::string&) {
          return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                 std::to_string(kLeak.size()) + "\r\n\r\n" + std::string(kLeak);
        })),
        unoffered_(answer_with([](const std::string& head) {
          return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: " +
                 accept_for(head) + "\r\nSec-WebSocket-Protocol: never-offered\r\n\r\n";
        })),
        gateway_(format_template(kErrorsConfig, {{"LISTENER", listener_yaml(GetParam())},
                                                 {"ECHO", echo_.address()},
                                                 {"CLOSED_PORT", std::to_string(closed_port())},
                                                 {"SILENT", silent_.address()},
                                                 {"WRONG_ACCEPT", wrong_accept_.address()},
                                                 {"OK200", ok200_.address()},
                                                 {"UNOFFERED", unoffered_.address()}})) {}

  void TearDown() override { EXPECT_EQ(gateway_.stop(5s), 0); }

  ::testing::AssertionResult connect(WsClient& client) {
    return connect_client(client, gateway_.port("main"), GetParam());
  }

  // One upgrade request on a fresh connection; the answer, with its body.
  HandshakeResult handshake(std::string_view path, const HeaderList& headers = {}) {
    WsClient client;
    if (!connect(client)) return HandshakeResult{};
    return client.handshake(path, "", headers, 5s);
  }

  // A backend answer that is not a valid 101 for what was offered: 502, and none of the backend's
  // bytes after its head reach the client.
  void expect_bad_gateway(std::string_view path, const HeaderList& headers = {}) {
    WsClient client;
    ASSERT_TRUE(connect(client));
    const HandshakeResult result = client.handshake(path, "", headers, 5s);
    EXPECT_EQ(result.status, 502) << result.error;
    EXPECT_FALSE(result.upgraded());
    EXPECT_EQ(result.body.find(kLeak), std::string::npos) << result.body;
    EXPECT_TRUE(client.wait_eof(3s)) << client.last_error();
    EXPECT_EQ(client.buffered_bytes(), 0u);
  }

  EchoBackend echo_;
  TinyServer silent_;
  TinyServer wrong_accept_;
  TinyServer ok200_;
  TinyServer unoffered_;
  Gateway gateway_;
};

INSTANTIATE_TEST_SUITE_P(Gateway, GatewayErrorTest,
                         ::testing::Values(ClientTransport::kPlain, ClientTransport::kTls),
                         transport_param_name);

// ---- client mistakes ----

TEST_P(GatewayErrorTest, NoRouteGets404) {
  const HandshakeResult result = handshake("/elsewhere");
  EXPECT_EQ(result.status, 404) << result.error;
  EXPECT_EQ(result.body, "no route\n");
  EXPECT_TRUE(result.headers.has_token("Connection", "close"));
}

TEST_P(GatewayErrorTest, PlainGetOnWebSocketRouteGets400) {
  WsClient client;
  ASSERT_TRUE(connect(client));
  const HttpResponse response = client.request("GET", "/only", {{"Connection", "close"}});
  EXPECT_EQ(response.status, 400) << response.error;
  EXPECT_EQ(response.body, "this route accepts WebSocket requests only\n");
}

TEST_P(GatewayErrorTest, MalformedHandshakesGet400) {
  const struct {
    const char* name;
    HeaderList headers;
    const char* body;
  } cases[] = {
      {"missing key", {{"Sec-WebSocket-Key", std::nullopt}}, "missing Sec-WebSocket-Key\n"},
      {"bad key", {{"Sec-WebSocket-Key", "not-a-base64-nonce"}}, "invalid Sec-WebSocket-Key\n"},
      {"Connection without upgrade", {{"Connection", "keep-alive"}}, "missing Connection: Upgrade\n"},
      {"a body", {{"Content-Length", "5"}}, "a WebSocket handshake has no body\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const HandshakeResult result = handshake("/only", c.headers);
    EXPECT_EQ(result.status, 400) << result.error;
    EXPECT_EQ(result.body, c.body);
  }
}

TEST_P(GatewayErrorTest, PostWithUpgradeGets400) {
  WsClient client;
  ASSERT_TRUE(connect(client));
  ASSERT_TRUE(client.send_raw(
      "POST /only HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nContent-Length: "
      "0\r\n\r\n"));
  const HandshakeResult result = client.read_response("dGhlIHNhbXBsZSBub25jZQ==", 5s);
  EXPECT_EQ(result.status, 400) << result.error;
  EXPECT_EQ(result.body, "WebSocket handshake must use GET\n");
}

TEST_P(GatewayErrorTest, WrongVersionGets426WithVersion13) {
  const HandshakeResult result = handshake("/only", {{"Sec-WebSocket-Version", "8"}});
  EXPECT_EQ(result.status, 426) << result.error;
  EXPECT_EQ(result.headers.get("Sec-WebSocket-Version").value_or(""), "13");  // RFC 6455 §4.4
}

TEST_P(GatewayErrorTest, OriginOutsideAllowListGets403) {
  const HandshakeResult result = handshake("/origin", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(result.status, 403) << result.error;
  EXPECT_EQ(result.body, "origin not allowed\n");
}

TEST_P(GatewayErrorTest, AllowedOriginAndNoOriginUpgrade) {
  for (const HeaderList& headers : {HeaderList{{"Origin", "https://good.example"}}, HeaderList{}}) {
    WsClient client;
    ASSERT_TRUE(upgrade_client(client, gateway_.port("main"), GetParam(), "/origin", headers));
    ASSERT_TRUE(client.send_text("origin ok"));
    const auto message = client.recv_message();
    ASSERT_TRUE(message) << client.last_error();
    EXPECT_EQ(message->payload, "origin ok");
  }
}

TEST_P(GatewayErrorTest, HeadOverLimitGets431) {
  const HandshakeResult result = handshake("/only", {{"X-Big", std::string(8192, 'b')}});
  EXPECT_EQ(result.status, 431) << result.error;
}

TEST_P(GatewayErrorTest, HeadNotCompletedInTimeGets408) {
  WsClient client;
  ASSERT_TRUE(connect(client));
  const auto start = Clock::now();
  ASSERT_TRUE(client.send_raw("GET /only HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  // Slowloris: one header line every 100 ms; header_read_timeout bounds the whole head (500 ms).
  for (int i = 0; i < 30 && client.pump() == 0 && !client.saw_eof(); ++i) {
    std::this_thread::sleep_for(100ms);
    if (!client.send_raw("X-Slow-" + std::to_string(i) + ": 1\r\n", 100ms)) break;
  }
  const HandshakeResult result = client.read_response({}, 3s);
  const auto elapsed = Clock::now() - start;
  if (result.status != 0) {
    EXPECT_EQ(result.status, 408) << result.error;
  } else {
    EXPECT_TRUE(client.saw_eof()) << "neither 408 nor a closed connection: " << result.error;
  }
  EXPECT_GE(elapsed, 400ms);
  EXPECT_LT(elapsed, 2500ms);
}

// ---- backend failures ----

TEST_P(GatewayErrorTest, BackendNon101AnswerPassesThroughWithItsBody) {
  for (int status : {401, 500}) {
    SCOPED_TRACE(status);
    const HandshakeResult result = handshake("/status/" + std::to_string(status));
    EXPECT_EQ(result.status, status) << result.error;
    EXPECT_EQ(result.body, "echo: status " + std::to_string(status) + "\n");
    EXPECT_FALSE(result.headers.contains("Upgrade"));
  }
}

TEST_P(GatewayErrorTest, BackendRefusingConnectionsGets502) {
  const HandshakeResult result = handshake("/down");
  EXPECT_EQ(result.status, 502) << result.error;
}

TEST_P(GatewayErrorTest, BackendNotAnsweringTheUpgradeGets504) {
  const auto start = Clock::now();
  const HandshakeResult result = handshake("/silent");
  EXPECT_EQ(result.status, 504) << result.error;
  EXPECT_GE(Clock::now() - start, 250ms);  // handshake_timeout: 300ms
  EXPECT_LT(Clock::now() - start, 3s);
}

TEST_P(GatewayErrorTest, BackendWrongAcceptGets502) { expect_bad_gateway("/wrong-accept"); }

TEST_P(GatewayErrorTest, Backend200InsteadOf101Gets502) { expect_bad_gateway("/ok200"); }

TEST_P(GatewayErrorTest, BackendChoosingUnofferedSubprotocolGets502) {
  expect_bad_gateway("/unoffered-protocol", {{"Sec-WebSocket-Protocol", "chat"}});
}

TEST_P(GatewayErrorTest, UnresolvableBackendGets503) {
  const HandshakeResult result = handshake("/unresolvable");
  EXPECT_EQ(result.status, 503) << result.error;
  EXPECT_NE(gateway_.process().log_text().find("cannot resolve nonexistent.invalid:80"), std::string::npos)
      << gateway_.process().log_text();
}

}  // namespace
}  // namespace wsgate::test
