// Tests for h1/head_parser.*: every input is also fed one byte at a time and at every 2-way split,
// and must give the same status, error, consumed count and head.
#include "h1/head_parser.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace wsgate::h1 {
namespace {

using namespace std::string_literals;

// What a parser made of a whole input, whatever the split.
template <class Head>
struct Outcome {
  ParseStatus status = ParseStatus::kNeedMore;
  ParseError error = ParseError::kNone;
  std::size_t consumed = 0;  // stream offset just after the head (or where the error was found)
  std::string head;          // serialised head, only when complete
};

template <class Head>
bool operator==(const Outcome<Head>& a, const Outcome<Head>& b) {
  return a.status == b.status && a.error == b.error && a.consumed == b.consumed && a.head == b.head;
}

template <class Head>
std::ostream& operator<<(std::ostream& os, const Outcome<Head>& o) {
  return os << "{status " << static_cast<int>(o.status) << ", error " << to_string(o.error) << ", consumed "
            << o.consumed << ", head " << testing::PrintToString(o.head) << "}";
}

// Serialising keeps the parsed reason, so compare it explicitly for responses.
std::string describe(const RequestHead& head) { return serialize(head); }
std::string describe(const ResponseHead& head) { return serialize(head) + "reason=" + head.reason; }

// Feeds `input` cut at `cuts` (increasing offsets) into a fresh parser.
template <class Parser>
auto run(std::string_view input, const std::vector<std::size_t>& cuts, HeadLimits limits) {
  using Head = std::decay_t<decltype(std::declval<Parser>().head())>;
  Parser parser(limits);
  Outcome<Head> outcome;
  std::size_t offset = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(input.size());
  for (std::size_t end : ends) {
    const std::string_view piece = input.substr(offset, end - offset);
    const ParseResult result = parser.feed(piece);
    EXPECT_LE(result.consumed, piece.size());
    if (result.status == ParseStatus::kNeedMore) {
      EXPECT_EQ(result.consumed, piece.size());
      EXPECT_EQ(result.error, ParseError::kNone);
      offset = end;
      continue;
    }
    outcome.status = result.status;
    outcome.error = result.error;
    outcome.consumed = offset + result.consumed;
    if (result.status == ParseStatus::kComplete) {
      EXPECT_EQ(result.error, ParseError::kNone);
      outcome.head = describe(parser.head());
    } else {
      EXPECT_NE(result.error, ParseError::kNone);
    }
    // A finished parser takes nothing more until reset().
    const ParseResult again = parser.feed("more");
    EXPECT_EQ(again.status, result.status);
    EXPECT_EQ(again.error, result.error);
    EXPECT_EQ(again.consumed, 0u);
    return outcome;
  }
  outcome.consumed = input.size();
  return outcome;
}

// Parses `input` in one piece, one byte at a time and at every 2-way split; all must agree.
template <class Parser>
auto parse_all_splits(std::string_view input, HeadLimits limits = {}) {
  const auto whole = run<Parser>(input, {}, limits);
  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < input.size(); ++i) every_byte.push_back(i);
  EXPECT_EQ(run<Parser>(input, every_byte, limits), whole)
      << "one byte at a time: " << testing::PrintToString(input);
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    EXPECT_EQ(run<Parser>(input, {cut}, limits), whole)
        << "split at " << cut << ": " << testing::PrintToString(input);
  }
  return whole;
}

auto parse_request(std::string_view input, HeadLimits limits = {}) {
  return parse_all_splits<RequestHeadParser>(input, limits);
}
auto parse_response(std::string_view input, HeadLimits limits = {}) {
  return parse_all_splits<ResponseHeadParser>(input, limits);
}

RequestHead parse_request_head(std::string_view input) {
  RequestHeadParser parser;
  const ParseResult result = parser.feed(input);
  EXPECT_EQ(result.status, ParseStatus::kComplete) << to_string(result.error);
  return parser.take_head();
}

ResponseHead parse_response_head(std::string_view input) {
  ResponseHeadParser parser;
  const ParseResult result = parser.feed(input);
  EXPECT_EQ(result.status, ParseStatus::kComplete) << to_string(result.error);
  return parser.take_head();
}

const std::string kUpgradeRequest =
    "GET /chat?room=1 HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

// A masked text frame "Hello" (RFC 6455 §5.7) followed by bytes that look like HTTP.
const std::string kFrameBytes =
    "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"s + "\r\n\r\nGET / HTTP/1.1\r\n\0"s;

// --- requests -------------------------------------------------------------------------------------

