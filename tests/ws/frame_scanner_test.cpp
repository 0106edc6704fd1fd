// Tests for ws/frame_scanner.* : frame ends, fragmentation rules, control frames inside messages,
// close payload checks, message size limit and UTF-8 across frames, at every split of the input.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "tests/ws/ws_test_util.hpp"
#include "ws/close.hpp"
#include "ws/frame_scanner.hpp"

namespace wsgate::ws {
namespace {

using test::Bytes;
using test::close_payload;
using test::bytes_of;
using test::make_frame;

// What the relay sees, in a split-independent form.
struct Seen {
  ScanResult::Kind kind = ScanResult::kNeedMore;
  std::size_t end_pos = 0;  // absolute offset just past the frame (kFrameEnd)
  std::uint8_t opcode = 0;
  bool fin = false;
  bool message_end = false;
  std::uint64_t message_bytes = 0;
  Bytes control_payload;
  ScanError error = ScanError::kNone;
  FrameError frame_error = FrameError::kNone;

  bool operator==(const Seen&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Seen& s) {
  return os << "{kind=" << int{s.kind} << " end=" << s.end_pos << " op=" << int{s.opcode} << " fin=" << s.fin
            << " msg_end=" << s.message_end << " msg_bytes=" << s.message_bytes
            << " ctl=" << s.control_payload.size() << " err=" << static_cast<int>(s.error)
            << " ferr=" << to_string(s.frame_error) << "}";
}

std::vector<Seen> run_scanner(const FrameScannerOptions& options, const Bytes& stream,
                              const std::vector<std::size_t>& cuts) {
  std::vector<Seen> seen;
  FrameScanner scanner(options);
  std::size_t abs = 0;
  std::size_t chunk_start = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t chunk_end = i < cuts.size() ? cuts[i] : stream.size();
    std::span<const std::uint8_t> rest(stream.data() + chunk_start, chunk_end - chunk_start);
    chunk_start = chunk_end;
    while (true) {
      const ScanResult result = scanner.scan(rest);
      EXPECT_LE(result.consumed, rest.size());
      abs += result.consumed;
      rest = rest.subspan(result.consumed);
      if (result.kind == ScanResult::kNeedMore) {
        EXPECT_TRUE(rest.empty());
        break;
      }
      Seen s;
      s.kind = result.kind;
      s.error = result.error;
      s.frame_error = result.frame_error;
      if (result.kind == ScanResult::kError) {
        EXPECT_NE(result.error, ScanError::kNone);
        // Errors are sticky and consume nothing.
        const ScanResult again = scanner.scan(rest);
        EXPECT_EQ(again.kind, ScanResult::kError);
        EXPECT_EQ(again.error, result.error);
        EXPECT_EQ(again.consumed, 0u);
        seen.push_back(s);
        return seen;
      }
      EXPECT_GT(result.consumed, 0u);
      EXPECT_TRUE(scanner.at_frame_boundary());
      s.end_pos = abs;
      s.opcode = result.header.opcode;
      s.fin = result.header.fin;
      s.message_end = result.message_end;
      s.message_bytes = result.message_end ? result.message_bytes : 0;
      s.control_payload.assign(result.control_payload.begin(), result.control_payload.end());
      if (!is_control(result.header.opcode)) {
        EXPECT_EQ(scanner.in_fragmented_message(), !result.header.fin);
        EXPECT_TRUE(result.control_payload.empty());
      }
      seen.push_back(s);
    }
  }
  return seen;
}

// The same trace whole, byte by byte and at every 2-way split.
std::vector<Seen> scan_all_splits(const FrameScannerOptions& options, const Bytes& stream) {
  const std::vector<Seen> whole = run_scanner(options, stream, {});
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < stream.size(); ++i) {
    every.push_back(i);
  }
  EXPECT_EQ(whole, run_scanner(options, stream, every)) << "one byte at a time";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    const auto split = run_scanner(options, stream, {cut});
    EXPECT_EQ(whole, split) << "split at " << cut;
    if (whole != split) {
      break;
    }
  }
  return whole;
}

FrameScannerOptions client_scanner() { return FrameScannerOptions{}; }

FrameScannerOptions server_scanner() {
  FrameScannerOptions options;
  options.frame.sender = Sender::kServer;
  return options;
}

constexpr MaskKey kMask = test::kTestMask;


