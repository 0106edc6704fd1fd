// Tests h2/byte_queue.*: FIFO order across appends, pops and compaction.
#include "h2/byte_queue.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace wsgate::h2 {
namespace {

TEST(ByteQueueTest, KeepsOrderAcrossPopsAndCompaction) {
  ByteQueue queue;
  std::vector<std::uint8_t> expected;
  std::uint8_t next = 0;
  for (int round = 0; round < 200; ++round) {
    std::vector<std::uint8_t> chunk(static_cast<std::size_t>(round % 37 + 1));
    for (auto& b : chunk) b = next++;
    queue.append(chunk);
    expected.insert(expected.end(), chunk.begin(), chunk.end());
    const std::size_t drop = static_cast<std::size_t>(round % 23);
    ASSERT_TRUE(std::equal(queue.front().begin(), queue.front().end(), expected.begin(), expected.end()));
    queue.pop(drop);
    expected.erase(expected.begin(),
                   expected.begin() + static_cast<std::ptrdiff_t>(std::min(drop, expected.size())));
    ASSERT_EQ(queue.size(), expected.size());
  }
  queue.pop(queue.size() + 10);
  EXPECT_TRUE(queue.empty());
  EXPECT_TRUE(queue.front().empty());
}

}  // namespace
}  // namespace wsgate::h2
