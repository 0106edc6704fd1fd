// Tests for ws/frame.* : FrameParser at every split, every rejection, write_frame_header round trips.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "tests/ws/ws_test_util.hpp"
#include "ws/frame.hpp"

namespace wsgate::ws {
namespace {

using test::Bytes;
using test::make_frame;
using test::pattern_payload;

struct ParsedFrame {
  FrameHeader header;
  Bytes payload;            // as on the wire (still masked)
  std::size_t end_pos = 0;  // absolute stream offset just past the frame

  bool operator==(const ParsedFrame&) const = default;
};

struct Trace {
  std::vector<ParsedFrame> frames;
  std::optional<FrameError> error;
  std::size_t error_pos = 0;  // absolute offset just past the byte that proved the error
  std::size_t consumed = 0;
  bool at_boundary = false;

  bool operator==(const Trace&) const = default;
};

// Feeds `stream` cut at `cuts` (ascending offsets) and records a split-independent trace,
// checking the event invariants on the way.
Trace run_parser(const FrameParserOptions& options, const Bytes& stream,
                 const std::vector<std::size_t>& cuts) {
  Trace trace;
  FrameParser parser(options);
  EXPECT_TRUE(parser.at_frame_boundary());
  std::size_t abs = 0;
  std::optional<ParsedFrame> current;
  std::size_t chunk_start = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t chunk_end = i < cuts.size() ? cuts[i] : stream.size();
    std::span<const std::uint8_t> rest(stream.data() + chunk_start, chunk_end - chunk_start);
    chunk_start = chunk_end;
    for (int guard = 0;; ++guard) {
      if (guard > 1000000) {
        ADD_FAILURE() << "parser made no progress";
        return trace;
      }
      const FrameEvent event = parser.next(rest);
      EXPECT_LE(event.consumed, rest.size());
      switch (event.kind) {
        case FrameEvent::kNeedMore:
          EXPECT_EQ(event.consumed, rest.size());
          break;
        case FrameEvent::kHeader:
          EXPECT_FALSE(current.has_value());
          EXPECT_GE(event.consumed, 1u);
          current = ParsedFrame{event.header, {}, 0};
          EXPECT_FALSE(parser.at_frame_boundary());
          break;
        case FrameEvent::kPayload:
          EXPECT_TRUE(current.has_value());
          if (!current) {
            return trace;
          }
          EXPECT_GT(event.consumed, 0u);
          EXPECT_EQ(event.payload.size(), event.consumed);
          EXPECT_EQ(event.payload.data(), rest.data());
          EXPECT_EQ(event.payload_offset, current->payload.size());
          EXPECT_EQ(event.header, current->header);
          EXPECT_FALSE(parser.at_frame_boundary());
          current->payload.insert(current->payload.end(), event.payload.begin(), event.payload.end());
          break;
        case FrameEvent::kFrameEnd:
          EXPECT_TRUE(current.has_value());
          if (!current) {
            return trace;
          }
          EXPECT_EQ(event.consumed, 0u);
          EXPECT_EQ(event.header, current->header);
          EXPECT_EQ(current->payload.size(), current->header.payload_length);
          EXPECT_TRUE(parser.at_frame_boundary());
          current->end_pos = abs;
          trace.frames.push_back(*current);
          current.reset();
          break;
        case FrameEvent::kError: {
          EXPECT_NE(event.error, FrameError::kNone);
          trace.error = event.error;
          trace.error_pos = abs + event.consumed;
          trace.consumed = trace.error_pos;
          EXPECT_FALSE(parser.at_frame_boundary());
          // The parser stays in error and consumes nothing more.
          const FrameEvent again = parser.next(rest.subspan(event.consumed));
          EXPECT_EQ(again.kind, FrameEvent::kError);
          EXPECT_EQ(again.error, event.error);
          EXPECT_EQ(again.consumed, 0u);
          return trace;
        }
      }
      abs += event.consumed;
      rest = rest.subspan(event.consumed);
      if (event.kind == FrameEvent::kNeedMore) {
        break;
      }
    }
  }
  trace.consumed = abs;
  trace.at_boundary = parser.at_frame_boundary();
  EXPECT_EQ(trace.at_boundary, !current.has_value());
  return trace;
}

std::vector<std::size_t> every_byte(std::size_t size) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < size; ++i) {
    cuts.push_back(i);
  }
  return cuts;
}

