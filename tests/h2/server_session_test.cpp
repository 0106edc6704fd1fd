// Tests h2/server_session.*: RFC 8441 settings and request checks (nghttp2's and ours), limits,
// responses.
#include "h2/server_session.hpp"

#include <gtest/gtest.h>

#include "tests/h2/session_pair.hpp"

namespace wsgate::h2 {
namespace {

using test::SessionPair;

TEST(ServerSessionTest, ExtendedConnectIsSurfacedWithAllPseudoHeaders) {
  SessionPair pair;
  pair.auto_accept();
  const std::vector<Header> extra{{"origin", "https://example.com"},
                                  {"sec-websocket-protocol", "chat, superchat"}};
  const std::int32_t id = pair.open("/chat?room=1", extra);
  pair.pump();
  ASSERT_EQ(pair.requests.count(id), 1u);
  const RequestHeaders& request = pair.requests[id];
  EXPECT_EQ(request.method, "CONNECT");
  EXPECT_EQ(request.protocol, "websocket");
  EXPECT_EQ(request.scheme, "https");
  EXPECT_EQ(request.authority, "example.com");
  EXPECT_EQ(request.path, "/chat?room=1");
  EXPECT_EQ(request.kind(), RequestKind::kExtendedConnect);
  EXPECT_EQ(request.issue, HeaderIssue::kNone);
  EXPECT_FALSE(request.end_stream);
  EXPECT_EQ(request.header("sec-websocket-version"), "13");
  EXPECT_EQ(request.header("origin"), "https://example.com");
  EXPECT_EQ(request.header("sec-websocket-protocol"), "chat, superchat");
  EXPECT_EQ(request.header("absent"), "");
}

TEST(ServerSessionTest, ResponseHeadReachesTheClient) {
  SessionPair pair;
  pair.on_request = [&pair](std::int32_t id, const RequestHeaders&) {
    const std::vector<Header> headers{{"sec-websocket-protocol", "chat"}};
    EXPECT_EQ(pair.server->submit_response(id, 200, headers, false), Error::kNone);
  };
  const std::int32_t id = pair.open();
  pair.pump();
  ASSERT_EQ(pair.responses.count(id), 1u);
  EXPECT_EQ(pair.responses[id].status, 200);
  EXPECT_EQ(pair.responses[id].header("sec-websocket-protocol"), "chat");
  EXPECT_FALSE(pair.responses[id].end_stream);
  EXPECT_EQ(pair.client_record.closed.count(id), 0u);  // the WebSocket stays open
}

TEST(ServerSessionTest, SubmitResponseReportsErrorsAsValues) {
  SessionPair pair;
  const std::int32_t id = pair.open();
  pair.pump();
  EXPECT_EQ(pair.server->submit_response(999, 200, {}, false), Error::kNoSuchStream);
  EXPECT_EQ(pair.server->submit_response(id, 42, {}, false), Error::kInvalidArgument);
  const std::vector<Header> upper{{"Bad-Name", "x"}};
  EXPECT_EQ(pair.server->submit_response(id, 200, upper, false), Error::kInvalidArgument);
  const std::vector<Header> hop{{"connection", "upgrade"}};
  EXPECT_EQ(pair.server->submit_response(id, 200, hop, false), Error::kInvalidArgument);
  const std::vector<Header> pseudo{{":status", "200"}};
  EXPECT_EQ(pair.server->submit_response(id, 200, pseudo, false), Error::kInvalidArgument);
  const std::vector<Header> bad_value{{"x", "a\r\nb"}};
  EXPECT_EQ(pair.server->submit_response(id, 200, bad_value, false), Error::kInvalidArgument);
  EXPECT_EQ(pair.server->submit_response(id, 200, {}, false), Error::kNone);
  EXPECT_EQ(pair.server->submit_response(id, 200, {}, false), Error::kAlreadyResponded);
}

TEST(ServerSessionTest, ErrorAnswerEndsTheStream) {
  SessionPair pair;
  pair.on_request = [&pair](std::int32_t id, const RequestHeaders&) {
    EXPECT_EQ(pair.server->submit_response(id, 404, {}, true), Error::kNone);
    EXPECT_EQ(pair.server->send_data(id, test::as_bytes("x")), Error::kDataEnded);
  };
  const std::int32_t id = pair.open();
  pair.client_feeds[id] = {{}};  // the client ends its side too
  pair.pump();
  EXPECT_EQ(pair.responses[id].status, 404);
  EXPECT_TRUE(pair.responses[id].end_stream);
  EXPECT_EQ(pair.client_record.ended.count(id), 1u);
  EXPECT_EQ(pair.server->stream_count(), 0u);
}

// nghttp2 1.52 enforces RFC 8441 §4 itself: these never reach on_request.
struct MalformedCase {
  const char* name;
  std::vector<Header> headers;
};

class MalformedRequestTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedRequestTest, IsResetWithProtocolError) {
  SessionPair pair;
  pair.pump();
  const SubmitResult result = pair.client->submit_request(GetParam().headers, false);
  ASSERT_EQ(result.error, Error::kNone);
  pair.pump();
  EXPECT_EQ(pair.requests.count(result.stream_id), 0u);
  ASSERT_EQ(pair.client_record.closed.count(result.stream_id), 1u);
  EXPECT_EQ(pair.client_record.closed[result.stream_id], ErrorCode::kProtocolError);
  EXPECT_EQ(pair.server->stream_count(), 0u);
  EXPECT_FALSE(pair.server->connection_error().has_value());  // a stream error, not a connection error
}

INSTANTIATE_TEST_SUITE_P(
    Rfc8441, MalformedRequestTest,
    ::testing::Values(
        MalformedCase{
            "ProtocolWithoutPath",
            {{":method", "CONNECT"}, {":protocol", "websocket"}, {":scheme", "https"}, {":authority", "a"}}},
        MalformedCase{
            "ProtocolWithoutScheme",
            {{":method", "CONNECT"}, {":protocol", "websocket"}, {":authority", "a"}, {":path", "/"}}},
        MalformedCase{
            "ProtocolWithoutAuthority",
            {{":method", "CONNECT"}, {":protocol", "websocket"}, {":scheme", "https"}, {":path", "/"}}},
        MalformedCase{"ProtocolOnGet",
                      {{":method", "GET"},
                       {":protocol", "websocket"},
                       {":scheme", "https"},
                       {":authority", "a"},
                       {":path", "/"}}},
        MalformedCase{"PlainConnectWithPath",
                      {{":method", "CONNECT"}, {":authority", "a:443"}, {":path", "/"}}},
        MalformedCase{"ConnectionHeader",
                      {{":method", "CONNECT"},
                       {":protocol", "websocket"},
                       {":scheme", "https"},
                       {":authority", "a"},
                       {":path", "/"},
                       {"connection", "upgrade"}}},
        MalformedCase{"DuplicateProtocol",
                      {{":method", "CONNECT"},
                       {":protocol", "websocket"},
                       {":protocol", "websocket"},
                       {":scheme", "https"},
                       {":authority", "a"},
                       {":path", "/"}}}),
    [](const ::testing::TestParamInfo<MalformedCase>& param_info) {
      return std::string(param_info.param.name);
    });

TEST(ServerSessionTest, PlainConnectIsSurfacedSoTheAppCanRefuseIt) {
  SessionPair pair;
  pair.on_request = [&pair](std::int32_t id, const RequestHeaders& request) {
    EXPECT_EQ(request.kind(), RequestKind::kPlainConnect);
    EXPECT_EQ(pair.server->submit_response(id, 405, {}, true), Error::kNone);
  };
  pair.pump();
  const std::vector<Header> headers{{":method", "CONNECT"}, {":authority", "backend:443"}};
  const std::int32_t id = pair.client->submit_request(headers, false).stream_id;
  pair.pump();
  ASSERT_EQ(pair.requests.count(id), 1u);
  EXPECT_EQ(pair.requests[id].authority, "backend:443");
  EXPECT_TRUE(pair.requests[id].protocol.empty());
  EXPECT_EQ(pair.responses[id].status, 405);
}

TEST(ServerSessionTest, OtherMethodsAreSurfacedToo) {
  SessionPair pair;
  pair.pump();
  const std::vector<Header> headers{
      {":method", "GET"}, {":scheme", "https"}, {":authority", "a"}, {":path", "/"}};
  const std::int32_t id = pair.client->submit_request(headers, true).stream_id;
  pair.pump();
  ASSERT_EQ(pair.requests.count(id), 1u);
  EXPECT_EQ(pair.requests[id].kind(), RequestKind::kOther);
  EXPECT_TRUE(pair.requests[id].end_stream);
  EXPECT_EQ(pair.server_record.ended.count(id), 1u);
}

TEST(ServerSessionTest, ContentLengthOnExtendedConnectIsFlagged) {
  SessionPair pair;
  pair.on_request = [&pair](std::int32_t id, const RequestHeaders& request) {
    EXPECT_EQ(request.issue, HeaderIssue::kContentLengthOnExtendedConnect);
    EXPECT_EQ(pair.server->submit_response(id, 400, {}, true), Error::kNone);
  };
  const std::vector<Header> extra{{"content-length", "10"}};
  const std::int32_t id = pair.open("/chat", extra);
  pair.pump();
  ASSERT_EQ(pair.requests.count(id), 1u);
  EXPECT_EQ(pair.responses[id].status, 400);
}

TEST(ServerSessionTest, MaxConcurrentStreamsRefusesTheExtraStream) {
  Settings settings;
  settings.max_concurrent_streams = 2;
  SessionPair pair(settings);
  pair.auto_accept();
  // Submitted before the server's SETTINGS reach the client, so the client does not hold them back.
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 3; ++i) {
    const std::vector<Header> headers{{":method", "CONNECT"},
                                      {":protocol", "websocket"},
                                      {":scheme", "https"},
                                      {":authority", "a"},
                                      {":path", "/" + std::to_string(i)}};
    ids.push_back(pair.client->submit_request(headers, false).stream_id);
  }
  pair.pump();
  EXPECT_EQ(pair.requests.size(), 2u);
  EXPECT_EQ(pair.responses[ids[0]].status, 200);
  EXPECT_EQ(pair.responses[ids[1]].status, 200);
  ASSERT_EQ(pair.client_record.closed.count(ids[2]), 1u);
  EXPECT_EQ(pair.client_record.closed[ids[2]], ErrorCode::kRefusedStream);
  EXPECT_EQ(pair.server->stream_count(), 2u);
}

