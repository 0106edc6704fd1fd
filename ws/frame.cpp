// WebSocket frame header parsing and writing, and payload masking (RFC 6455 §5.2, §5.3, §5.5).
// The parser validates each header byte as it arrives so errors surface at the first byte that proves them.
#include "ws/frame.hpp"

#include <algorithm>
#include <cstring>

namespace wsgate::ws {

namespace {

// RFC 6455 §5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved.
constexpr bool is_reserved_opcode(std::uint8_t opcode) {
  return (opcode >= 0x3 && opcode <= 0x7) || opcode >= 0xB;
}

// Header bytes needed once the second byte is known: 2 + extended length + mask key.
constexpr std::uint8_t header_length_for(std::uint8_t second_byte) {
  const std::uint8_t length7 = second_byte & 0x7F;
  std::uint8_t length = 2;
  if (length7 == 126) {
    length += 2;
  } else if (length7 == 127) {
    length += 8;
  }
  if ((second_byte & 0x80) != 0) {
    length += 4;
  }
  return length;
}

}  // namespace

std::string_view to_string(FrameError error) {
  switch (error) {
    case FrameError::kNone:
      return "none";
    case FrameError::kReservedOpcode:
      return "reserved opcode";
    case FrameError::kReservedBits:
      return "reserved bits set";
    case FrameError::kControlTooLong:
      return "control frame payload over 125 bytes";
    case FrameError::kControlFragmented:
      return "fragmented control frame";
    case FrameError::kNonMinimalLength:
      return "non-minimal payload length encoding";
    case FrameError::kLengthTopBit:
      return "64-bit payload length with the top bit set";
    case FrameError::kMaskRequired:
      return "unmasked frame from client";
    case FrameError::kMaskForbidden:
      return "masked frame from server";
    case FrameError::kFrameTooLarge:
      return "frame too large";
  }
  return "unknown";
}

FrameParser::FrameParser(FrameParserOptions options) : options_(options) {}

bool FrameParser::at_frame_boundary() const { return state_ == State::kHeader && header_have_ == 0; }

FrameError FrameParser::check_payload_length() const {
  if (options_.max_frame_bytes != 0 && current_.payload_length > options_.max_frame_bytes) {
    return FrameError::kFrameTooLarge;
  }
  return FrameError::kNone;
}

// Validates the header byte just stored at header_bytes_[header_have_ - 1] and
// fills in the part of current_ it determines.
FrameError FrameParser::take_header_byte() {
  const std::size_t index = header_have_ - 1;
  const std::uint8_t byte = header_bytes_[index];
  if (index == 0) {
    current_.fin = (byte & 0x80) != 0;
    current_.rsv = byte & (kRsv1 | kRsv2 | kRsv3);
    current_.opcode = byte & 0x0F;
    if (is_reserved_opcode(current_.opcode)) {
      return FrameError::kReservedOpcode;
    }
    if ((current_.rsv & ~options_.allowed_rsv) != 0) {
      return FrameError::kReservedBits;
    }
    // RFC 6455 §5.5: control frames MUST NOT be fragmented.
    if (is_control(current_.opcode) && !current_.fin) {
      return FrameError::kControlFragmented;
    }
    return FrameError::kNone;
  }
  if (index == 1) {
    current_.masked = (byte & 0x80) != 0;
    current_.header_length = header_length_for(byte);
    // RFC 6455 §5.1: a client masks every frame, a server masks none.
    if (options_.check_mask) {
      if (options_.sender == Sender::kClient && !current_.masked) {
        return FrameError::kMaskRequired;
      }
      if (options_.sender == Sender::kServer && current_.masked) {
        return FrameError::kMaskForbidden;
      }
    }
    const std::uint8_t length7 = byte & 0x7F;
    // RFC 6455 §5.5: control frame payloads are at most 125 bytes.
    if (is_control(current_.opcode) && length7 > kMaxControlPayloadBytes) {
      return FrameError::kControlTooLong;
    }
    if (length7 < 126) {
      current_.payload_length = length7;
      return check_payload_length();
    }
    current_.payload_length = 0;
    return FrameError::kNone;
  }
  const std::uint8_t length7 = header_bytes_[1] & 0x7F;
  const std::size_t length_end = length7 == 126 ? 4 : length7 == 127 ? 10 : 2;
  if (index < length_end) {
    current_.payload_length = (current_.payload_length << 8) | byte;
    // RFC 6455 §5.2: the most significant bit of a 64-bit length MUST be 0.
    if (index == 2 && length7 == 127 && (byte & 0x80) != 0) {
      return FrameError::kLengthTopBit;
    }
    if (index + 1 == length_end) {
      // RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length".
      if (options_.strict_lengths) {
        const bool minimal =
            length7 == 126 ? current_.payload_length >= 126 : current_.payload_length > 0xFFFF;
        if (!minimal) {
          return FrameError::kNonMinimalLength;
        }
      }
      return check_payload_length();
    }
    return FrameError::kNone;
  }
  current_.mask_key[index - length_end] = byte;
  return FrameError::kNone;
}

FrameEvent FrameParser::next(std::span<const std::uint8_t> input) {
  FrameEvent event;
  switch (state_) {
    case State::kError:
      event.kind = FrameEvent::kError;
      event.header = current_;
      event.error = error_;
      return event;

    case State::kFrameEnd:
      event.kind = FrameEvent::kFrameEnd;
      event.header = current_;
      state_ = State::kHeader;
      header_have_ = 0;
      payload_done_ = 0;
      return event;

    case State::kPayload: {
      event.header = current_;
      if (input.empty()) {
        event.kind = FrameEvent::kNeedMore;
        return event;
      }
      const std::uint64_t remaining = current_.payload_length - payload_done_;
      const auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, input.size()));
      event.kind = FrameEvent::kPayload;
      event.consumed = chunk;
      event.payload = input.first(chunk);
      event.payload_offset = payload_done_;
      payload_done_ += chunk;
      if (payload_done_ == current_.payload_length) {
        state_ = State::kFrameEnd;
      }
      return event;
    }

