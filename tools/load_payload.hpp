// The load generator's messages: a payload pattern every echo is checked against byte for byte
// (sequence number + stream number, then a fixed filler), and client frames written with a
// per-connection masking key (RFC 6455 §5.3: a client masks every frame) from a pre-masked template,
// so sending a message is a copy and patching the first bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ws/frame.hpp"

namespace wsgate::tools {

// Bytes at the start of a payload that identify the message: the low bytes of (sequence, stream).
constexpr std::size_t kMessageIdBytes = 12;

class PayloadPattern {
 public:
  PayloadPattern(std::size_t size_bytes, bool binary);

  std::size_t size_bytes() const { return body_.size(); }
  std::uint8_t opcode() const { return static_cast<std::uint8_t>(binary_ ? ws::Opcode::kBinary : ws::Opcode::kText); }
  // The payload of message (seq, stream), unmasked, with its id bytes in `id`.
  std::span<const std::uint8_t> filler() const { return body_; }
  std::array<std::uint8_t, kMessageIdBytes> id_bytes(std::uint64_t seq, std::uint32_t stream) const;
  // Whether `chunk`, found at `offset` of the echoed payload, is what message (seq, stream) carried.
  bool matches(std::uint64_t seq, std::uint32_t stream, std::uint64_t offset,
               std::span<const std::uint8_t> chunk) const;

 private:
  bool binary_;
  std::vector<std::uint8_t> body_;  // the filler; text mode keeps it ASCII (valid UTF-8)
};

class FrameWriter {
 public:
  FrameWriter(const PayloadPattern& pattern, ws::MaskKey key);

  // Appends one masked data frame carrying message (seq, stream) to `out`.
  void append_message(std::vector<std::uint8_t>& out, std::uint64_t seq, std::uint32_t stream) const;
  // Appends a masked close frame with status 1000 (RFC 6455 §7.4.1).
  void append_close(std::vector<std::uint8_t>& out) const;

 private:
  const PayloadPattern& pattern_;
  ws::MaskKey key_;
  std::vector<std::uint8_t> masked_filler_;  // the filler XOR the key, copied as is per message
};

// A random masking key (one per connection; a fresh key per frame buys a load generator nothing).
ws::MaskKey random_mask_key();

}  // namespace wsgate::tools
