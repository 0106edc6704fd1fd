// Tests tools/load_histogram.*: bucket arithmetic, precision bound, percentiles, merging.
#include "tools/load_histogram.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace wsgate::tools {
namespace {

TEST(LatencyHistogram, SmallValuesAreExact) {
  for (std::uint64_t v = 0; v < 128; ++v) {
    const std::size_t bucket = LatencyHistogram::bucket_of(v);
    EXPECT_EQ(LatencyHistogram::bucket_lowest(bucket), v);
    EXPECT_EQ(LatencyHistogram::bucket_highest(bucket), v);
  }
}

TEST(LatencyHistogram, BucketsCoverTheRangeWithinOnePointSixPercent) {
  // Every value maps to a bucket containing it, buckets are contiguous, width <= 1/64 of the value.
  std::uint64_t expected_low = 0;
  for (std::size_t b = 0; LatencyHistogram::bucket_lowest(b) <= LatencyHistogram::kMaxTrackableNs; ++b) {
    const std::uint64_t low = LatencyHistogram::bucket_lowest(b);
    const std::uint64_t high = LatencyHistogram::bucket_highest(b);
    ASSERT_EQ(low, expected_low) << "bucket " << b;
    ASSERT_EQ(LatencyHistogram::bucket_of(low), b);
    ASSERT_EQ(LatencyHistogram::bucket_of(high), b);
    ASSERT_LE(static_cast<double>(high - low), static_cast<double>(low) / 64.0 + 1.0);
    expected_low = high + 1;
  }
  EXPECT_EQ(expected_low, LatencyHistogram::kMaxTrackableNs + 1);
}

TEST(LatencyHistogram, HugeValuesClampToTheLastBucket) {
  EXPECT_EQ(LatencyHistogram::bucket_of(UINT64_MAX), LatencyHistogram::bucket_of(LatencyHistogram::kMaxTrackableNs));
  LatencyHistogram h;
  h.record(UINT64_MAX);
  EXPECT_EQ(h.max_ns(), UINT64_MAX);
  EXPECT_EQ(h.count(), 1u);
}

TEST(LatencyHistogram, PercentilesOfAUniformSpread) {
  LatencyHistogram h;
  for (std::uint64_t us = 1; us <= 10'000; ++us) h.record(us * 1000);  // 1 µs .. 10 ms
  EXPECT_EQ(h.count(), 10'000u);
  const auto near = [](std::uint64_t value, double expected) {
    return static_cast<double>(value) >= expected && static_cast<double>(value) <= expected * 1.016;
  };
  EXPECT_TRUE(near(h.value_at_percentile(50), 5'000'000.0)) << h.value_at_percentile(50);
  EXPECT_TRUE(near(h.value_at_percentile(99), 9'900'000.0)) << h.value_at_percentile(99);
  EXPECT_TRUE(near(h.value_at_percentile(99.9), 9'990'000.0)) << h.value_at_percentile(99.9);
  EXPECT_EQ(h.value_at_percentile(100), 10'000'000u);  // never above the exact maximum
  EXPECT_EQ(h.min_ns(), 1000u);
}

TEST(LatencyHistogram, EmptyAndMerge) {
  LatencyHistogram a;
  LatencyHistogram b;
  EXPECT_EQ(a.value_at_percentile(50), 0u);
  EXPECT_EQ(a.min_ns(), 0u);
  for (int i = 0; i < 90; ++i) a.record(100);
  for (int i = 0; i < 10; ++i) b.record(1'000'000);
  a.merge(b);
  EXPECT_EQ(a.count(), 100u);
  EXPECT_EQ(a.value_at_percentile(90), 100u);
  EXPECT_GE(a.value_at_percentile(91), 1'000'000u);
  EXPECT_EQ(a.max_ns(), 1'000'000u);
  a.reset();
  EXPECT_EQ(a.count(), 0u);
}

}  // namespace
}  // namespace wsgate::tools
