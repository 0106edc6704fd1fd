// Frame-boundary tracking for a relayed WebSocket byte stream (RFC 6455 §5.4-§5.5).
// The relay forwards bytes untouched; the scanner tells it where frames end,
// which messages completed, and hands it the unmasked payload of control frames.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "ws/frame.hpp"
#include "ws/utf8.hpp"

namespace wsgate::ws {

enum class ScanError : std::uint8_t {
  kNone,
  kFrame,                   // see `frame_error`
  kUnexpectedContinuation,  // continuation frame without a started message
  kExpectedContinuation,    // new data message while a fragmented one is open
  kMessageTooBig,           // message larger than max_message_bytes
  kBadClosePayload,         // 1-byte close payload, invalid code, or bad UTF-8 reason
  kInvalidUtf8,             // text message not UTF-8 (validate_utf8 only)
};

struct FrameScannerOptions {
  FrameParserOptions frame;             // sender, allowed RSV, strictness, max_frame_bytes
  bool check_messages = true;           // continuation/fragmentation rules and close payloads
  bool validate_utf8 = false;           // validate text messages (unmasks a copy in a small window)
  std::uint64_t max_message_bytes = 0;  // 0 = unlimited
};

struct ScanResult {
  enum Kind : std::uint8_t {
    kNeedMore,  // every input byte was consumed; no frame ended in them
    kFrameEnd,  // a frame ended at input[consumed - 1]
    kError,     // protocol violation in the current frame; stop forwarding this direction
  };
  Kind kind = kNeedMore;
  std::size_t consumed = 0;
  FrameHeader header{};             // kFrameEnd: the frame that ended
  bool message_end = false;         // kFrameEnd: a data frame with FIN=1 (a whole message done)
  std::uint64_t message_bytes = 0;  // kFrameEnd with message_end: total payload of the message
  // kFrameEnd of a control frame: UNMASKED payload, valid until the next scan().
  std::span<const std::uint8_t> control_payload{};
  ScanError error = ScanError::kNone;
  FrameError frame_error = FrameError::kNone;
};

class FrameScanner {
 public:
  explicit FrameScanner(FrameScannerOptions options = {});

  // Examines `input` up to and including the end of the next frame.
  // kError's `consumed` counts the bytes examined up to the point of detection
  // (frame-level errors: through the offending header byte; UTF-8 errors: through
  // the payload chunk that contained the bad byte). After kError every scan()
  // repeats the error and consumes nothing. Text messages whose first frame has
  // RSV1 set (permessage-deflate) are not UTF-8 validated.
  ScanResult scan(std::span<const std::uint8_t> input);

  bool at_frame_boundary() const { return parser_.at_frame_boundary(); }
  bool in_fragmented_message() const { return message_open_; }
  void set_allowed_rsv(std::uint8_t rsv) { parser_.set_allowed_rsv(rsv); }

 private:
  FrameScannerOptions options_;
  FrameParser parser_;
  bool message_open_ = false;        // a data message started with FIN=0 and is not yet finished
  std::uint8_t message_opcode_ = 0;  // opcode of the open message (text/binary)
  std::uint64_t message_bytes_ = 0;  // payload bytes of the current message so far
  // Made at the first control frame (kept for later ones): a WebSocket that never sees one,
  // such as an idle relayed one, does not carry the 125 bytes.
  std::unique_ptr<std::array<std::uint8_t, kMaxControlPayloadBytes>> control_;
  std::size_t control_have_ = 0;
  Utf8Validator utf8_;
  bool error_ = false;
  bool message_compressed_ = false;  // RSV1 on the open message's first frame (RFC 7692): skip UTF-8 check
  ScanError last_error_ = ScanError::kNone;  // repeated by every scan() after an error
  FrameError last_frame_error_ = FrameError::kNone;

  ScanError on_header(const FrameHeader& header);
  ScanError on_payload(const FrameEvent& event);
  ScanError on_frame_end(const FrameHeader& header, ScanResult& result);
  bool validating_text() const;
  ScanResult fail(ScanResult result, ScanError error, FrameError frame_error = FrameError::kNone);
};

}  // namespace wsgate::ws
