// Tests for gateway/buffer_pool.*: buffers are recycled per size class and thread, other sizes go to
// the heap, the free bytes kept per thread stay under the bound, and PooledBuffer gives back once.
#include "gateway/buffer_pool.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

namespace wsgate::gw {
namespace {

TEST(BufferPoolTest, ReusesAReleasedBufferOfTheSameSize) {
  std::uint8_t* first = BufferPool::acquire(BufferPool::kSmallestBytes);
  std::memset(first, 0xAB, BufferPool::kSmallestBytes);  // the whole size is usable
  const std::size_t kept = BufferPool::kept_bytes();
  BufferPool::release(first, BufferPool::kSmallestBytes);
  EXPECT_EQ(BufferPool::kept_bytes(), kept + BufferPool::kSmallestBytes);
  std::uint8_t* second = BufferPool::acquire(BufferPool::kSmallestBytes);
  EXPECT_EQ(second, first);
  EXPECT_EQ(BufferPool::kept_bytes(), kept);
  BufferPool::release(second, BufferPool::kSmallestBytes);
}

TEST(BufferPoolTest, SizeClassesAreSeparate) {
  std::uint8_t* small = BufferPool::acquire(BufferPool::kSmallestBytes);
  BufferPool::release(small, BufferPool::kSmallestBytes);
  std::uint8_t* larger = BufferPool::acquire(2 * BufferPool::kSmallestBytes);
  EXPECT_NE(larger, small);
  std::memset(larger, 0, 2 * BufferPool::kSmallestBytes);
  BufferPool::release(larger, 2 * BufferPool::kSmallestBytes);
}

TEST(BufferPoolTest, SizesOutsideTheClassesAreNotKept) {
  const std::size_t kept = BufferPool::kept_bytes();
  for (std::size_t bytes : {BufferPool::kSmallestBytes / 2, std::size_t{3 * 16 * 1024}, 2 * BufferPool::kLargestBytes}) {
    std::uint8_t* buffer = BufferPool::acquire(bytes);
    std::memset(buffer, 0, bytes);
    BufferPool::release(buffer, bytes);
    EXPECT_EQ(BufferPool::kept_bytes(), kept) << bytes;
  }
}

TEST(BufferPoolTest, KeepsAtMostTheBound) {
  std::vector<std::uint8_t*> buffers;
  const std::size_t count = BufferPool::kKeepBytes / BufferPool::kLargestBytes + 3;
  for (std::size_t i = 0; i < count; ++i) buffers.push_back(BufferPool::acquire(BufferPool::kLargestBytes));
  for (auto* buffer : buffers) BufferPool::release(buffer, BufferPool::kLargestBytes);
  EXPECT_LE(BufferPool::kept_bytes(), BufferPool::kKeepBytes);
}

TEST(BufferPoolTest, EachThreadHasItsOwnLists) {
  std::uint8_t* here = BufferPool::acquire(BufferPool::kSmallestBytes);
  BufferPool::release(here, BufferPool::kSmallestBytes);
  std::uint8_t* there = nullptr;
  std::size_t kept_there = 1;
  std::thread other([&] {
    kept_there = BufferPool::kept_bytes();
    there = BufferPool::acquire(BufferPool::kSmallestBytes);
    BufferPool::release(there, BufferPool::kSmallestBytes);
  });
  other.join();
  EXPECT_EQ(kept_there, 0u);
  EXPECT_NE(there, here);
}

TEST(PooledBufferTest, MovesOwnershipAndReleasesOnce) {
  std::size_t kept = 0;
  {
    PooledBuffer a(BufferPool::kSmallestBytes);
    kept = BufferPool::kept_bytes();  // after the buffer was taken (from the list or the heap)
    ASSERT_TRUE(a);
    EXPECT_EQ(a.size(), BufferPool::kSmallestBytes);
    a[0] = 7;
    PooledBuffer b(std::move(a));
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    EXPECT_EQ(b[0], 7);
    PooledBuffer c;
    c = std::move(b);
    EXPECT_EQ(c.size(), BufferPool::kSmallestBytes);
    c.reset();
    EXPECT_FALSE(c);
    c.reset();  // twice is harmless
  }
  EXPECT_EQ(BufferPool::kept_bytes(), kept + BufferPool::kSmallestBytes);
}

}  // namespace
}  // namespace wsgate::gw