TEST(FrameScanner, SingleFrameMessages) {
  Bytes stream = make_frame(true, Opcode::kText, bytes_of("hello"), kMask);
  test::append(stream, make_frame(true, Opcode::kBinary, test::pattern_payload(300), kMask));
  test::append(stream, make_frame(true, Opcode::kBinary, {}, kMask));
  const auto seen = scan_all_splits(client_scanner(), stream);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].end_pos, 11u);
  EXPECT_TRUE(seen[0].message_end);
  EXPECT_EQ(seen[0].message_bytes, 5u);
  EXPECT_EQ(seen[1].message_bytes, 300u);
  EXPECT_EQ(seen[1].end_pos, 11u + 8 + 300);
  EXPECT_TRUE(seen[2].message_end);
  EXPECT_EQ(seen[2].message_bytes, 0u);
  EXPECT_EQ(seen[2].end_pos, stream.size());
}

TEST(FrameScanner, FragmentedMessageWithInterleavedControlFrames) {
  Bytes stream = make_frame(false, Opcode::kText, bytes_of("Hel"), kMask);
  test::append(stream, make_frame(true, Opcode::kPing, bytes_of("are you there"), kMask));
  test::append(stream, make_frame(false, Opcode::kContinuation, bytes_of("lo, "), kMask));
  test::append(stream, make_frame(true, Opcode::kPong, {}, kMask));
  test::append(stream, make_frame(true, Opcode::kClose, close_payload(1000, "bye"), kMask));
  test::append(stream, make_frame(true, Opcode::kContinuation, bytes_of("world"), kMask));
  FrameScannerOptions options = client_scanner();
  options.validate_utf8 = true;
  const auto seen = scan_all_splits(options, stream);
  ASSERT_EQ(seen.size(), 6u);
  EXPECT_FALSE(seen[0].message_end);
  EXPECT_EQ(seen[1].opcode, 0x9);
  EXPECT_EQ(seen[1].control_payload, bytes_of("are you there"));  // unmasked
  EXPECT_FALSE(seen[1].message_end);
  EXPECT_FALSE(seen[2].message_end);
  EXPECT_EQ(seen[3].opcode, 0xA);
  EXPECT_TRUE(seen[3].control_payload.empty());
  EXPECT_EQ(seen[4].opcode, 0x8);
  EXPECT_EQ(seen[4].control_payload, close_payload(1000, "bye"));
  EXPECT_TRUE(seen[5].message_end);
  EXPECT_EQ(seen[5].message_bytes, 12u);
  EXPECT_EQ(seen[5].end_pos, stream.size());
}

TEST(FrameScanner, InFragmentedMessageState) {
  FrameScanner scanner;
  EXPECT_FALSE(scanner.in_fragmented_message());
  EXPECT_EQ(scanner.scan(make_frame(false, Opcode::kBinary, {1}, kMask)).kind, ScanResult::kFrameEnd);
  EXPECT_TRUE(scanner.in_fragmented_message());
  EXPECT_EQ(scanner.scan(make_frame(true, Opcode::kPing, {}, kMask)).kind, ScanResult::kFrameEnd);
  EXPECT_TRUE(scanner.in_fragmented_message());
  const ScanResult end = scanner.scan(make_frame(true, Opcode::kContinuation, {2, 3}, kMask));
  EXPECT_EQ(end.kind, ScanResult::kFrameEnd);
  EXPECT_TRUE(end.message_end);
  EXPECT_EQ(end.message_bytes, 3u);
  EXPECT_FALSE(scanner.in_fragmented_message());
}

TEST(FrameScanner, ScanStopsAtEachFrameEnd) {
  Bytes stream = make_frame(true, Opcode::kBinary, {1, 2}, kMask);
  const std::size_t first = stream.size();
  test::append(stream, make_frame(true, Opcode::kBinary, {3}, kMask));
  FrameScanner scanner;
  ScanResult result = scanner.scan(stream);
  EXPECT_EQ(result.kind, ScanResult::kFrameEnd);
  EXPECT_EQ(result.consumed, first);
  result = scanner.scan(std::span(stream).subspan(first));
  EXPECT_EQ(result.kind, ScanResult::kFrameEnd);
  EXPECT_EQ(result.consumed, stream.size() - first);
  result = scanner.scan({});
  EXPECT_EQ(result.kind, ScanResult::kNeedMore);
  EXPECT_EQ(result.consumed, 0u);
}

TEST(FrameScanner, NeedMoreConsumesEverythingMidFrame) {
  const Bytes frame = make_frame(true, Opcode::kBinary, test::pattern_payload(1000), kMask);
  FrameScanner scanner;
  ScanResult result = scanner.scan(std::span(frame).first(500));
  EXPECT_EQ(result.kind, ScanResult::kNeedMore);
  EXPECT_EQ(result.consumed, 500u);
  EXPECT_FALSE(scanner.at_frame_boundary());
  result = scanner.scan(std::span(frame).subspan(500));
  EXPECT_EQ(result.kind, ScanResult::kFrameEnd);
  EXPECT_EQ(result.consumed, frame.size() - 500);
}

