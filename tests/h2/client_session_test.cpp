// Tests h2/client_session.*: waiting for SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3) and the
// extended CONNECT it sends (§4, §5).
#include "h2/client_session.hpp"

#include <gtest/gtest.h>

#include "tests/h2/session_pair.hpp"

namespace wsgate::h2 {
namespace {

using test::SessionPair;

TEST(ClientSessionTest, WaitsForTheServerToEnableExtendedConnect) {
  SessionPair pair;
  EXPECT_FALSE(pair.client->connect_protocol_enabled());
  EXPECT_EQ(pair.client->submit_connect("example.com", "/", "https").error,
            Error::kConnectProtocolNotEnabled);
  EXPECT_TRUE(pair.client->want_write());  // preface and SETTINGS
  EXPECT_TRUE(pair.server->want_write());  // SETTINGS
  pair.pump();
  EXPECT_EQ(pair.client_settings_seen, 1);
  EXPECT_TRUE(pair.client->connect_protocol_enabled());
  EXPECT_EQ(pair.client->submit_connect("example.com", "/", "https").error, Error::kNone);
}

TEST(ClientSessionTest, WithoutTheSettingExtendedConnectIsNotSent) {
  // A server that does not send ENABLE_CONNECT_PROTOCOL: a bare nghttp2 server session.
  nghttp2_session_callbacks* callbacks = nullptr;
  ASSERT_EQ(nghttp2_session_callbacks_new(&callbacks), 0);
  nghttp2_session* server = nullptr;
  ASSERT_EQ(nghttp2_session_server_new(&server, callbacks, nullptr), 0);
  ASSERT_EQ(nghttp2_submit_settings(server, NGHTTP2_FLAG_NONE, nullptr, 0), 0);
  const std::uint8_t* data = nullptr;
  const ssize_t length = nghttp2_session_mem_send(server, &data);
  ASSERT_GT(length, 0);
  ClientSession client({}, {});
  ASSERT_EQ(client.receive({data, static_cast<std::size_t>(length)}).error, Error::kNone);
  EXPECT_FALSE(client.connect_protocol_enabled());
  EXPECT_EQ(client.submit_connect("example.com", "/", "https").error, Error::kConnectProtocolNotEnabled);
  nghttp2_session_del(server);
  nghttp2_session_callbacks_del(callbacks);
}

TEST(ClientSessionTest, SubmitConnectValidatesItsArguments) {
  SessionPair pair;
  pair.pump();
  EXPECT_EQ(pair.client->submit_connect("", "/", "https").error, Error::kInvalidArgument);
  EXPECT_EQ(pair.client->submit_connect("a", "", "https").error, Error::kInvalidArgument);
  const std::vector<Header> upper{{"Origin", "x"}};
  EXPECT_EQ(pair.client->submit_connect("a", "/", "https", upper).error, Error::kInvalidArgument);
  const std::vector<Header> hop{{"upgrade", "websocket"}};
  EXPECT_EQ(pair.client->submit_connect("a", "/", "https", hop).error, Error::kInvalidArgument);
  EXPECT_EQ(pair.client->submit_request({}, false).error, Error::kInvalidArgument);
}

TEST(ClientSessionTest, StreamIdsAreOddAndIncreasing) {
  SessionPair pair;
  pair.pump();
  const std::int32_t first = pair.client->submit_connect("a", "/", "https").stream_id;
  const std::int32_t second = pair.client->submit_connect("a", "/", "https").stream_id;
  EXPECT_EQ(first % 2, 1);
  EXPECT_EQ(second, first + 2);
  EXPECT_EQ(pair.client->stream_count(), 2u);
}

TEST(ClientSessionTest, VersionHeaderCanBeOverridden) {
  SessionPair pair;
  pair.auto_accept();
  const std::vector<Header> extra{{"sec-websocket-version", "8"}};
  const std::int32_t id = pair.open("/", extra);
  pair.pump();
  const RequestHeaders& request = pair.requests[id];
  EXPECT_EQ(request.header("sec-websocket-version"), "8");
  EXPECT_EQ(std::count_if(request.headers.begin(), request.headers.end(),
                          [](const Header& h) { return h.name == "sec-websocket-version"; }),
            1);
}

}  // namespace
}  // namespace wsgate::h2
