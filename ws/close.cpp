// Close status codes, close payload parsing and control frame building (RFC 6455 §5.5, §5.5.1, §7.4).
#include "ws/close.hpp"

#include <algorithm>

#include "ws/utf8.hpp"

namespace wsgate::ws {

namespace {

// RFC 6455 §5.5.1: the reason follows a 2-byte code inside a 125-byte payload.
constexpr std::size_t kMaxCloseReasonBytes = kMaxControlPayloadBytes - 2;

// Longest prefix of `text` of at most `limit` bytes that does not cut a UTF-8 sequence.
std::string_view truncate_utf8(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) {
    return text;
  }
  std::size_t cut = limit;
  // Back off over continuation bytes (10xxxxxx) so the cut lands before a lead byte.
  while (cut > 0 && (static_cast<std::uint8_t>(text[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return text.substr(0, cut);
}

}  // namespace

bool is_valid_close_code(std::uint16_t code) {
  // 1004 reserved, 1005/1006 never on the wire, 1015 TLS failure (never on the
  // wire), 1016-2999 unassigned/reserved for the RFC, 3000-3999 registered,
  // 4000-4999 private use.
  if (code >= 1000 && code <= 1003) {
    return true;
  }
  if (code >= 1007 && code <= 1014) {
    return true;
  }
  return code >= 3000 && code <= 4999;
}

CloseParseResult parse_close_payload(std::span<const std::uint8_t> payload) {
  CloseParseResult result;
  if (payload.empty()) {
    return result;
  }
  // RFC 6455 §5.5.1: if there is a body, its first two bytes are the status code.
  if (payload.size() == 1) {
    result.error = CloseParseError::kOneByte;
    return result;
  }
  const auto code = static_cast<std::uint16_t>((payload[0] << 8) | payload[1]);
  if (!is_valid_close_code(code)) {
    result.error = CloseParseError::kBadCode;
    return result;
  }
  result.info.code = code;
  const auto reason = payload.subspan(2);
  // RFC 6455 §5.5.1 / §8.1: the reason is UTF-8; invalid data fails the connection.
  if (!is_valid_utf8(reason)) {
    result.error = CloseParseError::kBadUtf8;
    return result;
  }
  result.info.reason.assign(reason.begin(), reason.end());
  return result;
}

std::vector<std::uint8_t> build_close_frame(std::optional<std::uint16_t> code, std::string_view reason,
                                            std::optional<MaskKey> mask_key) {
  std::array<std::uint8_t, kMaxControlPayloadBytes> payload{};
  std::size_t payload_length = 0;
  if (code) {
    payload[0] = static_cast<std::uint8_t>(*code >> 8);
    payload[1] = static_cast<std::uint8_t>(*code);
    const std::string_view kept = truncate_utf8(reason, kMaxCloseReasonBytes);
    std::copy(kept.begin(), kept.end(), payload.begin() + 2);
    payload_length = 2 + kept.size();
  }
  return build_control_frame(Opcode::kClose, std::span(payload.data(), payload_length), mask_key);
}

std::vector<std::uint8_t> build_control_frame(Opcode opcode, std::span<const std::uint8_t> payload,
                                              std::optional<MaskKey> mask_key) {
  payload = payload.first(std::min(payload.size(), kMaxControlPayloadBytes));
  std::vector<std::uint8_t> frame(kMaxHeaderBytes + payload.size());
  const std::size_t header_length =
      write_frame_header(frame, true, static_cast<std::uint8_t>(opcode), payload.size(), mask_key);
  std::copy(payload.begin(), payload.end(), frame.begin() + static_cast<std::ptrdiff_t>(header_length));
  frame.resize(header_length + payload.size());
  if (mask_key) {
    apply_mask(std::span(frame).subspan(header_length), *mask_key);
  }
  return frame;
}

}  // namespace wsgate::ws
