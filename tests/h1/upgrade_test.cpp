// Tests for h1/upgrade.*: every classify_upgrade outcome, in RFC 6455 §4.2.1 order.
#include "h1/upgrade.hpp"

#include <gtest/gtest.h>

#include <string>

#include "h1/head_parser.hpp"

namespace wsgate::h1 {
namespace {

RequestHead valid_request() {
  RequestHead head;
  head.method = "GET";
  head.target = "/chat";
  head.headers.add("Host", "server.example.com");
  head.headers.add("Upgrade", "websocket");
  head.headers.add("Connection", "Upgrade");
  head.headers.add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
  head.headers.add("Sec-WebSocket-Version", "13");
  return head;
}

RequestHead with_header(RequestHead head, const std::string& name, const std::string& value) {
  head.headers.remove(name);
  head.headers.add(name, value);
  return head;
}

RequestHead without_header(RequestHead head, const std::string& name) {
  head.headers.remove(name);
  return head;
}

void expect_outcome(const RequestHead& head, UpgradeCheck check, int status) {
  const UpgradeClassification result = classify_upgrade(head);
  EXPECT_EQ(result.check, check) << serialize(head);
  EXPECT_EQ(result.status, status) << serialize(head);
  if (check == UpgradeCheck::kOk) {
    EXPECT_TRUE(result.reason.empty());
  } else {
    EXPECT_FALSE(result.reason.empty());
  }
}

TEST(ClassifyUpgrade, ValidHandshake) { expect_outcome(valid_request(), UpgradeCheck::kOk, 101); }

TEST(ClassifyUpgrade, ParsedRfcExample) {
  RequestHeadParser parser;
  ASSERT_EQ(parser
                .feed("GET /chat HTTP/1.1\r\n"
                      "Host: server.example.com\r\n"
                      "upgrade: WebSocket\r\n"
                      "connection: keep-alive, Upgrade\r\n"
                      "Sec-WebSocket-Key:   dGhlIHNhbXBsZSBub25jZQ==  \r\n"
                      "Origin: http://example.com\r\n"
                      "Sec-WebSocket-Protocol: chat, superchat\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n")
                .status,
            ParseStatus::kComplete);
  expect_outcome(parser.head(), UpgradeCheck::kOk, 101);
}

TEST(ClassifyUpgrade, TokenMatchingIsCaseInsensitiveAndListAware) {
  expect_outcome(with_header(valid_request(), "Upgrade", "WebSocket"), UpgradeCheck::kOk, 101);
  expect_outcome(with_header(valid_request(), "Upgrade", "WEBSOCKET"), UpgradeCheck::kOk, 101);
  expect_outcome(with_header(valid_request(), "Upgrade", "foo/2, websocket"), UpgradeCheck::kOk, 101);
  expect_outcome(with_header(valid_request(), "Connection", "keep-alive, Upgrade"), UpgradeCheck::kOk, 101);
  expect_outcome(with_header(valid_request(), "Connection", "UPGRADE"), UpgradeCheck::kOk, 101);
  expect_outcome(with_header(valid_request(), "Connection", "upgrade,keep-alive"), UpgradeCheck::kOk, 101);
  RequestHead split = without_header(valid_request(), "Connection");
  split.headers.add("Connection", "keep-alive");
  split.headers.add("connection", "upgrade");
  expect_outcome(split, UpgradeCheck::kOk, 101);
  RequestHead newer = valid_request();
  newer.version_major = 2;
  newer.version_minor = 0;
  expect_outcome(newer, UpgradeCheck::kOk, 101);
}

TEST(ClassifyUpgrade, NotUpgrade) {
  expect_outcome(without_header(valid_request(), "Upgrade"), UpgradeCheck::kNotUpgrade, 400);
  expect_outcome(with_header(valid_request(), "Upgrade", "h2c"), UpgradeCheck::kNotUpgrade, 400);
  expect_outcome(with_header(valid_request(), "Upgrade", "websocketx"), UpgradeCheck::kNotUpgrade, 400);
  expect_outcome(with_header(valid_request(), "Upgrade", ""), UpgradeCheck::kNotUpgrade, 400);
  // A plain request: nothing else is checked first.
  RequestHead plain;
  plain.method = "POST";
  plain.version_minor = 0;
  expect_outcome(plain, UpgradeCheck::kNotUpgrade, 400);
  EXPECT_EQ(classify_upgrade(plain).reason, "not a WebSocket handshake");
}

TEST(ClassifyUpgrade, BadMethod) {
  RequestHead head = valid_request();
  head.method = "POST";
  expect_outcome(head, UpgradeCheck::kBadMethod, 400);
  head.method = "get";  // methods are case-sensitive (RFC 9110 §9.1)
  expect_outcome(head, UpgradeCheck::kBadMethod, 400);
  head.method = "CONNECT";
  head.version_minor = 0;  // method is checked before version
  expect_outcome(head, UpgradeCheck::kBadMethod, 400);
}

TEST(ClassifyUpgrade, BadHttpVersion) {
  RequestHead head = valid_request();
  head.version_minor = 0;
  expect_outcome(head, UpgradeCheck::kBadHttpVersion, 400);
  head.version_major = 0;
  head.version_minor = 9;
  expect_outcome(head, UpgradeCheck::kBadHttpVersion, 400);
  head = without_header(valid_request(), "Host");
  head.version_minor = 0;
  expect_outcome(head, UpgradeCheck::kBadHttpVersion, 400);
}

TEST(ClassifyUpgrade, MissingHost) {
  expect_outcome(without_header(valid_request(), "Host"), UpgradeCheck::kMissingHost, 400);
  expect_outcome(without_header(without_header(valid_request(), "Host"), "Sec-WebSocket-Key"),
                 UpgradeCheck::kMissingHost, 400);
  RequestHead two_hosts = valid_request();
  two_hosts.headers.add("host", "other.example.com");
  expect_outcome(two_hosts, UpgradeCheck::kMissingHost, 400);
}

TEST(ClassifyUpgrade, MissingConnectionUpgrade) {
  expect_outcome(without_header(valid_request(), "Connection"), UpgradeCheck::kMissingConnectionUpgrade, 400);
  expect_outcome(with_header(valid_request(), "Connection", "keep-alive"),
                 UpgradeCheck::kMissingConnectionUpgrade, 400);
  expect_outcome(with_header(valid_request(), "Connection", "upgraded"),
                 UpgradeCheck::kMissingConnectionUpgrade, 400);
  expect_outcome(with_header(without_header(valid_request(), "Sec-WebSocket-Key"), "Connection", "close"),
                 UpgradeCheck::kMissingConnectionUpgrade, 400);
}

TEST(ClassifyUpgrade, MissingKey) {
  expect_outcome(without_header(valid_request(), "Sec-WebSocket-Key"), UpgradeCheck::kMissingKey, 400);
  expect_outcome(
      without_header(without_header(valid_request(), "Sec-WebSocket-Key"), "Sec-WebSocket-Version"),
      UpgradeCheck::kMissingKey, 400);
}

TEST(ClassifyUpgrade, BadKey) {
  for (const char* key :
       {"", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ===",
        "dGhlIHNhbXBsZSBub25jZ===", "dGhlIHNhbXBsZSBub25j*Q==", "dGhlIHNhbXBsZSBub25jZQ==x",
        "dGhlIHNhbXBsZSBub25jZSBz", "dGhl IHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ-_",
        "dGhlIHNhbXBsZSBub25jZQ=A"}) {
    expect_outcome(with_header(valid_request(), "Sec-WebSocket-Key", key), UpgradeCheck::kBadKey, 400);
  }
  RequestHead two_keys = valid_request();
  two_keys.headers.add("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA==");
  expect_outcome(two_keys, UpgradeCheck::kBadKey, 400);
  expect_outcome(with_header(valid_request(), "Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA=="),
                 UpgradeCheck::kOk, 101);
  expect_outcome(with_header(valid_request(), "Sec-WebSocket-Key", "+/+/+/+/+/+/+/+/+/+/+w=="),
                 UpgradeCheck::kOk, 101);
}

TEST(ClassifyUpgrade, MissingVersion) {
  expect_outcome(without_header(valid_request(), "Sec-WebSocket-Version"), UpgradeCheck::kMissingVersion,
                 426);
}

TEST(ClassifyUpgrade, UnsupportedVersion) {
  for (const char* version : {"8", "12", "14", "", "13, 8", "013", "13.0"}) {
    expect_outcome(with_header(valid_request(), "Sec-WebSocket-Version", version),
                   UpgradeCheck::kUnsupportedVersion, 426);
  }
  RequestHead two_versions = valid_request();
  two_versions.headers.add("Sec-WebSocket-Version", "8");
  expect_outcome(two_versions, UpgradeCheck::kUnsupportedVersion, 426);
}

TEST(ClassifyUpgrade, ReasonsAreDistinct) {
  EXPECT_EQ(classify_upgrade(without_header(valid_request(), "Sec-WebSocket-Key")).reason,
            "missing Sec-WebSocket-Key");
  EXPECT_NE(classify_upgrade(without_header(valid_request(), "Sec-WebSocket-Version")).reason,
            classify_upgrade(with_header(valid_request(), "Sec-WebSocket-Version", "8")).reason);
}

}  // namespace
}  // namespace wsgate::h1
