// A contiguous FIFO of bytes for a stream's outgoing DATA payload.
#include "h2/byte_queue.hpp"

#include <algorithm>

namespace wsgate::h2 {

void ByteQueue::append(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return;
  // Compact once the consumed prefix is at least half the storage: amortised O(1) per byte.
  if (head_ > 0 && head_ * 2 >= storage_.size()) {
    storage_.erase(storage_.begin(), storage_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  storage_.insert(storage_.end(), bytes.begin(), bytes.end());
}

std::span<const std::uint8_t> ByteQueue::front() const {
  return std::span<const std::uint8_t>(storage_).subspan(head_);
}

void ByteQueue::pop(std::size_t bytes) {
  head_ += std::min(bytes, size());
  if (head_ == storage_.size()) {
    storage_.clear();
    head_ = 0;
    if (storage_.capacity() > kKeepCapacityBytes) storage_.shrink_to_fit();
  }
}

}  // namespace wsgate::h2
