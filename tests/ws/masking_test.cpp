// Tests for apply_mask (ws/frame.*): every offset and alignment against a byte-by-byte reference (RFC 6455
// §5.3).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "tests/ws/ws_test_util.hpp"
#include "ws/frame.hpp"

namespace wsgate::ws {
namespace {

using test::Bytes;

// RFC 6455 §5.3: transformed-octet-i = original-octet-i XOR masking-key-octet-(i MOD 4).
void reference_mask(std::uint8_t* data, std::size_t size, const MaskKey& key, std::uint64_t offset) {
  for (std::size_t i = 0; i < size; ++i) {
    data[i] ^= key[(offset + i) % 4];
  }
}

TEST(ApplyMask, MatchesReferenceAtEveryOffsetAlignmentAndSize) {
  const MaskKey key{0x12, 0x9A, 0xF0, 0x5C};
  const std::uint64_t offsets[] = {0, 1, 2, 3, 4, 5, 6, 7, (1ull << 32) + 1, (1ull << 63) + 3};
  for (std::size_t alignment = 0; alignment < 8; ++alignment) {
    for (const std::uint64_t offset : offsets) {
      for (std::size_t size = 0; size <= 80; ++size) {
        // Guard bytes around the region catch writes outside it.
        Bytes buffer = test::pattern_payload(alignment + size + 8, static_cast<std::uint8_t>(size));
        Bytes expected = buffer;
        apply_mask(std::span(buffer).subspan(alignment, size), key, offset);
        reference_mask(expected.data() + alignment, size, key, offset);
        ASSERT_EQ(buffer, expected) << "alignment " << alignment << " offset " << offset << " size " << size;
      }
    }
  }
}

TEST(ApplyMask, LargeBufferMatchesReference) {
  const MaskKey key{0xDE, 0xAD, 0xBE, 0xEF};
  for (const std::uint64_t offset : {0u, 3u}) {
    Bytes buffer = test::pattern_payload(70001);
    Bytes expected = buffer;
    apply_mask(std::span(buffer).subspan(1), key, offset);
    reference_mask(expected.data() + 1, expected.size() - 1, key, offset);
    EXPECT_EQ(buffer, expected);
  }
}

TEST(ApplyMask, PiecewiseEqualsWhole) {
  const Bytes original = test::pattern_payload(100);
  Bytes whole = original;
  apply_mask(whole, test::kTestMask);
  for (std::size_t cut = 0; cut <= original.size(); ++cut) {
    Bytes pieces = original;
    apply_mask(std::span(pieces).first(cut), test::kTestMask, 0);
    apply_mask(std::span(pieces).subspan(cut), test::kTestMask, cut);
    ASSERT_EQ(pieces, whole) << cut;
  }
}

TEST(ApplyMask, IsAnInvolution) {
  const Bytes original = test::pattern_payload(37);
  Bytes data = original;
  apply_mask(data, test::kTestMask, 5);
  EXPECT_NE(data, original);
  apply_mask(data, test::kTestMask, 5);
  EXPECT_EQ(data, original);
}

TEST(ApplyMask, ZeroKeyIsIdentity) {
  const Bytes original = test::pattern_payload(50);
  Bytes data = original;
  apply_mask(data, MaskKey{0, 0, 0, 0}, 3);
  EXPECT_EQ(data, original);
}

}  // namespace
}  // namespace wsgate::ws