// Runs whole, one byte at a time, and (if `two_way`) at every 2-way split; all must agree.
Trace check_all_splits(const FrameParserOptions& options, const Bytes& stream, bool two_way = true) {
  const Trace whole = run_parser(options, stream, {});
  EXPECT_EQ(whole, run_parser(options, stream, every_byte(stream.size()))) << "one byte at a time";
  if (two_way) {
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
      const Trace split = run_parser(options, stream, {cut});
      EXPECT_EQ(whole, split) << "split at " << cut;
      if (whole != split) {
        break;
      }
    }
  }
  return whole;
}

FrameParserOptions client_options() { return FrameParserOptions{}; }

FrameParserOptions server_options() {
  FrameParserOptions options;
  options.sender = Sender::kServer;
  return options;
}

struct FrameSpec {
  bool fin;
  Opcode opcode;
  std::size_t size;
};

const std::vector<FrameSpec> kSmallFrames = {
    {true, Opcode::kText, 0},     {true, Opcode::kBinary, 1},    {false, Opcode::kText, 5},
    {true, Opcode::kPing, 0},     {true, Opcode::kPong, 125},    {true, Opcode::kContinuation, 3},
    {true, Opcode::kBinary, 125}, {true, Opcode::kBinary, 126},  {true, Opcode::kBinary, 127},
    {true, Opcode::kClose, 2},    {false, Opcode::kBinary, 200}, {true, Opcode::kContinuation, 0},
};

Bytes build_stream(const std::vector<FrameSpec>& specs, std::optional<MaskKey> mask) {
  Bytes stream;
  std::uint8_t seed = 1;
  for (const FrameSpec& spec : specs) {
    test::append(stream, make_frame(spec.fin, spec.opcode, pattern_payload(spec.size, seed++), mask));
  }
  return stream;
}

void expect_frames_match(const Trace& trace, const std::vector<FrameSpec>& specs,
                         std::optional<MaskKey> mask) {
  ASSERT_FALSE(trace.error.has_value()) << to_string(*trace.error);
  ASSERT_EQ(trace.frames.size(), specs.size());
  std::uint8_t seed = 1;
  std::size_t pos = 0;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const ParsedFrame& frame = trace.frames[i];
    EXPECT_EQ(frame.header.fin, specs[i].fin);
    EXPECT_EQ(frame.header.opcode, static_cast<std::uint8_t>(specs[i].opcode));
    EXPECT_EQ(frame.header.payload_length, specs[i].size);
    EXPECT_EQ(frame.header.masked, mask.has_value());
    if (mask) {
      EXPECT_EQ(frame.header.mask_key, *mask);
    }
    Bytes payload = frame.payload;
    if (mask) {
      apply_mask(payload, *mask);
    }
    EXPECT_EQ(payload, pattern_payload(specs[i].size, seed++));
    const std::size_t expected_header = 2 +
                                        (specs[i].size > 0xFFFF ? 8
                                         : specs[i].size >= 126 ? 2
                                                                : 0) +
                                        (mask ? 4 : 0);
    EXPECT_EQ(frame.header.header_length, expected_header);
    pos += expected_header + specs[i].size;
    EXPECT_EQ(frame.end_pos, pos);
  }
  EXPECT_TRUE(trace.at_boundary);
  EXPECT_EQ(trace.consumed, pos);
}

