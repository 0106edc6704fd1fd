// Load generator payloads and client frames (see load_payload.hpp).
#include "tools/load_payload.hpp"

#include <algorithm>
#include <cstring>
#include <random>

namespace wsgate::tools {

PayloadPattern::PayloadPattern(std::size_t size_bytes, bool binary) : binary_(binary), body_(size_bytes) {
  for (std::size_t i = 0; i < size_bytes; ++i) {
    body_[i] = binary ? static_cast<std::uint8_t>((i * 131 + 7) ^ (i >> 8))
                      : static_cast<std::uint8_t>('a' + (i * 7 + i / 26) % 26);
  }
}

std::array<std::uint8_t, kMessageIdBytes> PayloadPattern::id_bytes(std::uint64_t seq, std::uint32_t stream) const {
  std::array<std::uint8_t, kMessageIdBytes> id{};
  if (binary_) {
    for (std::size_t i = 0; i < 8; ++i) id[i] = static_cast<std::uint8_t>(seq >> (8 * i));
    for (std::size_t i = 0; i < 4; ++i) id[8 + i] = static_cast<std::uint8_t>(stream >> (8 * i));
  } else {
    // Text: one letter a..p per nibble, so the payload stays ASCII.
    for (std::size_t i = 0; i < 8; ++i) id[i] = static_cast<std::uint8_t>('a' + ((seq >> (4 * i)) & 0xF));
    for (std::size_t i = 0; i < 4; ++i) id[8 + i] = static_cast<std::uint8_t>('a' + ((stream >> (4 * i)) & 0xF));
  }
  return id;
}

bool PayloadPattern::matches(std::uint64_t seq, std::uint32_t stream, std::uint64_t offset,
                             std::span<const std::uint8_t> chunk) const {
  if (offset + chunk.size() > body_.size()) return false;
  std::size_t i = 0;
  if (offset < kMessageIdBytes) {
    const auto id = id_bytes(seq, stream);
    for (; i < chunk.size() && offset + i < kMessageIdBytes; ++i) {
      if (chunk[i] != id[offset + i]) return false;
    }
  }
  return std::memcmp(chunk.data() + i, body_.data() + offset + i, chunk.size() - i) == 0;
}

FrameWriter::FrameWriter(const PayloadPattern& pattern, ws::MaskKey key)
    : pattern_(pattern), key_(key), masked_filler_(pattern.filler().begin(), pattern.filler().end()) {
  ws::apply_mask(masked_filler_, key_);
}

void FrameWriter::append_message(std::vector<std::uint8_t>& out, std::uint64_t seq, std::uint32_t stream) const {
  std::array<std::uint8_t, ws::kMaxHeaderBytes> header{};
  const std::size_t header_bytes = ws::write_frame_header(header, true, pattern_.opcode(), masked_filler_.size(), key_);
  const std::size_t start = out.size();
  out.insert(out.end(), header.begin(), header.begin() + static_cast<std::ptrdiff_t>(header_bytes));
  out.insert(out.end(), masked_filler_.begin(), masked_filler_.end());
  const auto id = pattern_.id_bytes(seq, stream);
  const std::size_t id_bytes = std::min(kMessageIdBytes, masked_filler_.size());
  std::uint8_t* payload = out.data() + start + header_bytes;
  for (std::size_t i = 0; i < id_bytes; ++i) payload[i] = id[i] ^ key_[i % 4];
}

void FrameWriter::append_close(std::vector<std::uint8_t>& out) const {
  std::array<std::uint8_t, ws::kMaxHeaderBytes> header{};
  const std::size_t header_bytes =
      ws::write_frame_header(header, true, static_cast<std::uint8_t>(ws::Opcode::kClose), 2, key_);
  out.insert(out.end(), header.begin(), header.begin() + static_cast<std::ptrdiff_t>(header_bytes));
  std::array<std::uint8_t, 2> code{0x03, 0xE8};  // 1000
  ws::apply_mask(code, key_);
  out.insert(out.end(), code.begin(), code.end());
}

ws::MaskKey random_mask_key() {
  thread_local std::mt19937 engine{std::random_device{}()};
  const std::uint32_t bits = engine();
  return {static_cast<std::uint8_t>(bits), static_cast<std::uint8_t>(bits >> 8),
          static_cast<std::uint8_t>(bits >> 16), static_cast<std::uint8_t>(bits >> 24)};
}

}  // namespace wsgate::tools
