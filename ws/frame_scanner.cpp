// Frame-boundary tracking for relayed WebSocket bytes (RFC 6455 §5.4 fragmentation, §5.5 control frames,
// §5.5.1 close payloads, §8.1 UTF-8 text). Data payload is skipped without copying; only control payloads
// (at most 125 bytes) and a small window of text for UTF-8 validation are ever unmasked into a copy.
#include "ws/frame_scanner.hpp"

#include <algorithm>
#include <limits>

#include "ws/close.hpp"

namespace wsgate::ws {

namespace {

// Masked text is unmasked into a stack window of this size before validation.
constexpr std::size_t kUtf8WindowBytes = 4096;

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return b > std::numeric_limits<std::uint64_t>::max() - a ? std::numeric_limits<std::uint64_t>::max()
                                                           : a + b;
}

}  // namespace

FrameScanner::FrameScanner(FrameScannerOptions options) : options_(options), parser_(options.frame) {}

ScanResult FrameScanner::fail(ScanResult result, ScanError error, FrameError frame_error) {
  error_ = true;
  last_error_ = error;
  last_frame_error_ = frame_error;
  result.kind = ScanResult::kError;
  result.error = error;
  result.frame_error = frame_error;
  return result;
}

ScanError FrameScanner::on_header(const FrameHeader& header) {
  if (is_control(header.opcode)) {
    control_have_ = 0;
    return ScanError::kNone;
  }
  if (header.opcode == static_cast<std::uint8_t>(Opcode::kContinuation)) {
    // RFC 6455 §5.4: a continuation frame only follows a non-final data frame.
    if (!message_open_) {
      if (options_.check_messages) {
        return ScanError::kUnexpectedContinuation;
      }
      // Unchecked stream: treat as a message of unknown type (no UTF-8 check).
      message_opcode_ = static_cast<std::uint8_t>(Opcode::kContinuation);
      message_compressed_ = false;
      message_bytes_ = 0;
    }
  } else {
    // RFC 6455 §5.4: fragments of one message are not interleaved with another message.
    if (message_open_ && options_.check_messages) {
      return ScanError::kExpectedContinuation;
    }
    message_opcode_ = header.opcode;
    // RFC 7692 §6: RSV1 on the first frame marks a compressed message, whose
    // payload is not UTF-8 until inflated.
    message_compressed_ = (header.rsv & kRsv1) != 0;
    message_bytes_ = 0;
    utf8_.reset();
  }
  message_bytes_ = saturating_add(message_bytes_, header.payload_length);
  if (options_.max_message_bytes != 0 && message_bytes_ > options_.max_message_bytes) {
    return ScanError::kMessageTooBig;
  }
  return ScanError::kNone;
}

bool FrameScanner::validating_text() const {
  return options_.validate_utf8 && message_opcode_ == static_cast<std::uint8_t>(Opcode::kText) &&
         !message_compressed_;
}

ScanError FrameScanner::on_payload(const FrameEvent& event) {
  const FrameHeader& header = event.header;
  if (is_control(header.opcode)) {
    // The parser already capped control payloads at 125 bytes.
    const auto offset = static_cast<std::size_t>(event.payload_offset);
    if (!control_) control_ = std::make_unique<std::array<std::uint8_t, kMaxControlPayloadBytes>>();
    std::copy(event.payload.begin(), event.payload.end(),
              control_->begin() + static_cast<std::ptrdiff_t>(offset));
    if (header.masked) {
      apply_mask(std::span(*control_).subspan(offset, event.payload.size()), header.mask_key,
                 event.payload_offset);
    }
    control_have_ = offset + event.payload.size();
    return ScanError::kNone;
  }
  if (!validating_text()) {
    return ScanError::kNone;
  }
  if (!header.masked) {
    return utf8_.feed(event.payload) ? ScanError::kNone : ScanError::kInvalidUtf8;
  }
  std::array<std::uint8_t, kUtf8WindowBytes> window;
  for (std::size_t done = 0; done < event.payload.size();) {
    const std::size_t n = std::min(window.size(), event.payload.size() - done);
    std::copy_n(event.payload.begin() + static_cast<std::ptrdiff_t>(done), n, window.begin());
    const auto chunk = std::span(window).first(n);
    apply_mask(chunk, header.mask_key, event.payload_offset + done);
    if (!utf8_.feed(chunk)) {
      return ScanError::kInvalidUtf8;
    }
    done += n;
  }
  return ScanError::kNone;
}

ScanError FrameScanner::on_frame_end(const FrameHeader& header, ScanResult& result) {
  result.kind = ScanResult::kFrameEnd;
  result.header = header;
  if (is_control(header.opcode)) {
    result.control_payload = control_ ? std::span<const std::uint8_t>(control_->data(), control_have_)
                                      : std::span<const std::uint8_t>();
    if (options_.check_messages && header.opcode == static_cast<std::uint8_t>(Opcode::kClose) &&
        parse_close_payload(result.control_payload).error != CloseParseError::kNone) {
      return ScanError::kBadClosePayload;
    }
    return ScanError::kNone;
  }
  result.message_bytes = message_bytes_;
  if (!header.fin) {
    message_open_ = true;
    return ScanError::kNone;
  }
  message_open_ = false;
  result.message_end = true;
  // RFC 6455 §8.1: a text message must end on a code point boundary.
  if (validating_text() && !utf8_.complete()) {
    return ScanError::kInvalidUtf8;
  }
  return ScanError::kNone;
}

ScanResult FrameScanner::scan(std::span<const std::uint8_t> input) {
  ScanResult result;
  if (error_) {
    result.kind = ScanResult::kError;
    result.error = last_error_;
    result.frame_error = last_frame_error_;
    return result;
  }
  std::size_t pos = 0;
  while (true) {
    const FrameEvent event = parser_.next(input.subspan(pos));
    pos += event.consumed;
    result.consumed = pos;
    switch (event.kind) {
      case FrameEvent::kNeedMore:
        result.kind = ScanResult::kNeedMore;
        return result;
      case FrameEvent::kError:
        result.header = event.header;
        return fail(result, ScanError::kFrame, event.error);
      case FrameEvent::kHeader:
        if (const ScanError error = on_header(event.header); error != ScanError::kNone) {
          result.header = event.header;
          return fail(result, error);
        }
        break;
      case FrameEvent::kPayload:
        if (const ScanError error = on_payload(event); error != ScanError::kNone) {
          result.header = event.header;
          return fail(result, error);
        }
        break;
      case FrameEvent::kFrameEnd:
        if (const ScanError error = on_frame_end(event.header, result); error != ScanError::kNone) {
          return fail(result, error);
        }
        return result;
    }
  }
}

}  // namespace wsgate::ws