TEST(FrameParser, ClientStreamEverySplit) {
  const Bytes stream = build_stream(kSmallFrames, test::kTestMask);
  expect_frames_match(check_all_splits(client_options(), stream), kSmallFrames, test::kTestMask);
}

TEST(FrameParser, ServerStreamEverySplit) {
  const Bytes stream = build_stream(kSmallFrames, std::nullopt);
  expect_frames_match(check_all_splits(server_options(), stream), kSmallFrames, std::nullopt);
}

TEST(FrameParser, ThreeWaySplitsOfSmallStream) {
  const std::vector<FrameSpec> specs = {
      {true, Opcode::kText, 3}, {true, Opcode::kPing, 0}, {true, Opcode::kBinary, 126}};
  const Bytes stream = build_stream(specs, test::kTestMask);
  const Trace whole = run_parser(client_options(), stream, {});
  expect_frames_match(whole, specs, test::kTestMask);
  for (std::size_t a = 0; a <= 40; ++a) {
    for (std::size_t b = a; b <= stream.size(); ++b) {
      ASSERT_EQ(whole, run_parser(client_options(), stream, {a, b})) << a << "," << b;
    }
  }
}

TEST(FrameParser, BoundaryLengthsOneByteAtATime) {
  // 0/1/125/126/127/65535/65536: every length encoding boundary.
  const std::vector<FrameSpec> specs = {
      {true, Opcode::kBinary, 0},     {true, Opcode::kBinary, 1},   {true, Opcode::kBinary, 125},
      {true, Opcode::kBinary, 126},   {true, Opcode::kBinary, 127}, {true, Opcode::kBinary, 65535},
      {true, Opcode::kBinary, 65536}, {true, Opcode::kText, 1},
  };
  for (const bool masked : {true, false}) {
    const std::optional<MaskKey> mask = masked ? std::optional(test::kTestMask) : std::nullopt;
    const FrameParserOptions options = masked ? client_options() : server_options();
    const Bytes stream = build_stream(specs, mask);
    const Trace whole = check_all_splits(options, stream, /*two_way=*/false);
    expect_frames_match(whole, specs, mask);
    // 2-way splits in and around every header (where the interesting state lives).
    for (const ParsedFrame& frame : whole.frames) {
      const std::size_t start = frame.end_pos - frame.header.payload_length - frame.header.header_length;
      for (std::size_t cut = start; cut <= start + frame.header.header_length + 2 && cut <= stream.size();
           ++cut) {
        ASSERT_EQ(whole, run_parser(options, stream, {cut})) << "cut " << cut;
      }
    }
  }
}

TEST(FrameParser, LengthTwoToThe32HeaderOnly) {
  Bytes header(kMaxHeaderBytes);
  const std::uint64_t length = std::uint64_t{1} << 32;
  header.resize(write_frame_header(header, true, 0x2, length, test::kTestMask));
  ASSERT_EQ(header.size(), 14u);
  FrameParser parser;
  FrameEvent event = parser.next(header);
  ASSERT_EQ(event.kind, FrameEvent::kHeader);
  EXPECT_EQ(event.consumed, 14u);
  EXPECT_EQ(event.header.payload_length, length);
  EXPECT_EQ(event.header.header_length, 14);
  // A few payload bytes: chunks report their offset, the frame stays open.
  const Bytes some(1000, 0xAB);
  std::uint64_t offset = 0;
  for (int i = 0; i < 3; ++i) {
    event = parser.next(some);
    ASSERT_EQ(event.kind, FrameEvent::kPayload);
    EXPECT_EQ(event.payload_offset, offset);
    EXPECT_EQ(event.consumed, some.size());
    offset += some.size();
    EXPECT_EQ(parser.next({}).kind, FrameEvent::kNeedMore);
    EXPECT_FALSE(parser.at_frame_boundary());
  }
}

