// End-to-end tests of how wsgate answers extended CONNECT requests it will not upgrade (RFC 8441 §4,
// RFC 9113 §8.5) and backend failures, over h2c and h2 over TLS: each answer is a status on its own
// stream, and the connection goes on serving other WebSockets.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/integration/gateway_h2_test_util.hpp"

namespace wsgate::test::h2_gateway {
namespace {

class GatewayH2Errors : public GatewayH2Test {
 protected:
  // Waits for the answer on `stream`, checks its status and that a short text body came with it.
  ::testing::AssertionResult expect_answer(H2Client& client, std::int32_t stream, int status,
                                           std::string* body_out = nullptr,
                                           std::vector<h2::Header>* headers_out = nullptr) {
    if (stream <= 0) return ::testing::AssertionFailure() << "no stream: " << client.last_error();
    const std::optional<H2Response> response = client.wait_response(stream, 5s);
    if (!response) return ::testing::AssertionFailure() << "no answer: " << client.last_error();
    const std::optional<std::string> body =
        response->end_stream ? std::string() : client.read_body(stream, 5s);
    if (!body) return ::testing::AssertionFailure() << "answer body: " << client.last_error();
    if (headers_out != nullptr) *headers_out = response->headers;
    if (body_out != nullptr) *body_out = *body;
    if (response->status != status) {
      return ::testing::AssertionFailure()
             << "status " << response->status << " instead of " << status << ", body: " << *body;
    }
    return ::testing::AssertionSuccess() << "body: " << *body;
  }

  // Header fields of an extended CONNECT written out by hand (pseudo-headers first).
  static std::vector<h2::Header> extended_connect(std::string_view path, std::vector<h2::Header> extra = {}) {
    std::vector<h2::Header> headers{{":method", "CONNECT"},
                                    {":protocol", "websocket"},
                                    {":scheme", "https"},
                                    {":authority", "localhost"},
                                    {":path", std::string(path)}};
    headers.insert(headers.end(), extra.begin(), extra.end());
    return headers;
  }
};

TEST_P(GatewayH2Errors, NoRouteIs404) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  EXPECT_TRUE(expect_answer(client, client.open_websocket("/nowhere"), 404));
  ASSERT_TRUE(still_usable(client, "404"));
}

TEST_P(GatewayH2Errors, PlainGetOnAWebSocketRouteIs400) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::int32_t get = client.submit_request(
      {{":method", "GET"}, {":scheme", "https"}, {":authority", "localhost"}, {":path", "/echo"}}, true);
  EXPECT_TRUE(expect_answer(client, get, 400));
  const std::int32_t unrouted = client.submit_request(
      {{":method", "GET"}, {":scheme", "https"}, {":authority", "localhost"}, {":path", "/nowhere"}}, true);
  EXPECT_TRUE(expect_answer(client, unrouted, 404));
  ASSERT_TRUE(still_usable(client, "400"));
}

TEST_P(GatewayH2Errors, WebSocketVersion8Is426WithVersion13Advertised) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  std::vector<h2::Header> headers;
  EXPECT_TRUE(expect_answer(client,
                            client.open_websocket("/echo", "localhost", {{"sec-websocket-version", "8"}}),
                            426, nullptr, &headers));
  const H2Response response{426, headers, false};
  EXPECT_EQ(response.header("sec-websocket-version"), "13");
  ASSERT_TRUE(still_usable(client, "426"));
}

TEST_P(GatewayH2Errors, AbsentWebSocketVersionIsAccepted) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::int32_t id = client.submit_request(extended_connect("/echo"));
  ASSERT_GT(id, 0) << client.last_error();
  const auto response = client.wait_response(id);
  ASSERT_TRUE(response) << client.last_error();
  ASSERT_EQ(response->status, 200);
  EXPECT_TRUE(echo_once(client, id, "no sec-websocket-version, still a WebSocket"));
}

TEST_P(GatewayH2Errors, OriginOutsideTheAllowListIs403) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  EXPECT_TRUE(expect_answer(
      client, client.open_websocket("/strict", "localhost", {{"origin", "https://evil.example"}}), 403));
  const std::int32_t allowed =
      client.open_websocket("/strict", "localhost", {{"origin", "https://good.example"}});
  const auto response = client.wait_response(allowed);
  ASSERT_TRUE(response) << client.last_error();
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(echo_once(client, allowed, "allowed origin"));
}

TEST_P(GatewayH2Errors, PlainConnectAndUnknownProtocolAre501) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  // RFC 9113 §8.5: a tunnel request has only :method and :authority.
  const std::int32_t tunnel =
      client.submit_request({{":method", "CONNECT"}, {":authority", "localhost:443"}});
  EXPECT_TRUE(expect_answer(client, tunnel, 501));
  std::vector<h2::Header> other = extended_connect("/echo");
  other[1].value = "not-websocket";
  EXPECT_TRUE(expect_answer(client, client.submit_request(other), 501));
  ASSERT_TRUE(still_usable(client, "501"));
}

TEST_P(GatewayH2Errors, ContentLengthOnExtendedConnectIs400) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  EXPECT_TRUE(
      expect_answer(client, client.open_websocket("/echo", "localhost", {{"content-length", "0"}}), 400));
  ASSERT_TRUE(still_usable(client, "content-length 400"));
}

TEST_P(GatewayH2Errors, HeaderListOverTheLimitIs431) {
  start("http2: {max_header_list_size: 4KiB}\n");
  H2Client client;
  ASSERT_TRUE(connect(client));
  std::vector<h2::Header> big;
  for (int i = 0; i < 8; ++i) big.push_back({"x-padding-" + std::to_string(i), std::string(1000, 'a' + i)});
  EXPECT_TRUE(expect_answer(client, client.open_websocket("/echo", "localhost", big), 431));
  // Just under the limit is fine.
  const std::int32_t fits =
      client.open_websocket("/echo", "localhost", {{"x-padding", std::string(2000, 'z')}});
  const auto response = client.wait_response(fits);
  ASSERT_TRUE(response) << client.last_error();
  EXPECT_EQ(response->status, 200);
  ASSERT_TRUE(still_usable(client, "431"));
}

TEST_P(GatewayH2Errors, BackendNon101AnswerPassesThrough) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  std::string body;
  EXPECT_TRUE(expect_answer(client, client.open_websocket("/status/401"), 401, &body));
  EXPECT_EQ(body, "echo: status 401\n");
  ASSERT_TRUE(still_usable(client, "401 from the backend"));
}

TEST_P(GatewayH2Errors, DeadBackendIs502AndTheConnectionStaysUsable) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(expect_answer(client, client.open_websocket("/dead"), 502));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s) << "a refused connect should fail fast";
  ASSERT_TRUE(still_usable(client, "502"));
  // Another WebSocket opened at the same time as a failing one is unaffected.
  const std::int32_t dead = client.open_websocket("/dead");
  const std::int32_t live = open_echo(client);
  ASSERT_GT(live, 0);
  EXPECT_TRUE(expect_answer(client, dead, 502));
  EXPECT_TRUE(echo_once(client, live, "next to a 502"));
}

INSTANTIATE_TEST_SUITE_P(Rfc8441, GatewayH2Errors, kBothTransports, transport_param_name);

}  // namespace
}  // namespace wsgate::test::h2_gateway