TEST(RequestHeadParser, ParsesUpgradeRequest) {
  const auto outcome = parse_request(kUpgradeRequest);
  EXPECT_EQ(outcome.status, ParseStatus::kComplete);
  EXPECT_EQ(outcome.consumed, kUpgradeRequest.size());

  const RequestHead head = parse_request_head(kUpgradeRequest);
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.target, "/chat?room=1");
  EXPECT_EQ(head.version_major, 1);
  EXPECT_EQ(head.version_minor, 1);
  ASSERT_EQ(head.headers.size(), 5u);
  EXPECT_EQ(head.headers.get("host"), "server.example.com");
  EXPECT_EQ(head.headers.get("SEC-WEBSOCKET-KEY"), "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(head.headers.begin()->name, "Host");  // names kept as received
}

TEST(RequestHeadParser, BytesAfterHeadArePreservedExactly) {
  const std::string input = kUpgradeRequest + kFrameBytes;
  const auto outcome = parse_request(input);
  ASSERT_EQ(outcome.status, ParseStatus::kComplete);
  EXPECT_EQ(outcome.consumed, kUpgradeRequest.size());
  EXPECT_EQ(std::string_view(input).substr(outcome.consumed), kFrameBytes);

  // The same, from the caller's side: the tail of the completing feed() is the first frame bytes.
  for (std::size_t cut = 1; cut < input.size(); ++cut) {
    RequestHeadParser parser;
    const std::string_view first = std::string_view(input).substr(0, cut);
    const std::string_view second = std::string_view(input).substr(cut);
    ParseResult result = parser.feed(first);
    std::string after;
    if (result.status == ParseStatus::kComplete) {
      after = std::string(first.substr(result.consumed)) + std::string(second);
    } else {
      ASSERT_EQ(result.status, ParseStatus::kNeedMore);
      result = parser.feed(second);
      ASSERT_EQ(result.status, ParseStatus::kComplete);
      after = std::string(second.substr(result.consumed));
    }
    EXPECT_EQ(after, kFrameBytes) << "split at " << cut;
  }
}

TEST(RequestHeadParser, OneByteAtATimeNeedsMoreUntilLastLf) {
  RequestHeadParser parser;
  for (std::size_t i = 0; i < kUpgradeRequest.size(); ++i) {
    const ParseResult result = parser.feed(std::string_view(&kUpgradeRequest[i], 1));
    const bool last = i + 1 == kUpgradeRequest.size();
    EXPECT_EQ(result.status, last ? ParseStatus::kComplete : ParseStatus::kNeedMore) << i;
    EXPECT_EQ(result.consumed, 1u) << i;
  }
  EXPECT_EQ(parser.head().headers.get("Upgrade"), "websocket");
}

TEST(RequestHeadParser, EmptyFeedNeedsMore) {
  RequestHeadParser parser;
  const ParseResult result = parser.feed("");
  EXPECT_EQ(result.status, ParseStatus::kNeedMore);
  EXPECT_EQ(result.consumed, 0u);
  EXPECT_EQ(parse_request("GET / HTTP/1.1\r\nHost: a\r\n").status, ParseStatus::kNeedMore);
}