TEST(FrameParser, LargestLegalLength) {
  Bytes header(kMaxHeaderBytes);
  const std::uint64_t length = (std::uint64_t{1} << 63) - 1;
  header.resize(write_frame_header(header, true, 0x2, length));
  FrameParser parser(server_options());
  const FrameEvent event = parser.next(header);
  ASSERT_EQ(event.kind, FrameEvent::kHeader);
  EXPECT_EQ(event.header.payload_length, length);
}

// One malformed frame: the error, and the offset of the byte that proves it.
void expect_error(const FrameParserOptions& options, const Bytes& stream, FrameError error, std::size_t at) {
  const Trace trace = check_all_splits(options, stream);
  ASSERT_TRUE(trace.error.has_value());
  EXPECT_EQ(*trace.error, error) << to_string(*trace.error);
  EXPECT_EQ(trace.error_pos, at);
}

Bytes with_payload(Bytes header, std::size_t size) {
  test::append(header, Bytes(size, 0x11));
  return header;
}

TEST(FrameParser, RejectsReservedOpcodesAtFirstByte) {
  for (std::uint8_t opcode = 0; opcode < 16; ++opcode) {
    const bool reserved = (opcode >= 3 && opcode <= 7) || opcode >= 0xB;
    const Bytes frame = make_frame(true, opcode, {1, 2, 3}, test::kTestMask);
    if (reserved) {
      expect_error(client_options(), frame, FrameError::kReservedOpcode, 1);
    } else {
      const Trace trace = run_parser(client_options(), frame, {});
      EXPECT_FALSE(trace.error.has_value()) << int{opcode};
      EXPECT_EQ(trace.frames.size(), 1u);
    }
  }
}

TEST(FrameParser, RejectsRsvBitsNotAllowed) {
  const std::uint8_t all[] = {kRsv1, kRsv2, kRsv3};
  for (const std::uint8_t allowed : {std::uint8_t{0}, kRsv1, static_cast<std::uint8_t>(kRsv1 | kRsv3)}) {
    FrameParserOptions options;
    options.allowed_rsv = allowed;
    for (const std::uint8_t bit : all) {
      const Bytes frame = make_frame(true, Opcode::kText, {'a'}, test::kTestMask, bit);
      if ((allowed & bit) != 0) {
        const Trace trace = run_parser(options, frame, {});
        EXPECT_FALSE(trace.error.has_value());
        ASSERT_EQ(trace.frames.size(), 1u);
        EXPECT_EQ(trace.frames[0].header.rsv, bit);
      } else {
        expect_error(options, frame, FrameError::kReservedBits, 1);
      }
    }
  }
  // set_allowed_rsv takes effect for the next frame (after negotiation).
  FrameParser parser;
  const Bytes frame = make_frame(true, Opcode::kText, {'a'}, test::kTestMask, kRsv1);
  parser.set_allowed_rsv(kRsv1);
  EXPECT_EQ(parser.options().allowed_rsv, kRsv1);
  EXPECT_EQ(parser.next(frame).kind, FrameEvent::kHeader);
}

TEST(FrameParser, RejectsFragmentedControlFrames) {
  for (const Opcode opcode : {Opcode::kClose, Opcode::kPing, Opcode::kPong}) {
    expect_error(client_options(), make_frame(false, opcode, {}, test::kTestMask),
                 FrameError::kControlFragmented, 1);
  }
}

TEST(FrameParser, RejectsLongControlFrames) {
  for (const Opcode opcode : {Opcode::kClose, Opcode::kPing, Opcode::kPong}) {
    // 125 is the limit; 126 (16-bit form) and 127 (64-bit form) fail at the second byte.
    EXPECT_FALSE(run_parser(client_options(), make_frame(true, opcode, Bytes(125, 0), test::kTestMask), {})
                     .error.has_value());
    expect_error(client_options(), make_frame(true, opcode, Bytes(126, 0), test::kTestMask),
                 FrameError::kControlTooLong, 2);
    expect_error(client_options(), make_frame(true, opcode, Bytes(65536, 0), test::kTestMask),
                 FrameError::kControlTooLong, 2);
  }
}

