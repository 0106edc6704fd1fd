// A log-linear latency histogram in the style of HdrHistogram for the load generator: 1 ns
// resolution below 128 ns, then 64 sub-buckets per power of two (under 1.6% relative error, under
// 0.8% on average) up to 2^36 ns (about 68 s); larger values land in the last bucket. Fixed size,
// no allocation after construction, mergeable across threads.
#pragma once

#include <array>
#include <cstdint>

namespace wsgate::tools {

class LatencyHistogram {
 public:
  static constexpr std::uint64_t kMaxTrackableNs = (std::uint64_t{1} << 36) - 1;

  void record(std::uint64_t value_ns);
  void merge(const LatencyHistogram& other);
  void reset();

  std::uint64_t count() const { return count_; }
  std::uint64_t max_ns() const { return max_ns_; }
  std::uint64_t min_ns() const { return count_ == 0 ? 0 : min_ns_; }
  // The value at or below which `percentile` percent (0..100) of the recorded values fall, as the
  // highest value of its bucket (never above the exact maximum); 0 when empty.
  std::uint64_t value_at_percentile(double percentile) const;

  // Bucket arithmetic, public for the unit test.
  static std::size_t bucket_of(std::uint64_t value_ns);
  static std::uint64_t bucket_lowest(std::size_t bucket);
  static std::uint64_t bucket_highest(std::size_t bucket);

 private:
  static constexpr unsigned kSubBucketBits = 6;                          // 64 sub-buckets per octave
  static constexpr std::size_t kLinearBuckets = 2u << kSubBucketBits;    // values 0..127 exactly
  static constexpr std::size_t kBucketCount = kLinearBuckets + 30 * 64;  // octaves 2^7 .. 2^36

  std::array<std::uint64_t, kBucketCount> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ns_ = 0;
  std::uint64_t min_ns_ = UINT64_MAX;
};

}  // namespace wsgate::tools
