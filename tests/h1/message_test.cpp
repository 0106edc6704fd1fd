// Tests for h1/message.*: header access, reason phrases, serialisation.
#include "h1/message.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace wsgate::h1 {
namespace {

Headers sample_headers() {
  Headers headers;
  headers.add("Host", "example.com");
  headers.add("Connection", "keep-alive, Upgrade");
  headers.add("Sec-WebSocket-Protocol", "chat");
  headers.add("sec-websocket-protocol", "superchat");
  headers.add("Empty", "");
  return headers;
}

TEST(Headers, GetIsCaseInsensitiveAndReturnsFirst) {
  const Headers headers = sample_headers();
  EXPECT_EQ(headers.get("host"), "example.com");
  EXPECT_EQ(headers.get("HOST"), "example.com");
  EXPECT_EQ(headers.get("SEC-WEBSOCKET-PROTOCOL"), "chat");
  EXPECT_EQ(headers.get("Empty"), "");
  EXPECT_FALSE(headers.get("Missing").has_value());
  EXPECT_FALSE(headers.get("Hos").has_value());
  EXPECT_TRUE(headers.contains("connection"));
  EXPECT_FALSE(headers.contains("Upgrade"));
  EXPECT_EQ(headers.size(), 5u);
}

TEST(Headers, GetAllKeepsOrderOfRepeatedHeaders) {
  const Headers headers = sample_headers();
  EXPECT_EQ(headers.get_all("Sec-WebSocket-Protocol"), (std::vector<std::string_view>{"chat", "superchat"}));
  EXPECT_TRUE(headers.get_all("Missing").empty());
}

TEST(Headers, GetJoined) {
  const Headers headers = sample_headers();
  EXPECT_EQ(headers.get_joined("sec-websocket-protocol"), "chat, superchat");
  EXPECT_EQ(headers.get_joined("Host"), "example.com");
  EXPECT_EQ(headers.get_joined("Empty"), "");
  EXPECT_FALSE(headers.get_joined("Missing").has_value());
}

TEST(Headers, HasTokenReadsCommaLists) {
  Headers headers = sample_headers();
  headers.add("Upgrade", "WebSocket");
  headers.add("X-List", " a ,\tb\t, ,c");
  EXPECT_TRUE(headers.has_token("Connection", "upgrade"));
  EXPECT_TRUE(headers.has_token("connection", "KEEP-ALIVE"));
  EXPECT_FALSE(headers.has_token("Connection", "close"));
  EXPECT_FALSE(headers.has_token("Connection", "upgr"));
  EXPECT_FALSE(headers.has_token("Connection", "keep-alive, Upgrade"));
  EXPECT_TRUE(headers.has_token("Upgrade", "websocket"));
  EXPECT_TRUE(headers.has_token("Sec-WebSocket-Protocol", "superchat"));  // second of repeated headers
  EXPECT_TRUE(headers.has_token("X-List", "a"));
  EXPECT_TRUE(headers.has_token("X-List", "b"));
  EXPECT_TRUE(headers.has_token("X-List", "c"));
  EXPECT_FALSE(headers.has_token("Missing", "a"));
  EXPECT_FALSE(headers.has_token("Host", "example"));
}

TEST(Headers, RemoveDropsEveryCaseVariant) {
  Headers headers = sample_headers();
  headers.remove("SEC-websocket-PROTOCOL");
  EXPECT_EQ(headers.size(), 3u);
  EXPECT_FALSE(headers.contains("Sec-WebSocket-Protocol"));
  headers.remove("Missing");
  EXPECT_EQ(headers.size(), 3u);
  std::vector<std::string> names;
  for (const Header& header : headers) names.push_back(header.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Host", "Connection", "Empty"}));
}

TEST(ReasonPhrase, KnownAndUnknown) {
  EXPECT_EQ(reason_phrase(101), "Switching Protocols");
  EXPECT_EQ(reason_phrase(200), "OK");
  EXPECT_EQ(reason_phrase(400), "Bad Request");
  EXPECT_EQ(reason_phrase(403), "Forbidden");
  EXPECT_EQ(reason_phrase(404), "Not Found");
  EXPECT_EQ(reason_phrase(426), "Upgrade Required");
  EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reason_phrase(502), "Bad Gateway");
  EXPECT_EQ(reason_phrase(503), "Service Unavailable");
  EXPECT_EQ(reason_phrase(504), "Gateway Timeout");
  EXPECT_EQ(reason_phrase(799), "Unknown");
  EXPECT_EQ(reason_phrase(0), "Unknown");
  EXPECT_EQ(reason_phrase(-1), "Unknown");
}

TEST(Serialize, Request) {
  RequestHead head;
  head.method = "GET";
  head.target = "/chat?room=1";
  head.headers.add("Host", "example.com");
  head.headers.add("Upgrade", "websocket");
  EXPECT_EQ(serialize(head), "GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\r\n");
}

TEST(Serialize, RequestWithoutHeadersAndOtherVersion) {
  RequestHead head;
  head.method = "OPTIONS";
  head.target = "*";
  head.version_minor = 0;
  EXPECT_EQ(serialize(head), "OPTIONS * HTTP/1.0\r\n\r\n");
}

TEST(Serialize, ResponseUsesStandardReasonWhenEmpty) {
  ResponseHead head;
  head.status = 101;
  head.headers.add("Upgrade", "websocket");
  head.headers.add("Connection", "Upgrade");
  EXPECT_EQ(serialize(head),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
}

TEST(Serialize, ResponseKeepsCustomReason) {
  ResponseHead head;
  head.status = 426;
  head.reason = "Upgrade Please";
  head.headers.add("Sec-WebSocket-Version", "13");
  EXPECT_EQ(serialize(head), "HTTP/1.1 426 Upgrade Please\r\nSec-WebSocket-Version: 13\r\n\r\n");
  head.status = 799;
  head.reason.clear();
  EXPECT_EQ(serialize(head), "HTTP/1.1 799 Unknown\r\nSec-WebSocket-Version: 13\r\n\r\n");
}

TEST(Serialize, NeverSplitsAHeaderAcrossLines) {
  ResponseHead head;
  head.status = 400;
  head.headers.add("X-Injected", "a\r\nSet-Cookie: evil");
  head.headers.add("X\nName", "v");
  EXPECT_EQ(serialize(head),
            "HTTP/1.1 400 Bad Request\r\nX-Injected: a  Set-Cookie: evil\r\nX Name: v\r\n\r\n");
}

}  // namespace
}  // namespace wsgate::h1