TEST(FrameParser, RejectsNonMinimal16BitLength) {
  for (std::uint16_t length : {0, 1, 125}) {
    const Bytes frame = with_payload({0x82, 126, 0, static_cast<std::uint8_t>(length)}, length);
    expect_error(server_options(), frame, FrameError::kNonMinimalLength, 4);
    FrameParserOptions lax = server_options();
    lax.strict_lengths = false;
    const Trace trace = check_all_splits(lax, frame);
    ASSERT_FALSE(trace.error.has_value());
    ASSERT_EQ(trace.frames.size(), 1u);
    EXPECT_EQ(trace.frames[0].header.payload_length, length);
    EXPECT_EQ(trace.frames[0].header.header_length, 4);
  }
  // 126 is the smallest length the 16-bit form may carry.
  const Trace ok = run_parser(server_options(), with_payload({0x82, 126, 0, 126}, 126), {});
  EXPECT_FALSE(ok.error.has_value());
}

TEST(FrameParser, RejectsNonMinimal64BitLength) {
  for (std::uint32_t length : {0u, 125u, 126u, 65535u}) {
    Bytes header = {0x82,
                    127,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    static_cast<std::uint8_t>(length >> 8),
                    static_cast<std::uint8_t>(length)};
    const Bytes frame = with_payload(header, length);
    expect_error(server_options(), frame, FrameError::kNonMinimalLength, 10);
    FrameParserOptions lax = server_options();
    lax.strict_lengths = false;
    const Trace trace = run_parser(lax, frame, {});
    ASSERT_FALSE(trace.error.has_value());
    ASSERT_EQ(trace.frames.size(), 1u);
    EXPECT_EQ(trace.frames[0].header.payload_length, length);
    EXPECT_EQ(trace.frames[0].header.header_length, 10);
  }
  const Trace ok = run_parser(server_options(), with_payload({0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}, 65536), {});
  EXPECT_FALSE(ok.error.has_value());
}

