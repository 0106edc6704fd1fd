// Incremental UTF-8 validation for text messages (RFC 6455 §8.1, RFC 3629).
#pragma once

#include <cstdint>
#include <span>

namespace wsgate::ws {

// Validates a byte stream split at arbitrary points (across frames of one
// message). Rejects overlongs, surrogates (U+D800-DFFF), code points above
// U+10FFFF and stray continuation bytes as soon as they are seen.
class Utf8Validator {
 public:
  // Returns false once the input seen so far cannot be a prefix of valid UTF-8.
  bool feed(std::span<const std::uint8_t> bytes);
  // True when everything fed is valid and ends on a code point boundary.
  bool complete() const { return state_ == kAccept; }
  bool failed() const { return state_ == kReject; }
  void reset() { state_ = kAccept; }

 private:
  static constexpr std::uint32_t kAccept = 0;
  static constexpr std::uint32_t kReject = 1;
  std::uint32_t state_ = kAccept;
};

// One-shot check of a complete buffer.
bool is_valid_utf8(std::span<const std::uint8_t> bytes);

}  // namespace wsgate::ws
