// Tests for ws/close.* : the close code table, close payload parsing, close and control frame building.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "tests/ws/ws_test_util.hpp"
#include "ws/close.hpp"
#include "ws/utf8.hpp"

namespace wsgate::ws {
namespace {

using test::Bytes;
using test::close_payload;


// Parses a single frame with FrameParser and returns its unmasked payload.
Bytes frame_payload(const Bytes& frame, FrameHeader* header_out = nullptr) {
  FrameParserOptions options;
  options.check_mask = false;
  FrameParser parser(options);
  Bytes payload;
  std::span<const std::uint8_t> rest(frame);
  while (true) {
    const FrameEvent event = parser.next(rest);
    rest = rest.subspan(event.consumed);
    if (event.kind == FrameEvent::kPayload) {
      payload.insert(payload.end(), event.payload.begin(), event.payload.end());
    } else if (event.kind == FrameEvent::kFrameEnd) {
      if (event.header.masked) {
        apply_mask(payload, event.header.mask_key);
      }
      if (header_out != nullptr) {
        *header_out = event.header;
      }
      EXPECT_TRUE(rest.empty());
      return payload;
    } else if (event.kind != FrameEvent::kHeader) {
      ADD_FAILURE() << "unexpected event " << int{event.kind};
      return payload;
    }
  }
}

TEST(CloseCode, EveryCodeAgainstTheRule) {
  for (std::uint32_t code = 0; code <= 65535; ++code) {
    bool expected = false;
    switch (code) {
      case 1000:
      case 1001:
      case 1002:
      case 1003:
      case 1007:
      case 1008:
      case 1009:
      case 1010:
      case 1011:
      case 1012:
      case 1013:
      case 1014:
        expected = true;
        break;
      default:
        expected = code >= 3000 && code <= 4999;
    }
    ASSERT_EQ(is_valid_close_code(static_cast<std::uint16_t>(code)), expected) << code;
  }
}

TEST(CloseCode, NamedConstants) {
  EXPECT_TRUE(is_valid_close_code(close_code::kNormal));
  EXPECT_TRUE(is_valid_close_code(close_code::kBadGateway));
  EXPECT_FALSE(is_valid_close_code(close_code::kNoStatus));
  EXPECT_FALSE(is_valid_close_code(close_code::kAbnormal));
  EXPECT_FALSE(is_valid_close_code(1004));
  EXPECT_FALSE(is_valid_close_code(1015));
  EXPECT_FALSE(is_valid_close_code(1016));
  EXPECT_FALSE(is_valid_close_code(2999));
  EXPECT_FALSE(is_valid_close_code(5000));
}

TEST(ParseClosePayload, Empty) {
  const CloseParseResult result = parse_close_payload({});
  EXPECT_EQ(result.error, CloseParseError::kNone);
  EXPECT_FALSE(result.info.code.has_value());
  EXPECT_TRUE(result.info.reason.empty());
}

TEST(ParseClosePayload, OneByteIsAnError) {
  for (int b = 0; b < 256; ++b) {
    const Bytes payload = {static_cast<std::uint8_t>(b)};
    EXPECT_EQ(parse_close_payload(payload).error, CloseParseError::kOneByte);
  }
}

TEST(ParseClosePayload, CodeOnlyAndWithReason) {
  CloseParseResult result = parse_close_payload(close_payload(1000));
  EXPECT_EQ(result.error, CloseParseError::kNone);
  EXPECT_EQ(result.info.code, 1000);
  EXPECT_TRUE(result.info.reason.empty());

  result = parse_close_payload(close_payload(4321, "bye \xC3\xA9\xF0\x9F\x98\x80"));
  EXPECT_EQ(result.error, CloseParseError::kNone);
  EXPECT_EQ(result.info.code, 4321);
  EXPECT_EQ(result.info.reason, "bye \xC3\xA9\xF0\x9F\x98\x80");
}

TEST(ParseClosePayload, EveryCodeFollowsTheTable) {
  for (std::uint32_t code = 0; code <= 5000; ++code) {
    const auto c = static_cast<std::uint16_t>(code);
    const CloseParseResult result = parse_close_payload(close_payload(c, "x"));
    EXPECT_EQ(result.error == CloseParseError::kNone, is_valid_close_code(c)) << code;
    if (!is_valid_close_code(c)) {
      EXPECT_EQ(result.error, CloseParseError::kBadCode) << code;
    }
  }
}

TEST(ParseClosePayload, BadUtf8Reason) {
  for (const std::string_view reason : {"\xFF", "ok\xC0\xAF", "\xED\xA0\x80", "trunc\xE2\x82", "\x80"}) {
    EXPECT_EQ(parse_close_payload(close_payload(1000, reason)).error, CloseParseError::kBadUtf8);
  }
}

TEST(BuildCloseFrame, UnmaskedWithCodeAndReason) {
  const Bytes frame = build_close_frame(close_code::kGoingAway, "shutting down");
  EXPECT_EQ(frame[0], 0x88);
  EXPECT_EQ(frame[1], 2 + 13);
  FrameHeader header;
  const Bytes payload = frame_payload(frame, &header);
  EXPECT_FALSE(header.masked);
  EXPECT_TRUE(header.fin);
  const CloseParseResult result = parse_close_payload(payload);
  EXPECT_EQ(result.error, CloseParseError::kNone);
  EXPECT_EQ(result.info.code, close_code::kGoingAway);
  EXPECT_EQ(result.info.reason, "shutting down");
}

TEST(BuildCloseFrame, MaskedRoundTrip) {
  const Bytes frame = build_close_frame(close_code::kBadGateway, "backend gone", test::kTestMask);
  FrameHeader header;
  const Bytes payload = frame_payload(frame, &header);
  EXPECT_TRUE(header.masked);
  EXPECT_EQ(header.mask_key, test::kTestMask);
  const CloseParseResult result = parse_close_payload(payload);
  EXPECT_EQ(result.info.code, close_code::kBadGateway);
  EXPECT_EQ(result.info.reason, "backend gone");
}

TEST(BuildCloseFrame, NoCodeMeansEmptyPayload) {
  EXPECT_EQ(build_close_frame(std::nullopt), (Bytes{0x88, 0x00}));
  EXPECT_EQ(build_close_frame(std::nullopt, "ignored"), (Bytes{0x88, 0x00}));
}

TEST(BuildCloseFrame, ReasonTruncatedTo123Bytes) {
  const std::string reason(200, 'r');
  const Bytes payload = frame_payload(build_close_frame(1000, reason));
  EXPECT_EQ(payload.size(), 125u);
  EXPECT_EQ(parse_close_payload(payload).info.reason, reason.substr(0, 123));
}

TEST(BuildCloseFrame, TruncationRespectsUtf8Boundaries) {
  // A multi-byte code point straddling byte 123 at every position is dropped whole.
  for (const std::string_view glyph : {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"}) {
    for (std::size_t prefix = 118; prefix <= 123; ++prefix) {
      const std::string reason = std::string(prefix, 'a') + std::string(glyph) + "tail";
      const Bytes payload = frame_payload(build_close_frame(1000, reason));
      const CloseParseResult result = parse_close_payload(payload);
      ASSERT_EQ(result.error, CloseParseError::kNone) << prefix;
      std::size_t expected = 123;
      if (reason.size() <= 123) {
        expected = reason.size();
      } else if (prefix + glyph.size() > 123) {
        expected = prefix;  // the glyph would be cut: drop it whole
      }
      EXPECT_EQ(result.info.reason, reason.substr(0, expected)) << prefix;
      EXPECT_TRUE(is_valid_utf8(Bytes(result.info.reason.begin(), result.info.reason.end())));
    }
  }
}

TEST(BuildControlFrame, PingPongWithPayload) {
  const Bytes data = test::pattern_payload(125);
  for (const Opcode opcode : {Opcode::kPing, Opcode::kPong}) {
    for (const bool masked : {false, true}) {
      const std::optional<MaskKey> mask = masked ? std::optional(test::kTestMask) : std::nullopt;
      const Bytes frame = build_control_frame(opcode, data, mask);
      EXPECT_EQ(frame.size(), 2 + (masked ? 4 : 0) + 125u);
      FrameHeader header;
      EXPECT_EQ(frame_payload(frame, &header), data);
      EXPECT_EQ(header.opcode, static_cast<std::uint8_t>(opcode));
      EXPECT_EQ(header.masked, masked);
    }
  }
}

TEST(BuildControlFrame, PayloadTruncatedTo125) {
  const Bytes data = test::pattern_payload(300);
  const Bytes payload = frame_payload(build_control_frame(Opcode::kPing, data));
  EXPECT_EQ(payload, Bytes(data.begin(), data.begin() + 125));
}

TEST(BuildControlFrame, EmptyPing) { EXPECT_EQ(build_control_frame(Opcode::kPing, {}), (Bytes{0x89, 0x00})); }

}  // namespace
}  // namespace wsgate::ws
