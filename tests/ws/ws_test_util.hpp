// Helpers shared by the ws/ unit tests: building frames byte by byte.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "ws/frame.hpp"

namespace wsgate::ws::test {

using Bytes = std::vector<std::uint8_t>;

inline Bytes bytes_of(std::string_view text) { return Bytes(text.begin(), text.end()); }

inline void append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

// A whole frame: header (minimal length) + payload, masked when `mask_key` is set.
inline Bytes make_frame(bool fin, std::uint8_t opcode, const Bytes& payload,
                        std::optional<MaskKey> mask_key = std::nullopt, std::uint8_t rsv = 0) {
  Bytes frame(kMaxHeaderBytes);
  const std::size_t header_length = write_frame_header(frame, fin, opcode, payload.size(), mask_key, rsv);
  frame.resize(header_length);
  const std::size_t payload_start = frame.size();
  append(frame, payload);
  if (mask_key) {
    apply_mask(std::span(frame).subspan(payload_start), *mask_key);
  }
  return frame;
}

inline Bytes make_frame(bool fin, Opcode opcode, const Bytes& payload,
                        std::optional<MaskKey> mask_key = std::nullopt, std::uint8_t rsv = 0) {
  return make_frame(fin, static_cast<std::uint8_t>(opcode), payload, mask_key, rsv);
}

// A payload of `size` bytes with a position-dependent pattern.
inline Bytes pattern_payload(std::size_t size, std::uint8_t seed = 0) {
  Bytes payload(size);
  for (std::size_t i = 0; i < size; ++i) {
    payload[i] = static_cast<std::uint8_t>(i * 31 + seed);
  }
  return payload;
}

constexpr MaskKey kTestMask{0x37, 0xFA, 0x21, 0x3D};

// A close payload: 2-byte code + reason. Sized once and filled in place: GCC 12's
// -Warray-bounds misreads the vector-insert form of this at -O2 (a known false positive).
inline Bytes close_payload(std::uint16_t code, std::string_view reason = {}) {
  Bytes payload(2 + reason.size());
  payload[0] = static_cast<std::uint8_t>(code >> 8);
  payload[1] = static_cast<std::uint8_t>(code);
  std::copy(reason.begin(), reason.end(), payload.begin() + 2);
  return payload;
}

}  // namespace wsgate::ws::test
