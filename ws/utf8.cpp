// Incremental UTF-8 validation (RFC 3629 §4 well-formed byte sequences, as RFC 6455 §8.1 requires for text).
// A byte-class table and a small DFA: each state knows exactly which continuation ranges may follow, so
// overlongs, surrogates and code points above U+10FFFF fail at the first byte that rules them out.
#include "ws/utf8.hpp"

#include <array>
#include <cstring>

namespace wsgate::ws {

namespace {

// Byte classes: the ranges of RFC 3629 §4's table.
enum ByteClass : std::uint8_t {
  kAscii,    // 00..7F
  kCont80,   // 80..8F
  kCont90,   // 90..9F
  kContA0,   // A0..BF
  kInvalid,  // C0..C1 (overlong 2-byte), F5..FF (beyond U+10FFFF)
  kLead2,    // C2..DF
  kLeadE0,   // E0: next must be A0..BF (no overlong 3-byte)
  kLead3,    // E1..EC, EE..EF
  kLeadED,   // ED: next must be 80..9F (no surrogates)
  kLeadF0,   // F0: next must be 90..BF (no overlong 4-byte)
  kLead4,    // F1..F3
  kLeadF4,   // F4: next must be 80..8F (no code point above U+10FFFF)
  kClassCount,
};

// DFA states. kAccept (0) and kReject (1) match Utf8Validator's constants.
enum State : std::uint8_t {
  kStAccept = 0,
  kStReject = 1,
  kStNeed1,    // one continuation 80..BF to go
  kStNeed2,    // two to go, any 80..BF next
  kStNeed3,    // three to go, any 80..BF next
  kStAfterE0,  // A0..BF then one more
  kStAfterED,  // 80..9F then one more
  kStAfterF0,  // 90..BF then two more
  kStAfterF4,  // 80..8F then two more
  kStateCount,
};

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> classes{};
  for (int b = 0; b < 256; ++b) {
    std::uint8_t c = kInvalid;
    if (b <= 0x7F) {
      c = kAscii;
    } else if (b <= 0x8F) {
      c = kCont80;
    } else if (b <= 0x9F) {
      c = kCont90;
    } else if (b <= 0xBF) {
      c = kContA0;
    } else if (b <= 0xC1) {
      c = kInvalid;
    } else if (b <= 0xDF) {
      c = kLead2;
    } else if (b == 0xE0) {
      c = kLeadE0;
    } else if (b == 0xED) {
      c = kLeadED;
    } else if (b <= 0xEF) {
      c = kLead3;
    } else if (b == 0xF0) {
      c = kLeadF0;
    } else if (b <= 0xF3) {
      c = kLead4;
    } else if (b == 0xF4) {
      c = kLeadF4;
    }
    classes[static_cast<std::size_t>(b)] = c;
  }
  return classes;
}

using TransitionTable = std::array<std::array<std::uint8_t, kClassCount>, kStateCount>;

constexpr TransitionTable make_transitions() {
  TransitionTable t{};
  for (auto& row : t) {
    row.fill(kStReject);
  }
  t[kStAccept][kAscii] = kStAccept;
  t[kStAccept][kLead2] = kStNeed1;
  t[kStAccept][kLeadE0] = kStAfterE0;
  t[kStAccept][kLead3] = kStNeed2;
  t[kStAccept][kLeadED] = kStAfterED;
  t[kStAccept][kLeadF0] = kStAfterF0;
  t[kStAccept][kLead4] = kStNeed3;
  t[kStAccept][kLeadF4] = kStAfterF4;
  for (const std::uint8_t cont : {kCont80, kCont90, kContA0}) {
    t[kStNeed1][cont] = kStAccept;
    t[kStNeed2][cont] = kStNeed1;
    t[kStNeed3][cont] = kStNeed2;
  }
  t[kStAfterE0][kContA0] = kStNeed1;
  t[kStAfterED][kCont80] = kStNeed1;
  t[kStAfterED][kCont90] = kStNeed1;
  t[kStAfterF0][kCont90] = kStNeed2;
  t[kStAfterF0][kContA0] = kStNeed2;
  t[kStAfterF4][kCont80] = kStNeed2;
  return t;
}

constexpr std::array<std::uint8_t, 256> kClasses = make_classes();
constexpr TransitionTable kTransitions = make_transitions();

static_assert(kStAccept == 0 && kStReject == 1, "states must match Utf8Validator::kAccept/kReject");

}  // namespace

bool Utf8Validator::feed(std::span<const std::uint8_t> bytes) {
  std::uint32_t state = state_;
  const std::uint8_t* p = bytes.data();
  const std::uint8_t* const end = p + bytes.size();
  while (p != end) {
    if (state == kStReject) {
      break;
    }
    // Fast path: skip ASCII 8 bytes at a time while on a code point boundary.
    if (state == kStAccept) {
      while (end - p >= 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, p, sizeof(word));
        if ((word & 0x8080808080808080ULL) != 0) {
          break;
        }
        p += 8;
      }
      if (p == end) {
        break;
      }
    }
    state = kTransitions[state][kClasses[*p]];
    ++p;
  }
  state_ = state;
  return state_ != kReject;
}

bool is_valid_utf8(std::span<const std::uint8_t> bytes) {
  Utf8Validator validator;
  return validator.feed(bytes) && validator.complete();
}

}  // namespace wsgate::ws