TEST(ServerSessionTest, OversizedHeaderListIsFlaggedForA431) {
  Settings settings;
  settings.max_header_list_bytes = 1024;
  SessionPair pair(settings);
  pair.on_request = [&pair](std::int32_t id, const RequestHeaders& request) {
    EXPECT_EQ(request.issue, HeaderIssue::kHeaderListTooLarge);
    EXPECT_EQ(request.kind(), RequestKind::kExtendedConnect);  // pseudo-headers come first and are kept
    EXPECT_EQ(pair.server->submit_response(id, 431, {}, true), Error::kNone);
  };
  const std::vector<Header> extra{{"cookie", std::string(2000, 'c')}};
  const std::int32_t id = pair.open("/chat", extra);
  pair.pump();
  ASSERT_EQ(pair.requests.count(id), 1u);
  EXPECT_TRUE(pair.requests[id].header("cookie").empty());  // over the limit: not stored
  EXPECT_EQ(pair.responses[id].status, 431);
}

TEST(ServerSessionTest, RapidResetIsCut) {
  Settings settings;
  settings.stream_reset_burst = 10;
  settings.stream_reset_rate_per_second = 1;
  settings.max_concurrent_streams = 1000;
  SessionPair pair(settings);
  pair.auto_accept();
  pair.pump();
  for (int i = 0; i < 200 && !pair.client_record.goaway; ++i) {
    const std::int32_t id = pair.open("/r");
    pair.pump();  // a stream whose HEADERS are still queued would be cancelled without a frame
    ASSERT_EQ(pair.client->reset_stream(id, ErrorCode::kCancel), Error::kNone);
    pair.pump();
  }
  ASSERT_TRUE(pair.client_record.goaway.has_value());
  EXPECT_NE(pair.client_record.goaway->second, ErrorCode::kNoError);
}

}  // namespace
}  // namespace wsgate::h2
