// Log-linear latency histogram (see load_histogram.hpp).
#include "tools/load_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace wsgate::tools {

std::size_t LatencyHistogram::bucket_of(std::uint64_t value_ns) {
  const std::uint64_t value = std::min(value_ns, kMaxTrackableNs);
  if (value < kLinearBuckets) return static_cast<std::size_t>(value);
  const unsigned msb = 63u - static_cast<unsigned>(std::countl_zero(value));  // >= 7
  const unsigned shift = msb - kSubBucketBits;                                // >= 1
  const std::uint64_t top = value >> shift;                                   // 64..127
  return kLinearBuckets + (shift - 1) * 64 + static_cast<std::size_t>(top - 64);
}

std::uint64_t LatencyHistogram::bucket_lowest(std::size_t bucket) {
  if (bucket < kLinearBuckets) return bucket;
  const std::size_t rel = bucket - kLinearBuckets;
  const unsigned shift = static_cast<unsigned>(rel / 64) + 1;
  return (64 + rel % 64) << shift;
}

std::uint64_t LatencyHistogram::bucket_highest(std::size_t bucket) {
  if (bucket < kLinearBuckets) return bucket;
  const unsigned shift = static_cast<unsigned>((bucket - kLinearBuckets) / 64) + 1;
  return bucket_lowest(bucket) + (std::uint64_t{1} << shift) - 1;
}

void LatencyHistogram::record(std::uint64_t value_ns) {
  ++counts_[bucket_of(value_ns)];
  ++count_;
  max_ns_ = std::max(max_ns_, value_ns);
  min_ns_ = std::min(min_ns_, value_ns);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ns_ = std::max(max_ns_, other.max_ns_);
  min_ns_ = std::min(min_ns_, other.min_ns_);
}

void LatencyHistogram::reset() { *this = LatencyHistogram{}; }

std::uint64_t LatencyHistogram::value_at_percentile(double percentile) const {
  if (count_ == 0) return 0;
  const double clamped = std::clamp(percentile, 0.0, 100.0);
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(clamped / 100.0 * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(bucket_highest(i), max_ns_);
  }
  return max_ns_;
}

}  // namespace wsgate::tools