void expect_scan_error(const FrameScannerOptions& options, const Bytes& stream, ScanError error,
                       std::size_t frames_before, FrameError frame_error = FrameError::kNone) {
  const auto seen = scan_all_splits(options, stream);
  ASSERT_EQ(seen.size(), frames_before + 1);
  EXPECT_EQ(seen.back().kind, ScanResult::kError);
  EXPECT_EQ(seen.back().error, error) << static_cast<int>(seen.back().error);
  EXPECT_EQ(seen.back().frame_error, frame_error);
}

TEST(FrameScanner, ContinuationWithoutMessage) {
  expect_scan_error(client_scanner(), make_frame(true, Opcode::kContinuation, {1}, kMask),
                    ScanError::kUnexpectedContinuation, 0);
  // After a complete message the next continuation is also unexpected.
  Bytes stream = make_frame(false, Opcode::kText, bytes_of("a"), kMask);
  test::append(stream, make_frame(true, Opcode::kContinuation, bytes_of("b"), kMask));
  test::append(stream, make_frame(true, Opcode::kContinuation, bytes_of("c"), kMask));
  expect_scan_error(client_scanner(), stream, ScanError::kUnexpectedContinuation, 2);
}

TEST(FrameScanner, NewDataMessageWhileFragmentedOpen) {
  for (const Opcode opcode : {Opcode::kText, Opcode::kBinary}) {
    Bytes stream = make_frame(false, Opcode::kBinary, {1}, kMask);
    test::append(stream, make_frame(true, Opcode::kPing, {}, kMask));
    test::append(stream, make_frame(true, opcode, {2}, kMask));
    expect_scan_error(client_scanner(), stream, ScanError::kExpectedContinuation, 2);
  }
}

TEST(FrameScanner, MessageRulesOffWhenCheckMessagesFalse) {
  FrameScannerOptions options = client_scanner();
  options.check_messages = false;
  Bytes stream = make_frame(true, Opcode::kContinuation, {1}, kMask);
  test::append(stream, make_frame(false, Opcode::kText, bytes_of("a"), kMask));
  test::append(stream, make_frame(true, Opcode::kBinary, {2}, kMask));
  test::append(stream, make_frame(true, Opcode::kClose, {0x03}, kMask));
  test::append(stream, make_frame(true, Opcode::kClose, close_payload(1005), kMask));
  const auto seen = scan_all_splits(options, stream);
  ASSERT_EQ(seen.size(), 5u);
  for (const Seen& s : seen) {
    EXPECT_EQ(s.kind, ScanResult::kFrameEnd);
  }
  EXPECT_EQ(seen[3].control_payload, Bytes{0x03});
}

TEST(FrameScanner, ClosePayloadChecks) {
  for (const bool masked : {true, false}) {
    const std::optional<MaskKey> mask = masked ? std::optional(kMask) : std::nullopt;
    const FrameScannerOptions options = masked ? client_scanner() : server_scanner();
    // Valid: empty, code only, code + UTF-8 reason, 125 bytes.
    for (const Bytes& payload : {Bytes{}, close_payload(1000), close_payload(4000, "d\xC3\xA9j\xC3\xA0"),
                                 close_payload(1001, std::string(123, 'x'))}) {
      const auto seen = scan_all_splits(options, make_frame(true, Opcode::kClose, payload, mask));
      ASSERT_EQ(seen.size(), 1u);
      EXPECT_EQ(seen[0].kind, ScanResult::kFrameEnd);
      EXPECT_EQ(seen[0].control_payload, payload);
    }
    // Invalid: 1 byte, reserved/never-sent codes, bad UTF-8 reason.
    for (const Bytes& payload :
         {Bytes{0x03}, close_payload(1005), close_payload(1006), close_payload(999), close_payload(2000),
          close_payload(5000), close_payload(1000, "\xC3\x28"), close_payload(1000, "\xE2\x82")}) {
      expect_scan_error(options, make_frame(true, Opcode::kClose, payload, mask), ScanError::kBadClosePayload,
                        0);
    }
  }
}