TEST(FrameParser, RejectsLengthTopBitAtFirstLengthByte) {
  expect_error(server_options(), {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, FrameError::kLengthTopBit, 3);
  expect_error(server_options(), {0x82, 127, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
               FrameError::kLengthTopBit, 3);
  FrameParserOptions lax = server_options();
  lax.strict_lengths = false;
  expect_error(lax, {0x82, 127, 0x80}, FrameError::kLengthTopBit, 3);
}

TEST(FrameParser, EnforcesMaskRuleBySender) {
  const Bytes unmasked = make_frame(true, Opcode::kText, {'h', 'i'});
  const Bytes masked = make_frame(true, Opcode::kText, {'h', 'i'}, test::kTestMask);
  expect_error(client_options(), unmasked, FrameError::kMaskRequired, 2);
  expect_error(server_options(), masked, FrameError::kMaskForbidden, 2);
  EXPECT_FALSE(run_parser(client_options(), masked, {}).error.has_value());
  EXPECT_FALSE(run_parser(server_options(), unmasked, {}).error.has_value());
  for (FrameParserOptions options : {client_options(), server_options()}) {
    options.check_mask = false;
    EXPECT_FALSE(check_all_splits(options, masked).error.has_value());
    EXPECT_FALSE(check_all_splits(options, unmasked).error.has_value());
  }
}

TEST(FrameParser, EnforcesMaxFrameBytesBeforeTheMaskKey) {
  for (const std::uint64_t limit : {std::uint64_t{10}, std::uint64_t{300}, std::uint64_t{70000}}) {
    FrameParserOptions options;
    options.max_frame_bytes = limit;
    const auto size = static_cast<std::size_t>(limit);
    EXPECT_FALSE(run_parser(options, make_frame(true, Opcode::kBinary, Bytes(size, 1), test::kTestMask), {})
                     .error.has_value());
    const Bytes too_big = make_frame(true, Opcode::kBinary, Bytes(size + 1, 1), test::kTestMask);
    const std::size_t length_bytes = size + 1 > 0xFFFF ? 10 : size + 1 >= 126 ? 4 : 2;
    const Trace trace = run_parser(options, too_big, every_byte(too_big.size()));
    ASSERT_TRUE(trace.error.has_value());
    EXPECT_EQ(*trace.error, FrameError::kFrameTooLarge);
    EXPECT_EQ(trace.error_pos, length_bytes);
  }
}

TEST(FrameParser, ErrorAfterGoodFramesKeepsTheirEvents) {
  Bytes stream = make_frame(true, Opcode::kText, {'o', 'k'}, test::kTestMask);
  const std::size_t good = stream.size();
  test::append(stream, {0x83, 0x80, 1, 2, 3, 4});
  const Trace trace = check_all_splits(client_options(), stream);
  ASSERT_EQ(trace.frames.size(), 1u);
  ASSERT_TRUE(trace.error.has_value());
  EXPECT_EQ(*trace.error, FrameError::kReservedOpcode);
  EXPECT_EQ(trace.error_pos, good + 1);
}

TEST(FrameParser, AtFrameBoundaryOnlyBetweenFrames) {
  const Bytes frame = make_frame(true, Opcode::kBinary, {1, 2, 3}, test::kTestMask);
  FrameParser parser;
  EXPECT_TRUE(parser.at_frame_boundary());
  EXPECT_EQ(parser.next(std::span(frame).first(1)).kind, FrameEvent::kNeedMore);
  EXPECT_FALSE(parser.at_frame_boundary());
  EXPECT_EQ(parser.next(std::span(frame).subspan(1, 5)).kind, FrameEvent::kHeader);
  EXPECT_FALSE(parser.at_frame_boundary());
  EXPECT_EQ(parser.next(std::span(frame).subspan(6)).kind, FrameEvent::kPayload);
  EXPECT_FALSE(parser.at_frame_boundary());  // kFrameEnd not yet delivered
  EXPECT_EQ(parser.next({}).kind, FrameEvent::kFrameEnd);
  EXPECT_TRUE(parser.at_frame_boundary());
  EXPECT_EQ(parser.next({}).kind, FrameEvent::kNeedMore);
  EXPECT_TRUE(parser.at_frame_boundary());
}

TEST(FrameParser, EmptyPayloadGivesHeaderThenFrameEnd) {
  const Bytes frame = make_frame(true, Opcode::kPing, {}, test::kTestMask);
  FrameParser parser;
  FrameEvent event = parser.next(frame);
  EXPECT_EQ(event.kind, FrameEvent::kHeader);
  EXPECT_EQ(event.consumed, 6u);
  event = parser.next({});
  EXPECT_EQ(event.kind, FrameEvent::kFrameEnd);
  EXPECT_EQ(event.header.opcode, 0x9);
}

TEST(FrameParser, ErrorNamesAreDistinct) {
  const FrameError all[] = {
      FrameError::kNone,           FrameError::kReservedOpcode,    FrameError::kReservedBits,
      FrameError::kControlTooLong, FrameError::kControlFragmented, FrameError::kNonMinimalLength,
      FrameError::kLengthTopBit,   FrameError::kMaskRequired,      FrameError::kMaskForbidden,
      FrameError::kFrameTooLarge};
  for (const FrameError a : all) {
    EXPECT_FALSE(to_string(a).empty());
    for (const FrameError b : all) {
      if (a != b) {
        EXPECT_NE(to_string(a), to_string(b));
      }
    }
  }
}

TEST(WriteFrameHeader, MinimalLengthEncoding) {
  struct Case {
    std::uint64_t length;
    std::size_t header_bytes;
  };
  const Case cases[] = {{0, 2},      {1, 2},           {125, 2},
                        {126, 4},    {127, 4},         {65535, 4},
                        {65536, 10}, {1ull << 32, 10}, {(1ull << 63) - 1, 10}};
  for (const Case& c : cases) {
    for (const bool masked : {false, true}) {
      std::array<std::uint8_t, kMaxHeaderBytes> out{};
      const std::optional<MaskKey> mask = masked ? std::optional(test::kTestMask) : std::nullopt;
      const std::size_t n = write_frame_header(out, true, 0x2, c.length, mask);
      ASSERT_EQ(n, c.header_bytes + (masked ? 4 : 0)) << c.length;
      FrameParserOptions options;
      options.sender = masked ? Sender::kClient : Sender::kServer;
      FrameParser parser(options);
      const FrameEvent event = parser.next(std::span(out).first(n));
      ASSERT_EQ(event.kind, FrameEvent::kHeader);
      EXPECT_EQ(event.consumed, n);
      EXPECT_EQ(event.header.payload_length, c.length);
      EXPECT_EQ(event.header.header_length, n);
      EXPECT_EQ(event.header.masked, masked);
      if (masked) {
        EXPECT_EQ(event.header.mask_key, test::kTestMask);
      }
    }
  }
}

TEST(WriteFrameHeader, RoundTripsEveryField) {
  for (std::uint8_t opcode : {0x0, 0x1, 0x2, 0x8, 0x9, 0xA}) {
    for (const bool fin : {false, true}) {
      if (is_control(opcode) && !fin) {
        continue;
      }
      for (std::uint8_t rsv = 0; rsv <= 0x70; rsv += 0x10) {
        std::array<std::uint8_t, kMaxHeaderBytes> out{};
        const std::size_t n = write_frame_header(out, fin, opcode, 7, MaskKey{1, 2, 3, 4}, rsv);
        FrameParserOptions options;
        options.allowed_rsv = kRsv1 | kRsv2 | kRsv3;
        FrameParser parser(options);
        const FrameEvent event = parser.next(std::span(out).first(n));
        ASSERT_EQ(event.kind, FrameEvent::kHeader);
        EXPECT_EQ(event.header.fin, fin);
        EXPECT_EQ(event.header.opcode, opcode);
        EXPECT_EQ(event.header.rsv, rsv);
        EXPECT_EQ(event.header.mask_key, (MaskKey{1, 2, 3, 4}));
      }
    }
  }
}

TEST(WriteFrameHeader, ReturnsZeroWhenOutputTooShort) {
  std::array<std::uint8_t, 3> small{};
  EXPECT_EQ(write_frame_header(small, true, 0x2, 5), 2u);
  EXPECT_EQ(write_frame_header(small, true, 0x2, 126), 0u);
  EXPECT_EQ(write_frame_header(small, true, 0x2, 5, test::kTestMask), 0u);
}

TEST(WriteFrameHeader, MatchesRfcExamples) {
  // RFC 6455 §5.7: unmasked "Hello", masked "Hello", 256 bytes and 64 KiB binary headers.
  std::array<std::uint8_t, kMaxHeaderBytes> out{};
  ASSERT_EQ(write_frame_header(out, true, 0x1, 5), 2u);
  EXPECT_EQ(out[0], 0x81);
  EXPECT_EQ(out[1], 0x05);
  Bytes masked = make_frame(true, Opcode::kText, test::bytes_of("Hello"), MaskKey{0x37, 0xfa, 0x21, 0x3d});
  EXPECT_EQ(masked, (Bytes{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
  ASSERT_EQ(write_frame_header(out, true, 0x2, 256), 4u);
  EXPECT_EQ((Bytes{out[0], out[1], out[2], out[3]}), (Bytes{0x82, 0x7E, 0x01, 0x00}));
  ASSERT_EQ(write_frame_header(out, true, 0x2, 65536), 10u);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 10), (Bytes{0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}));
}

}  // namespace
}  // namespace wsgate::ws