    case State::kHeader:
      break;
  }

  if (header_have_ == 0) {
    current_ = FrameHeader{};
  }
  std::size_t used = 0;
  while (used < input.size()) {
    header_bytes_[header_have_++] = input[used++];
    const FrameError error = take_header_byte();
    if (error != FrameError::kNone) {
      state_ = State::kError;
      error_ = error;
      event.kind = FrameEvent::kError;
      event.consumed = used;
      event.header = current_;
      event.error = error;
      return event;
    }
    if (header_have_ >= 2 && header_have_ == current_.header_length) {
      state_ = current_.payload_length == 0 ? State::kFrameEnd : State::kPayload;
      event.kind = FrameEvent::kHeader;
      event.consumed = used;
      event.header = current_;
      return event;
    }
  }
  event.kind = FrameEvent::kNeedMore;
  event.consumed = used;
  event.header = current_;
  return event;
}

std::size_t write_frame_header(std::span<std::uint8_t> out, bool fin, std::uint8_t opcode,
                               std::uint64_t payload_length, std::optional<MaskKey> mask_key,
                               std::uint8_t rsv) {
  std::size_t length = 2 + (mask_key ? 4 : 0);
  if (payload_length > 0xFFFF) {
    length += 8;
  } else if (payload_length >= 126) {
    length += 2;
  }
  if (out.size() < length) {
    return 0;
  }
  out[0] = static_cast<std::uint8_t>((fin ? 0x80 : 0x00) | (rsv & (kRsv1 | kRsv2 | kRsv3)) | (opcode & 0x0F));
  const std::uint8_t mask_bit = mask_key ? 0x80 : 0x00;
  std::size_t pos = 2;
  if (payload_length > 0xFFFF) {
    out[1] = mask_bit | 127;
    for (int shift = 56; shift >= 0; shift -= 8) {
      out[pos++] = static_cast<std::uint8_t>(payload_length >> shift);
    }
  } else if (payload_length >= 126) {
    out[1] = mask_bit | 126;
    out[pos++] = static_cast<std::uint8_t>(payload_length >> 8);
    out[pos++] = static_cast<std::uint8_t>(payload_length);
  } else {
    out[1] = static_cast<std::uint8_t>(mask_bit | payload_length);
  }
  if (mask_key) {
    std::memcpy(out.data() + pos, mask_key->data(), 4);
    pos += 4;
  }
  return pos;
}

void apply_mask(std::span<std::uint8_t> data, const MaskKey& key, std::uint64_t offset) {
  // An 8-byte pattern of the key rotated to `offset`; since 8 is a multiple of
  // 4 the same pattern lines up with every following 8-byte word.
  std::array<std::uint8_t, 8> pattern_bytes{};
  for (std::size_t i = 0; i < pattern_bytes.size(); ++i) {
    pattern_bytes[i] = key[(offset + i) % 4];
  }
  std::uint64_t pattern = 0;
  std::memcpy(&pattern, pattern_bytes.data(), sizeof(pattern));

  std::uint8_t* bytes = data.data();
  std::size_t size = data.size();
  while (size >= 32) {
    std::uint64_t words[4];
    std::memcpy(words, bytes, sizeof(words));
    words[0] ^= pattern;
    words[1] ^= pattern;
    words[2] ^= pattern;
    words[3] ^= pattern;
    std::memcpy(bytes, words, sizeof(words));
    bytes += 32;
    size -= 32;
  }
  while (size >= 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, bytes, sizeof(word));
    word ^= pattern;
    std::memcpy(bytes, &word, sizeof(word));
    bytes += 8;
    size -= 8;
  }
  for (std::size_t i = 0; i < size; ++i) {
    bytes[i] ^= pattern_bytes[i];
  }
}

}  // namespace wsgate::ws