TEST(FrameScanner, MessageSizeLimitAcrossFragments) {
  FrameScannerOptions options = client_scanner();
  options.max_message_bytes = 10;
  // Exactly the limit is fine, spread over frames with a ping in between.
  Bytes ok = make_frame(false, Opcode::kBinary, Bytes(4, 1), kMask);
  test::append(ok, make_frame(true, Opcode::kPing, Bytes(50, 2), kMask));  // control frames do not count
  test::append(ok, make_frame(true, Opcode::kContinuation, Bytes(6, 3), kMask));
  test::append(ok, make_frame(true, Opcode::kBinary, Bytes(10, 4), kMask));  // a new message starts at zero
  const auto seen = scan_all_splits(options, ok);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[2].message_bytes, 10u);
  EXPECT_EQ(seen[3].message_bytes, 10u);

  // One byte over: the error comes at the header of the frame that crosses the limit.
  Bytes over = make_frame(false, Opcode::kBinary, Bytes(4, 1), kMask);
  const std::size_t first = over.size();
  const Bytes second = make_frame(true, Opcode::kContinuation, Bytes(7, 3), kMask);
  test::append(over, second);
  expect_scan_error(options, over, ScanError::kMessageTooBig, 1);
  FrameScanner scanner(options);
  const ScanResult result = scanner.scan(over);
  EXPECT_EQ(result.kind, ScanResult::kFrameEnd);
  const ScanResult error = scanner.scan(std::span(over).subspan(first));
  EXPECT_EQ(error.kind, ScanResult::kError);
  EXPECT_EQ(error.error, ScanError::kMessageTooBig);
  EXPECT_EQ(error.consumed, 6u);  // header only, before any payload of the frame

  // A single huge frame header is enough.
  Bytes huge(kMaxHeaderBytes);
  huge.resize(write_frame_header(huge, true, 0x2, std::uint64_t{1} << 40, kMask));
  expect_scan_error(options, huge, ScanError::kMessageTooBig, 0);
}

TEST(FrameScanner, FrameErrorsAreReported) {
  expect_scan_error(client_scanner(), make_frame(true, Opcode::kText, bytes_of("x")), ScanError::kFrame, 0,
                    FrameError::kMaskRequired);
  expect_scan_error(server_scanner(), make_frame(true, Opcode::kText, bytes_of("x"), kMask),
                    ScanError::kFrame, 0, FrameError::kMaskForbidden);
  Bytes stream = make_frame(true, Opcode::kText, bytes_of("ok"), kMask);
  test::append(stream, {0x8B, 0x80, 0, 0, 0, 0});
  expect_scan_error(client_scanner(), stream, ScanError::kFrame, 1, FrameError::kReservedOpcode);
  FrameScannerOptions limited = client_scanner();
  limited.frame.max_frame_bytes = 3;
  expect_scan_error(limited, make_frame(true, Opcode::kBinary, {1, 2, 3, 4}, kMask), ScanError::kFrame, 0,
                    FrameError::kFrameTooLarge);
  expect_scan_error(client_scanner(), make_frame(true, Opcode::kText, bytes_of("x"), kMask, kRsv1),
                    ScanError::kFrame, 0, FrameError::kReservedBits);
}

TEST(FrameScanner, SetAllowedRsvAfterNegotiation) {
  FrameScanner scanner;
  scanner.set_allowed_rsv(kRsv1);
  EXPECT_EQ(scanner.scan(make_frame(true, Opcode::kText, bytes_of("x"), kMask, kRsv1)).kind,
            ScanResult::kFrameEnd);
}

FrameScannerOptions utf8_scanner(Sender sender = Sender::kClient) {
  FrameScannerOptions options;
  options.frame.sender = sender;
  options.validate_utf8 = true;
  return options;
}

TEST(FrameScanner, Utf8AcrossFramesSplitInsideCodePoints) {
  const Bytes text = bytes_of("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z");
  for (const Sender sender : {Sender::kClient, Sender::kServer}) {
    const std::optional<MaskKey> mask = sender == Sender::kClient ? std::optional(kMask) : std::nullopt;
    // Every 2-way fragmentation of the message into frames, with a ping between the fragments.
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
      Bytes stream = make_frame(false, Opcode::kText, Bytes(text.begin(), text.begin() + cut), mask);
      test::append(stream, make_frame(true, Opcode::kPing, bytes_of("p"), mask));
      test::append(stream,
                   make_frame(true, Opcode::kContinuation, Bytes(text.begin() + cut, text.end()), mask));
      const auto seen = run_scanner(utf8_scanner(sender), stream, {});
      ASSERT_EQ(seen.size(), 3u) << cut;
      EXPECT_EQ(seen[2].kind, ScanResult::kFrameEnd);
      EXPECT_TRUE(seen[2].message_end);
    }
  }
}