TEST(RequestHeadParser, MinimalRequestAndHttp10) {
  const auto outcome = parse_request("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(outcome.status, ParseStatus::kComplete);
  const RequestHead head = parse_request_head("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(head.version_minor, 0);
  EXPECT_EQ(head.headers.size(), 0u);
  EXPECT_EQ(parse_request_head("OPTIONS * HTTP/1.1\r\n\r\n").target, "*");
  EXPECT_EQ(parse_request_head("CONNECT example.com:443 HTTP/1.1\r\n\r\n").target, "example.com:443");
  EXPECT_EQ(parse_request_head("GET http://a.example/x?y=%20 HTTP/1.1\r\n\r\n").target,
            "http://a.example/x?y=%20");
}

TEST(RequestHeadParser, HeaderValuesTrimmedAndAllowedCharacters) {
  const std::string input =
      "GET / HTTP/1.1\r\n"
      "X-Spaces:   a b  \t\r\n"
      "X-None:b\r\n"
      "X-Empty:\r\n"
      "X-Blank: \t \r\n"
      "X-Tab: a\tb\r\n"
      "X-Obs-Text: caf\xc3\xa9\r\n"
      "X-Colon: a:b: c\r\n"
      "!#$%&'*+-.^_`|~09azAZ: token chars\r\n"
      "\r\n";
  ASSERT_EQ(parse_request(input).status, ParseStatus::kComplete);
  const RequestHead head = parse_request_head(input);
  EXPECT_EQ(head.headers.get("x-spaces"), "a b");
  EXPECT_EQ(head.headers.get("x-none"), "b");
  EXPECT_EQ(head.headers.get("x-empty"), "");
  EXPECT_EQ(head.headers.get("x-blank"), "");
  EXPECT_EQ(head.headers.get("x-tab"), "a\tb");
  EXPECT_EQ(head.headers.get("x-obs-text"), "caf\xc3\xa9");
  EXPECT_EQ(head.headers.get("x-colon"), "a:b: c");
  EXPECT_EQ(head.headers.get("!#$%&'*+-.^_`|~09AZaz"), "token chars");
}

TEST(RequestHeadParser, RepeatedHeadersKeptInOrder) {
  const std::string input =
      "GET / HTTP/1.1\r\n"
      "Sec-WebSocket-Protocol: chat\r\n"
      "Host: a\r\n"
      "sec-websocket-protocol: superchat, v2\r\n"
      "SEC-WEBSOCKET-PROTOCOL: v3\r\n"
      "\r\n";
  ASSERT_EQ(parse_request(input).status, ParseStatus::kComplete);
  const RequestHead head = parse_request_head(input);
  EXPECT_EQ(head.headers.size(), 4u);
  EXPECT_EQ(head.headers.get_all("Sec-WebSocket-Protocol"),
            (std::vector<std::string_view>{"chat", "superchat, v2", "v3"}));
  EXPECT_EQ(head.headers.get_joined("sec-websocket-protocol"), "chat, superchat, v2, v3");
  EXPECT_TRUE(head.headers.has_token("Sec-WebSocket-Protocol", "V2"));
}

struct BadInput {
  const char* name;
  std::string input;
  ParseError error;
};

void PrintTo(const BadInput& bad, std::ostream* os) { *os << bad.name; }

class RequestMalformed : public testing::TestWithParam<BadInput> {};

TEST_P(RequestMalformed, Rejected) {
  const auto outcome = parse_request(GetParam().input);
  EXPECT_EQ(outcome.status, ParseStatus::kError);
  EXPECT_EQ(outcome.error, GetParam().error);
  EXPECT_LE(outcome.consumed, GetParam().input.size());
}

const std::string kLine = "GET / HTTP/1.1\r\n";

INSTANTIATE_TEST_SUITE_P(
    Inputs, RequestMalformed,
    testing::Values(BadInput{"ObsFoldSpace", kLine + "X-A: a\r\n continued\r\n\r\n", ParseError::kMalformed},
                    BadInput{"ObsFoldTab", kLine + "X-A: a\r\n\tcontinued\r\n\r\n", ParseError::kMalformed},
                    BadInput{"FoldAfterRequestLine", kLine + " X-A: a\r\n\r\n", ParseError::kMalformed},
                    BadInput{"SpaceBeforeColon", kLine + "Host : a\r\n\r\n", ParseError::kMalformed},
                    BadInput{"TabBeforeColon", kLine + "Host\t: a\r\n\r\n", ParseError::kMalformed},
                    BadInput{"SpaceInName", kLine + "Ho st: a\r\n\r\n", ParseError::kMalformed},
                    BadInput{"BadNameChar", kLine + "Ho(st: a\r\n\r\n", ParseError::kMalformed},
                    BadInput{"NonAsciiName", kLine + "H\xc3\xa9: a\r\n\r\n", ParseError::kMalformed},
                    BadInput{"EmptyName", kLine + ": a\r\n\r\n", ParseError::kMalformed},
                    BadInput{"NoColon", kLine + "Host a\r\n\r\n", ParseError::kMalformed},
                    BadInput{"CtlInValue", kLine + "X-A: a\x01z\r\n\r\n", ParseError::kMalformed},
                    BadInput{"DelInValue", kLine + "X-A: a\x7fz\r\n\r\n", ParseError::kMalformed},
                    BadInput{"NulInValue", kLine + "X-A: a\0z\r\n\r\n"s, ParseError::kMalformed},
                    BadInput{"BareCrInValue", kLine + "X-A: a\rz\r\n\r\n", ParseError::kMalformed},
                    BadInput{"CrBeforeCrlf", kLine + "X-A: a\r\r\n\r\n", ParseError::kMalformed},
                    BadInput{"BareLfEverywhere", "GET / HTTP/1.1\nHost: a\n\n", ParseError::kMalformed},
                    BadInput{"BareLfHeader", kLine + "Host: a\n\r\n", ParseError::kMalformed},
                    BadInput{"BareLfEnd", kLine + "Host: a\r\n\n", ParseError::kMalformed},
                    BadInput{"CrCrEnd", kLine + "Host: a\r\n\r\r\n", ParseError::kMalformed},
                    BadInput{"EmptyInputLine", "\r\n\r\n", ParseError::kMalformed},
                    BadInput{"LeadingEmptyLine", "\r\n" + kLine + "\r\n", ParseError::kMalformed},
                    BadInput{"RequestLineTwoParts", "GET /\r\n\r\n", ParseError::kMalformed},
                    BadInput{"RequestLineOnePart", "GET\r\n\r\n", ParseError::kMalformed},
                    BadInput{"RequestLineFourParts", "GET / HTTP/1.1 x\r\n\r\n", ParseError::kMalformed},
                    BadInput{"TrailingSpace", "GET / HTTP/1.1 \r\n\r\n", ParseError::kMalformed},
                    BadInput{"DoubleSpace", "GET  / HTTP/1.1\r\n\r\n", ParseError::kMalformed},
                    BadInput{"LeadingSpace", " GET / HTTP/1.1\r\n\r\n", ParseError::kMalformed},
                    BadInput{"TabSeparator", "GET\t/ HTTP/1.1\r\n\r\n", ParseError::kMalformed},
                    BadInput{"SpaceInTarget", "GET /a b HTTP/1.1\r\n\r\n", ParseError::kMalformed},
                    BadInput{"CtlInTarget", "GET /a\x01 HTTP/1.1\r\n\r\n", ParseError::kMalformed},
                    BadInput{"NonAsciiTarget", "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", ParseError::kMalformed},
                    BadInput{"BadMethodChar", "G@T / HTTP/1.1\r\n\r\n", ParseError::kMalformed},
                    BadInput{"MethodWithSlash", "GET/ / HTTP/1.1\r\n\r\n", ParseError::kMalformed},
                    BadInput{"LowercaseVersion", "GET / http/1.1\r\n\r\n", ParseError::kMalformed},
                    BadInput{"VersionNoMinor", "GET / HTTP/1\r\n\r\n", ParseError::kMalformed},
                    BadInput{"VersionTwoDigitMinor", "GET / HTTP/1.10\r\n\r\n", ParseError::kMalformed},
                    BadInput{"VersionTwoDigitMajor", "GET / HTTP/11.1\r\n\r\n", ParseError::kMalformed},
                    BadInput{"VersionGarbage", "GET / FOO/1.1\r\n\r\n", ParseError::kMalformed},
                    BadInput{"NotHttpAtAll", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"s,
                             ParseError::kMalformed},
                    BadInput{"Http2", "GET / HTTP/2.0\r\n\r\n", ParseError::kBadVersion},
                    BadInput{"Http2Preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", ParseError::kBadVersion},
                    BadInput{"Http09", "GET / HTTP/0.9\r\n\r\n", ParseError::kBadVersion},
                    BadInput{"Http3", "GET / HTTP/3.0\r\n\r\n", ParseError::kBadVersion}),
    [](const testing::TestParamInfo<BadInput>& param_info) { return std::string(param_info.param.name); });

TEST(RequestHeadParser, ErrorIsReportedAtTheLineThatHasIt) {
  // The error comes as soon as the bad line is complete, before the rest of the head arrives.
  RequestHeadParser parser;
  const std::string bad = kLine + "Host : a\r\n";
  const ParseResult result = parser.feed(bad + "X-More: b\r\n");
  EXPECT_EQ(result.status, ParseStatus::kError);
  EXPECT_EQ(result.consumed, bad.size());
}

// --- limits ---------------------------------------------------------------------------------------

TEST(RequestHeadParser, MaxHeadBytesExactlyAndOneOver) {
  HeadLimits limits;
  limits.max_head_bytes = kUpgradeRequest.size();
  EXPECT_EQ(parse_request(kUpgradeRequest + kFrameBytes, limits).status, ParseStatus::kComplete);
  limits.max_head_bytes = kUpgradeRequest.size() - 1;
  const auto over = parse_request(kUpgradeRequest, limits);
  EXPECT_EQ(over.status, ParseStatus::kError);
  EXPECT_EQ(over.error, ParseError::kHeadTooLarge);
  EXPECT_EQ(over.consumed, kUpgradeRequest.size());  // found at the final LF, the byte that crossed
}

TEST(RequestHeadParser, MaxHeadBytesDetectedBeforeAnyCrlf) {
  HeadLimits limits;
  limits.max_head_bytes = 100;
  limits.max_line_bytes = 1000;
  const std::string input = "GET /" + std::string(200, 'a');  // no CRLF ever
  const auto outcome = parse_request(input, limits);
  EXPECT_EQ(outcome.status, ParseStatus::kError);
  EXPECT_EQ(outcome.error, ParseError::kHeadTooLarge);
  EXPECT_EQ(outcome.consumed, 101u);
}

TEST(RequestHeadParser, MaxHeadBytesAcrossManyHeaders) {
  std::string input = kLine;
  for (int i = 0; i < 50; ++i) input += "X-Header-" + std::to_string(i) + ": value\r\n";
  input += "\r\n";
  HeadLimits limits;
  limits.max_head_bytes = input.size();
  EXPECT_EQ(parse_request(input, limits).status, ParseStatus::kComplete);
  limits.max_head_bytes = input.size() - 1;
  EXPECT_EQ(parse_request(input, limits).error, ParseError::kHeadTooLarge);
  limits.max_head_bytes = input.size() / 2;
  const auto half = parse_request(input, limits);
  EXPECT_EQ(half.error, ParseError::kHeadTooLarge);
  EXPECT_EQ(half.consumed, input.size() / 2 + 1);
}

TEST(RequestHeadParser, MaxHeaderCountExactlyAndOneOver) {
  std::string input = kLine;
  for (int i = 0; i < 10; ++i) input += "X-" + std::to_string(i) + ": v\r\n";
  input += "\r\n";
  HeadLimits limits;
  limits.max_header_count = 10;
  EXPECT_EQ(parse_request(input, limits).status, ParseStatus::kComplete);
  limits.max_header_count = 9;
  const auto over = parse_request(input, limits);
  EXPECT_EQ(over.status, ParseStatus::kError);
  EXPECT_EQ(over.error, ParseError::kTooManyHeaders);
  EXPECT_EQ(over.consumed, input.size() - 2);  // at the end of the 10th header line
  limits.max_header_count = 0;
  EXPECT_EQ(parse_request(input, limits).error, ParseError::kTooManyHeaders);
  EXPECT_EQ(parse_request("GET / HTTP/1.1\r\n\r\n", limits).status, ParseStatus::kComplete);
}

TEST(RequestHeadParser, MaxLineBytesOnRequestLine) {
  const std::string request_line = "GET /" + std::string(50, 'p') + " HTTP/1.1";
  const std::string input = request_line + "\r\nHost: a\r\n\r\n";
  HeadLimits limits;
  limits.max_line_bytes = request_line.size();
  EXPECT_EQ(parse_request(input, limits).status, ParseStatus::kComplete);
  limits.max_line_bytes = request_line.size() - 1;
  const auto over = parse_request(input, limits);
  EXPECT_EQ(over.status, ParseStatus::kError);
  EXPECT_EQ(over.error, ParseError::kLineTooLong);
  EXPECT_EQ(over.consumed, request_line.size());  // at the byte that made the line too long
}

TEST(RequestHeadParser, MaxLineBytesOnHeaderLine) {
  const std::string header_line = "X-Long: " + std::string(60, 'v');
  const std::string input = kLine + header_line + "\r\nHost: a\r\n\r\n";
  HeadLimits limits;
  limits.max_line_bytes = header_line.size();
  EXPECT_EQ(parse_request(input, limits).status, ParseStatus::kComplete);
  limits.max_line_bytes = header_line.size() - 1;
  const auto over = parse_request(input, limits);
  EXPECT_EQ(over.error, ParseError::kLineTooLong);
  EXPECT_EQ(over.consumed, kLine.size() + header_line.size());
}

TEST(RequestHeadParser, MaxLineBytesDetectedWithoutCrlf) {
  HeadLimits limits;
  limits.max_line_bytes = 64;
  const std::string input = kLine + "X-A: " + std::string(1000, 'v');  // a line that never ends
  const auto outcome = parse_request(input, limits);
  EXPECT_EQ(outcome.error, ParseError::kLineTooLong);
  EXPECT_EQ(outcome.consumed, kLine.size() + 65);
}

TEST(RequestHeadParser, MaxLineBytesWithCrAtTheLimit) {
  // Line content of exactly the limit followed by CR: fine if LF follows, too long otherwise.
  HeadLimits limits;
  limits.max_line_bytes = 14;  // also the request line's length
  const std::string line = "X-A: 123456789";
  ASSERT_EQ(line.size(), 14u);
  EXPECT_EQ(parse_request("GET / HTTP/1.1\r\n" + line + "\r\n\r\n", limits).status, ParseStatus::kComplete);
  const auto cr_then_junk = parse_request(kLine + line + "\rX\r\n\r\n", limits);
  EXPECT_EQ(cr_then_junk.error, ParseError::kLineTooLong);
  EXPECT_EQ(cr_then_junk.consumed, kLine.size() + line.size() + 2);
  // Bare CR inside a line within the limit is a syntax error instead.
  EXPECT_EQ(parse_request(kLine + "X-A: 1\rX\r\n\r\n", limits).error, ParseError::kMalformed);
}

TEST(RequestHeadParser, FirstLimitCrossedWins) {
  // Head limit crossed inside a line that is also too long: whichever byte comes first decides.
  HeadLimits limits;
  limits.max_line_bytes = 20;
  limits.max_head_bytes = kLine.size() + 10;
  EXPECT_EQ(parse_request(kLine + std::string(100, 'x'), limits).error, ParseError::kHeadTooLarge);
  limits.max_head_bytes = kLine.size() + 30;
  EXPECT_EQ(parse_request(kLine + std::string(100, 'x'), limits).error, ParseError::kLineTooLong);
  limits.max_head_bytes = kLine.size() + 20;  // both cross at the same byte
  EXPECT_EQ(parse_request(kLine + std::string(100, 'x'), limits).error, ParseError::kHeadTooLarge);
}

TEST(RequestHeadParser, TinyLimits) {
  HeadLimits limits{0, 0, 0};
  EXPECT_EQ(parse_request("G", limits).error, ParseError::kHeadTooLarge);
  limits = HeadLimits{1000, 0, 0};
  EXPECT_EQ(parse_request("G", limits).error, ParseError::kLineTooLong);
  EXPECT_EQ(parse_request("\r\n", limits).error, ParseError::kMalformed);
}

// --- state ----------------------------------------------------------------------------------------

TEST(RequestHeadParser, ResetParsesPipelinedHeads) {
  const std::string second = "GET /two HTTP/1.1\r\nHost: b\r\n\r\n";
  const std::string input = kUpgradeRequest + second + "tail";
  RequestHeadParser parser;
  ParseResult result = parser.feed(input);
  ASSERT_EQ(result.status, ParseStatus::kComplete);
  EXPECT_EQ(parser.head().target, "/chat?room=1");
  parser.reset();
  EXPECT_EQ(parser.head().headers.size(), 0u);
  const std::string_view rest = std::string_view(input).substr(result.consumed);
  result = parser.feed(rest);
  ASSERT_EQ(result.status, ParseStatus::kComplete);
  EXPECT_EQ(result.consumed, second.size());
  EXPECT_EQ(parser.head().target, "/two");
  EXPECT_EQ(parser.head().headers.get("host"), "b");

  // reset() also clears an error and any half line.
  parser.reset();
  EXPECT_EQ(parser.feed("BAD LINE\r\n").status, ParseStatus::kError);
  parser.reset();
  EXPECT_EQ(parser.feed("GET /half").status, ParseStatus::kNeedMore);
  parser.reset();
  EXPECT_EQ(parser.feed(second).status, ParseStatus::kComplete);
  EXPECT_EQ(parser.head().target, "/two");
}

TEST(RequestHeadParser, TakeHeadAndMove) {
  RequestHeadParser parser;
  ASSERT_EQ(parser.feed(kUpgradeRequest.substr(0, 20)).status, ParseStatus::kNeedMore);
  RequestHeadParser moved(std::move(parser));
  ASSERT_EQ(moved.feed(std::string_view(kUpgradeRequest).substr(20)).status, ParseStatus::kComplete);
  RequestHeadParser assigned;
  assigned = std::move(moved);
  const RequestHead head = assigned.take_head();
  EXPECT_EQ(head.target, "/chat?room=1");
  EXPECT_EQ(head.headers.size(), 5u);
  EXPECT_EQ(assigned.head().headers.size(), 0u);
}

TEST(ParseError, ToString) {
  for (ParseError error : {ParseError::kNone, ParseError::kMalformed, ParseError::kHeadTooLarge,
                           ParseError::kTooManyHeaders, ParseError::kLineTooLong, ParseError::kBadVersion}) {
    EXPECT_FALSE(to_string(error).empty());
  }
  EXPECT_EQ(to_string(ParseError::kHeadTooLarge), "head too large");
}

// --- responses ------------------------------------------------------------------------------------

TEST(ResponseHeadParser, Parses101WithBodyBytesAfter) {
  const std::string head_text =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
      "\r\n";
  const std::string frame = "\x81\x05Hello"s;
  const auto outcome = parse_response(head_text + frame);
  ASSERT_EQ(outcome.status, ParseStatus::kComplete);
  EXPECT_EQ(outcome.consumed, head_text.size());
  const ResponseHead head = parse_response_head(head_text);
  EXPECT_EQ(head.status, 101);
  EXPECT_EQ(head.reason, "Switching Protocols");
  EXPECT_EQ(head.headers.get("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(ResponseHeadParser, BodyPreserved) {
  const std::string head_text = "HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\n";
  const auto outcome = parse_response(head_text + "hello");
  ASSERT_EQ(outcome.status, ParseStatus::kComplete);
  EXPECT_EQ(outcome.consumed, head_text.size());
}

TEST(ResponseHeadParser, ReasonVariants) {
  EXPECT_EQ(parse_response_head("HTTP/1.1 200 OK\r\n\r\n").reason, "OK");
  EXPECT_EQ(parse_response_head("HTTP/1.1 200 \r\n\r\n").reason, "");
  EXPECT_EQ(parse_response_head("HTTP/1.1 200\r\n\r\n").reason, "");
  EXPECT_EQ(parse_response_head("HTTP/1.1 404 Not  Found \t\r\n\r\n").reason, "Not  Found \t");
  EXPECT_EQ(parse_response_head("HTTP/1.1 500 Erreur interne \xc3\xa9\r\n\r\n").reason,
            "Erreur interne \xc3\xa9");
  const ResponseHead head =
      parse_response_head("HTTP/1.0 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\r\n");
  EXPECT_EQ(head.status, 426);
  EXPECT_EQ(head.version_minor, 0);
  EXPECT_EQ(head.headers.get("sec-websocket-version"), "13");
  EXPECT_EQ(parse_response_head("HTTP/1.1 999 Custom\r\n\r\n").status, 999);
  EXPECT_EQ(parse_response_head("HTTP/1.1 100 Continue\r\n\r\n").status, 100);
  for (const char* input : {"HTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 200\r\n\r\n", "HTTP/1.1 204 \r\n\r\n"}) {
    EXPECT_EQ(parse_response(input).status, ParseStatus::kComplete) << input;
  }
}

class ResponseMalformed : public testing::TestWithParam<BadInput> {};

TEST_P(ResponseMalformed, Rejected) {
  const auto outcome = parse_response(GetParam().input);
  EXPECT_EQ(outcome.status, ParseStatus::kError);
  EXPECT_EQ(outcome.error, GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, ResponseMalformed,
    testing::Values(BadInput{"TwoDigitStatus", "HTTP/1.1 20 OK\r\n\r\n", ParseError::kMalformed},
                    BadInput{"FourDigitStatus", "HTTP/1.1 2000 OK\r\n\r\n", ParseError::kMalformed},
                    BadInput{"FourDigitStatusNoReason", "HTTP/1.1 2000\r\n\r\n", ParseError::kMalformed},
                    BadInput{"LetterInStatus", "HTTP/1.1 2a0 OK\r\n\r\n", ParseError::kMalformed},
                    BadInput{"LeadingZeroStatus", "HTTP/1.1 099 OK\r\n\r\n", ParseError::kMalformed},
                    BadInput{"NoSpaceBeforeReason", "HTTP/1.1 200OK\r\n\r\n", ParseError::kMalformed},
                    BadInput{"NoStatus", "HTTP/1.1\r\n\r\n", ParseError::kMalformed},
                    BadInput{"EmptyStatus", "HTTP/1.1 \r\n\r\n", ParseError::kMalformed},
                    BadInput{"SpaceBeforeStatus", "HTTP/1.1  200 OK\r\n\r\n", ParseError::kMalformed},
                    BadInput{"CtlInReason", "HTTP/1.1 200 O\x01K\r\n\r\n", ParseError::kMalformed},
                    BadInput{"BareLf", "HTTP/1.1 200 OK\n\n", ParseError::kMalformed},
                    BadInput{"ObsFold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", ParseError::kMalformed},
                    BadInput{"SpaceBeforeColon", "HTTP/1.1 200 OK\r\nX : a\r\n\r\n", ParseError::kMalformed},
                    BadInput{"RequestInstead", "GET / HTTP/1.1\r\n\r\n", ParseError::kMalformed},
                    BadInput{"LowercaseVersion", "http/1.1 200 OK\r\n\r\n", ParseError::kMalformed},
                    BadInput{"MissingStatusLine", "\r\n\r\n", ParseError::kMalformed},
                    BadInput{"Http2", "HTTP/2.0 200 OK\r\n\r\n", ParseError::kBadVersion},
                    BadInput{"Http09", "HTTP/0.9 200 OK\r\n\r\n", ParseError::kBadVersion}),
    [](const testing::TestParamInfo<BadInput>& param_info) { return std::string(param_info.param.name); });

TEST(ResponseHeadParser, Limits) {
  const std::string input = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
  HeadLimits limits;
  limits.max_head_bytes = input.size();
  limits.max_header_count = 3;
  limits.max_line_bytes = 15;
  EXPECT_EQ(parse_response(input, limits).status, ParseStatus::kComplete);
  EXPECT_EQ(parse_response(input, HeadLimits{input.size() - 1, 3, 15}).error, ParseError::kHeadTooLarge);
  EXPECT_EQ(parse_response(input, HeadLimits{input.size(), 2, 15}).error, ParseError::kTooManyHeaders);
  EXPECT_EQ(parse_response(input, HeadLimits{input.size(), 3, 14}).error, ParseError::kLineTooLong);
}

TEST(ResponseHeadParser, ResetAndTakeHead) {
  ResponseHeadParser parser;
  ASSERT_EQ(parser.feed("HTTP/1.1 502 Bad Gateway\r\n\r\n").status, ParseStatus::kComplete);
  EXPECT_EQ(parser.take_head().status, 502);
  parser.reset();
  ASSERT_EQ(parser.feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n").status,
            ParseStatus::kComplete);
  EXPECT_EQ(parser.head().status, 101);
  ResponseHeadParser moved = std::move(parser);
  EXPECT_EQ(moved.head().headers.get("upgrade"), "websocket");
}

// --- round trips ----------------------------------------------------------------------------------

TEST(RoundTrip, RequestSerializeThenParse) {
  RequestHead head;
  head.method = "GET";
  head.target = "/ws?token=abc%20def";
  head.headers.add("Host", "example.com:8080");
  head.headers.add("Upgrade", "websocket");
  head.headers.add("Connection", "keep-alive, Upgrade");
  head.headers.add("X-Repeated", "1");
  head.headers.add("x-repeated", "2");
  head.headers.add("X-Empty", "");
  const std::string text = serialize(head);
  const auto outcome = parse_request(text + kFrameBytes);
  ASSERT_EQ(outcome.status, ParseStatus::kComplete);
  EXPECT_EQ(outcome.consumed, text.size());
  EXPECT_EQ(outcome.head, text);
  const RequestHead parsed = parse_request_head(text);
  EXPECT_EQ(parsed.method, head.method);
  EXPECT_EQ(parsed.target, head.target);
  EXPECT_EQ(parsed.headers.size(), head.headers.size());
  EXPECT_EQ(parsed.headers.get_all("X-REPEATED"), (std::vector<std::string_view>{"1", "2"}));
}

TEST(RoundTrip, ResponseSerializeThenParse) {
  ResponseHead head;
  head.status = 101;
  head.headers.add("Upgrade", "websocket");
  head.headers.add("Connection", "Upgrade");
  head.headers.add("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const std::string text = serialize(head);
  const auto outcome = parse_response(text);
  ASSERT_EQ(outcome.status, ParseStatus::kComplete);
  const ResponseHead parsed = parse_response_head(text);
  EXPECT_EQ(parsed.status, 101);
  EXPECT_EQ(parsed.reason, "Switching Protocols");
  EXPECT_EQ(serialize(parsed), text);
}

TEST(RoundTrip, ParseThenSerializeNormalises) {
  const RequestHead head = parse_request_head("GET / HTTP/1.1\r\nHost:a\r\nX:  b  \r\n\r\n");
  EXPECT_EQ(serialize(head), "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\r\n");
}

// Every 3-way split of a full handshake as well, to cover a line spread over three feeds.
TEST(RequestHeadParser, EveryThreeWaySplit) {
  const std::string input = "GET /c HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n" + kFrameBytes;
  const auto whole = run<RequestHeadParser>(input, {}, {});
  ASSERT_EQ(whole.status, ParseStatus::kComplete);
  for (std::size_t a = 0; a <= input.size(); ++a) {
    for (std::size_t b = a; b <= input.size(); ++b) {
      ASSERT_EQ(run<RequestHeadParser>(input, {a, b}, {}), whole) << a << "," << b;
    }
  }
}

}  // namespace
}  // namespace wsgate::h1
