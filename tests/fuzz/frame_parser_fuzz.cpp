// libFuzzer target for ws::FrameParser and ws::FrameScanner: arbitrary bytes, options chosen by the
// first input byte, the stream split at a fuzzer-chosen offset; the whole and split runs must agree.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "ws/frame.hpp"
#include "ws/frame_scanner.hpp"

namespace {

using wsgate::ws::FrameError;
using wsgate::ws::FrameEvent;
using wsgate::ws::FrameHeader;
using wsgate::ws::FrameParser;
using wsgate::ws::FrameParserOptions;
using wsgate::ws::FrameScanner;
using wsgate::ws::FrameScannerOptions;
using wsgate::ws::ScanError;
using wsgate::ws::ScanResult;

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

// Split-independent record of a parse: per frame its header, payload size and end offset; the error.
struct ParseTrace {
  std::vector<FrameHeader> headers;
  std::vector<std::size_t> frame_ends;
  std::vector<std::uint64_t> payload_bytes;
  FrameError error = FrameError::kNone;
  std::size_t error_pos = 0;
  std::size_t consumed = 0;

  bool operator==(const ParseTrace&) const = default;
};

ParseTrace run_parser(const FrameParserOptions& options, std::span<const std::uint8_t> data,
                      std::span<const std::size_t> cuts) {
  ParseTrace trace;
  FrameParser parser(options);
  std::size_t abs = 0;
  std::size_t start = 0;
  std::uint64_t payload = 0;
  bool in_frame = false;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t end = i < cuts.size() ? cuts[i] : data.size();
    std::span<const std::uint8_t> rest = data.subspan(start, end - start);
    start = end;
    for (std::size_t steps = 0;; ++steps) {
      check(steps <= 3 * data.size() + 8);  // every event makes progress or changes state
      const FrameEvent event = parser.next(rest);
      check(event.consumed <= rest.size());
      abs += event.consumed;
      rest = rest.subspan(event.consumed);
      switch (event.kind) {
        case FrameEvent::kNeedMore:
          check(rest.empty());
          break;
        case FrameEvent::kHeader:
          check(!in_frame && event.consumed > 0);
          check(event.header.header_length >= 2 && event.header.header_length <= wsgate::ws::kMaxHeaderBytes);
          in_frame = true;
          payload = 0;
          trace.headers.push_back(event.header);
          break;
        case FrameEvent::kPayload:
          check(in_frame && event.consumed > 0 && event.payload.size() == event.consumed);
          check(event.payload_offset == payload);
          payload += event.consumed;
          check(payload <= event.header.payload_length);
          break;
        case FrameEvent::kFrameEnd:
          check(in_frame && event.consumed == 0 && payload == event.header.payload_length);
          check(parser.at_frame_boundary());
          in_frame = false;
          trace.frame_ends.push_back(abs);
          trace.payload_bytes.push_back(payload);
          break;
        case FrameEvent::kError:
          check(event.error != FrameError::kNone);
          trace.error = event.error;
          trace.error_pos = abs;
          trace.consumed = abs;
          check(parser.next(rest).kind == FrameEvent::kError);
          return trace;
      }
      if (event.kind == FrameEvent::kNeedMore) {
        break;
      }
    }
  }
  trace.consumed = abs;
  check(abs == data.size());
  return trace;
}

struct ScanTrace {
  std::vector<std::size_t> frame_ends;
  std::vector<std::uint64_t> message_bytes;
  ScanError error = ScanError::kNone;
  FrameError frame_error = FrameError::kNone;

  bool operator==(const ScanTrace&) const = default;
};

ScanTrace run_scanner(const FrameScannerOptions& options, std::span<const std::uint8_t> data,
                      std::span<const std::size_t> cuts) {
  ScanTrace trace;
  FrameScanner scanner(options);
  std::size_t abs = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t end = i < cuts.size() ? cuts[i] : data.size();
    std::span<const std::uint8_t> rest = data.subspan(start, end - start);
    start = end;
    for (std::size_t steps = 0;; ++steps) {
      check(steps <= data.size() + 2);  // each kFrameEnd consumes at least one byte
      const ScanResult result = scanner.scan(rest);
      check(result.consumed <= rest.size());
      abs += result.consumed;
      rest = rest.subspan(result.consumed);
      if (result.kind == ScanResult::kNeedMore) {
        check(rest.empty());
        break;
      }
      if (result.kind == ScanResult::kError) {
        check(result.error != ScanError::kNone);
        trace.error = result.error;
        trace.frame_error = result.frame_error;
        const ScanResult again = scanner.scan(rest);
        check(again.kind == ScanResult::kError && again.consumed == 0);
        return trace;
      }
      check(result.consumed > 0 && scanner.at_frame_boundary());
      check(result.control_payload.size() <= wsgate::ws::kMaxControlPayloadBytes);
      if (wsgate::ws::is_control(result.header.opcode)) {
        check(result.control_payload.size() == result.header.payload_length);
      }
      trace.frame_ends.push_back(abs);
      trace.message_bytes.push_back(result.message_end ? result.message_bytes : 0);
    }
  }
  check(abs == data.size());
  return trace;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  const std::uint8_t flags = bytes[0];
  const std::span<const std::uint8_t> data(bytes + 2, size - 2);
  const std::size_t cut = data.empty() ? 0 : bytes[1] % (data.size() + 1);

  FrameScannerOptions options;
  options.frame.sender = (flags & 0x01) != 0 ? wsgate::ws::Sender::kServer : wsgate::ws::Sender::kClient;
  options.frame.allowed_rsv = (flags & 0x02) != 0 ? wsgate::ws::kRsv1 : 0;
  options.frame.strict_lengths = (flags & 0x04) == 0;
  options.frame.check_mask = (flags & 0x08) == 0;
  options.frame.max_frame_bytes = (flags & 0x10) != 0 ? 100 : 0;
  options.check_messages = (flags & 0x20) == 0;
  options.validate_utf8 = (flags & 0x40) != 0;
  options.max_message_bytes = (flags & 0x80) != 0 ? 200 : 0;

  const std::size_t split[] = {cut};
  const ParseTrace whole = run_parser(options.frame, data, {});
  check(whole == run_parser(options.frame, data, split));
  const ScanTrace scanned = run_scanner(options, data, {});
  check(scanned == run_scanner(options, data, split));
  if (data.size() <= 256) {
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < data.size(); ++i) {
      every.push_back(i);
    }
    check(whole == run_parser(options.frame, data, every));
    check(scanned == run_scanner(options, data, every));
  }
  // Frame ends seen by the scanner are a prefix of the parser's (the scanner may stop earlier on a message
  // rule).
  check(scanned.frame_ends.size() <= whole.frame_ends.size());
  for (std::size_t i = 0; i < scanned.frame_ends.size(); ++i) {
    check(scanned.frame_ends[i] == whole.frame_ends[i]);
  }
  if (scanned.error == ScanError::kFrame) {
    check(scanned.frame_error == whole.error);
  }
  return 0;
}