TEST(FrameScanner, InvalidUtf8DetectedInTheBadFrame) {
  // The first frame is fine; the second holds a surrogate.
  Bytes stream = make_frame(false, Opcode::kText, bytes_of("ok \xED"), kMask);
  test::append(stream, make_frame(true, Opcode::kContinuation, bytes_of("\xA0\x80 rest"), kMask));
  expect_scan_error(utf8_scanner(), stream, ScanError::kInvalidUtf8, 1);
  // Stray continuation in a single frame.
  expect_scan_error(utf8_scanner(), make_frame(true, Opcode::kText, bytes_of("abc\x80"), kMask),
                    ScanError::kInvalidUtf8, 0);
  expect_scan_error(utf8_scanner(Sender::kServer),
                    make_frame(true, Opcode::kText, bytes_of("\xF5"), std::nullopt), ScanError::kInvalidUtf8,
                    0);
}

TEST(FrameScanner, TruncatedUtf8AtMessageEnd) {
  Bytes stream = make_frame(false, Opcode::kText, bytes_of("abc"), kMask);
  test::append(stream, make_frame(true, Opcode::kContinuation, bytes_of("\xF0\x9F\x98"), kMask));
  expect_scan_error(utf8_scanner(), stream, ScanError::kInvalidUtf8, 1);
  // An open message ending in mid code point is fine until its final frame.
  Bytes open = make_frame(false, Opcode::kText, bytes_of("\xF0\x9F"), kMask);
  const auto seen = scan_all_splits(utf8_scanner(), open);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind, ScanResult::kFrameEnd);
}

TEST(FrameScanner, InvalidUtf8BeyondTheFirstWindow) {
  Bytes text(20000, 'a');
  text[5000] = 0xFF;
  const Bytes frame = make_frame(true, Opcode::kText, text, kMask);
  FrameScanner scanner(utf8_scanner());
  const ScanResult result = scanner.scan(frame);
  EXPECT_EQ(result.kind, ScanResult::kError);
  EXPECT_EQ(result.error, ScanError::kInvalidUtf8);
  // Long valid multi-byte text in a large masked frame.
  std::string euros;
  for (int i = 0; i < 10000; ++i) {
    euros += "\xE2\x82\xAC";
  }
  FrameScanner good(utf8_scanner());
  const ScanResult ok = good.scan(make_frame(true, Opcode::kText, bytes_of(euros), kMask));
  EXPECT_EQ(ok.kind, ScanResult::kFrameEnd);
  EXPECT_EQ(ok.message_bytes, 30000u);
}

TEST(FrameScanner, Utf8NotCheckedForBinaryCompressedOrWhenDisabled) {
  const Bytes bad = bytes_of("\xFF\xFE");
  // Binary.
  EXPECT_EQ(run_scanner(utf8_scanner(), make_frame(true, Opcode::kBinary, bad, kMask), {})[0].kind,
            ScanResult::kFrameEnd);
  // Disabled.
  EXPECT_EQ(run_scanner(client_scanner(), make_frame(true, Opcode::kText, bad, kMask), {})[0].kind,
            ScanResult::kFrameEnd);
  // permessage-deflate (RSV1 on the first frame): compressed bytes, not UTF-8.
  FrameScannerOptions deflate = utf8_scanner();
  deflate.frame.allowed_rsv = kRsv1;
  Bytes stream = make_frame(false, Opcode::kText, bad, kMask, kRsv1);
  test::append(stream, make_frame(true, Opcode::kContinuation, bad, kMask));
  const auto seen = scan_all_splits(deflate, stream);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[1].message_end);
  // The next uncompressed text message is checked again.
  test::append(stream, make_frame(true, Opcode::kText, bad, kMask));
  expect_scan_error(deflate, stream, ScanError::kInvalidUtf8, 2);
}

TEST(FrameScanner, Utf8StateResetsBetweenMessages) {
  // A message that ended badly must not leak into the next one when validation passes.
  Bytes stream = make_frame(true, Opcode::kText, bytes_of("\xC3\xA9"), kMask);
  test::append(stream, make_frame(true, Opcode::kText, bytes_of("plain"), kMask));
  const auto seen = scan_all_splits(utf8_scanner(), stream);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].kind, ScanResult::kFrameEnd);
}

TEST(FrameScanner, ControlPayload125BytesMaskedAcrossChunks) {
  const Bytes payload = test::pattern_payload(125, 9);
  const Bytes frame = make_frame(true, Opcode::kPing, payload, kMask);
  const auto seen = scan_all_splits(client_scanner(), frame);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].control_payload, payload);
}

}  // namespace
}  // namespace wsgate::ws
