// WebSocket frame model and frame header parsing/writing (RFC 6455 §5.2-§5.5).
// Sans-I/O: bytes in, headers and payload extents out; payload is never copied.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace wsgate::ws {

enum class Opcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

constexpr bool is_control(std::uint8_t opcode) { return (opcode & 0x8) != 0; }

// RSV bit masks as they sit in the first header byte.
constexpr std::uint8_t kRsv1 = 0x40;
constexpr std::uint8_t kRsv2 = 0x20;
constexpr std::uint8_t kRsv3 = 0x10;

constexpr std::size_t kMaxHeaderBytes = 14;           // 2 + 8 (64-bit length) + 4 (mask)
constexpr std::size_t kMaxControlPayloadBytes = 125;  // RFC 6455 §5.5

using MaskKey = std::array<std::uint8_t, 4>;

struct FrameHeader {
  bool fin = false;
  std::uint8_t rsv = 0;     // the RSV1-3 bits exactly as on the wire (kRsv1|kRsv2|kRsv3 subset)
  std::uint8_t opcode = 0;  // raw 4-bit opcode (may be reserved if the parser was told to allow it)
  bool masked = false;
  MaskKey mask_key{};
  std::uint64_t payload_length = 0;
  std::uint8_t header_length = 0;  // bytes the header took on the wire (2..14)

  friend bool operator==(const FrameHeader&, const FrameHeader&) = default;
};

// Which side produced the bytes being parsed. RFC 6455 §5.1: frames from a
// client are masked, frames from a server are not.
enum class Sender : std::uint8_t { kClient, kServer };

enum class FrameError : std::uint8_t {
  kNone,
  kReservedOpcode,     // opcodes 3-7, 0xB-0xF
  kReservedBits,       // an RSV bit not allowed by negotiated extensions
  kControlTooLong,     // control frame with payload > 125
  kControlFragmented,  // control frame with FIN=0
  kNonMinimalLength,   // 16/64-bit length used where a shorter form fits (strict mode)
  kLengthTopBit,       // 64-bit length with the most significant bit set
  kMaskRequired,       // unmasked frame from a client
  kMaskForbidden,      // masked frame from a server
  kFrameTooLarge,      // payload larger than the configured max_frame_bytes
};

std::string_view to_string(FrameError error);

struct FrameParserOptions {
  Sender sender = Sender::kClient;
  std::uint8_t allowed_rsv = 0;  // RSV bits permitted by negotiated extensions (kRsv1 for permessage-deflate)
  bool strict_lengths = true;    // reject non-minimal length encodings
  bool check_mask = true;        // enforce the masking rule for `sender`
  std::uint64_t max_frame_bytes = 0;  // 0 = no limit (beyond the 2^63-1 of the wire format)
};

// Incremental frame parser. Feed it any split of the byte stream.
//
//   FrameParser p(opts);
//   while (!input.empty()) {
//     auto ev = p.next(input);
//     input = input.subspan(ev.consumed);
//     switch (ev.kind) { ... }
//     if (ev.kind == FrameEvent::kNeedMore) break;
//   }
//
// Event order per frame: kHeader, zero or more kPayload, kFrameEnd. An empty
// payload gives kHeader then kFrameEnd. After kError the parser stays in error.
// kFrameEnd uses no input, so after the last payload chunk call next() again
// (with empty input if need be) to receive it. Errors are reported at the
// first header byte that proves them; kError's `consumed` includes that byte.
// kNeedMore consumes the whole input (header bytes are buffered internally).
struct FrameEvent {
  enum Kind : std::uint8_t { kNeedMore, kHeader, kPayload, kFrameEnd, kError };
  Kind kind = kNeedMore;
  std::size_t consumed = 0;                 // bytes of the input this event used
  FrameHeader header{};                     // valid for every event of the current frame
  std::span<const std::uint8_t> payload{};  // kPayload: the chunk, pointing into the input (still masked)
  std::uint64_t payload_offset = 0;         // kPayload: offset of the chunk within the frame's payload
  FrameError error = FrameError::kNone;     // kError
};

class FrameParser {
 public:
  explicit FrameParser(FrameParserOptions options = {});

  FrameEvent next(std::span<const std::uint8_t> input);

  // True when no frame is partially parsed (the next byte starts a frame).
  bool at_frame_boundary() const;
  void set_allowed_rsv(std::uint8_t rsv) { options_.allowed_rsv = rsv; }
  const FrameParserOptions& options() const { return options_; }

 private:
  enum class State : std::uint8_t { kHeader, kPayload, kFrameEnd, kError };
  FrameError take_header_byte();            // validates header_bytes_[header_have_ - 1]
  FrameError check_payload_length() const;  // max_frame_bytes against current_.payload_length

  FrameParserOptions options_;
  State state_ = State::kHeader;
  std::array<std::uint8_t, kMaxHeaderBytes> header_bytes_{};
  std::size_t header_have_ = 0;
  FrameHeader current_{};
  std::uint64_t payload_done_ = 0;
  FrameError error_ = FrameError::kNone;
};

// Writes a frame header into `out` (at least kMaxHeaderBytes long) using the
// minimal length encoding; returns the number of bytes written, or 0 if `out`
// is too short for this header.
std::size_t write_frame_header(std::span<std::uint8_t> out, bool fin, std::uint8_t opcode,
                               std::uint64_t payload_length, std::optional<MaskKey> mask_key = std::nullopt,
                               std::uint8_t rsv = 0);

// XORs `data` with the masking key, as if `data` started `offset` bytes into
// the frame payload (RFC 6455 §5.3). Word-at-a-time; any alignment.
void apply_mask(std::span<std::uint8_t> data, const MaskKey& key, std::uint64_t offset = 0);

}  // namespace wsgate::ws
