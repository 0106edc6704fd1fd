// Close frames: status codes and close payloads (RFC 6455 §5.5.1, §7.4).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ws/frame.hpp"

namespace wsgate::ws {

namespace close_code {
constexpr std::uint16_t kNormal = 1000;
constexpr std::uint16_t kGoingAway = 1001;
constexpr std::uint16_t kProtocolError = 1002;
constexpr std::uint16_t kUnsupportedData = 1003;
constexpr std::uint16_t kNoStatus = 1005;  // never on the wire
constexpr std::uint16_t kAbnormal = 1006;  // never on the wire
constexpr std::uint16_t kInvalidPayload = 1007;
constexpr std::uint16_t kPolicyViolation = 1008;
constexpr std::uint16_t kMessageTooBig = 1009;
constexpr std::uint16_t kMandatoryExtension = 1010;
constexpr std::uint16_t kInternalError = 1011;
constexpr std::uint16_t kServiceRestart = 1012;
constexpr std::uint16_t kTryAgainLater = 1013;
constexpr std::uint16_t kBadGateway = 1014;
}  // namespace close_code

// True for codes an endpoint may send in a close frame (§7.4.1, §7.4.2 and the
// IANA registry): 1000-1003, 1007-1014, 3000-4999.
bool is_valid_close_code(std::uint16_t code);

struct CloseInfo {
  std::optional<std::uint16_t> code;  // absent for an empty close payload (means 1005 to the application)
  std::string reason;                 // UTF-8, at most 123 bytes
};

enum class CloseParseError : std::uint8_t { kNone, kOneByte, kBadCode, kBadUtf8 };

struct CloseParseResult {
  CloseInfo info;
  CloseParseError error = CloseParseError::kNone;
};

// Parses an UNMASKED close payload (0 bytes, or 2-byte code + UTF-8 reason).
CloseParseResult parse_close_payload(std::span<const std::uint8_t> payload);

// A complete close frame (header + payload). The reason is truncated to 123
// bytes at a UTF-8 boundary. With a mask key the frame is masked (client side).
std::vector<std::uint8_t> build_close_frame(std::optional<std::uint16_t> code, std::string_view reason = {},
                                            std::optional<MaskKey> mask_key = std::nullopt);

// A complete control frame (ping/pong/close) with the given unmasked payload
// (at most 125 bytes; longer is truncated).
std::vector<std::uint8_t> build_control_frame(Opcode opcode, std::span<const std::uint8_t> payload,
                                              std::optional<MaskKey> mask_key = std::nullopt);

}  // namespace wsgate::ws
