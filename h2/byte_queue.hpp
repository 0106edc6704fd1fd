// A contiguous FIFO of bytes: a stream's outgoing DATA payload waiting for flow-control credit.
// The front is one span, so a DATA frame is gathered from it with a single copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace wsgate::h2 {

class ByteQueue {
 public:
  void append(std::span<const std::uint8_t> bytes);
  std::span<const std::uint8_t> front() const;  // every queued byte, oldest first
  void pop(std::size_t bytes);                  // drops up to `bytes` from the front
  std::size_t size() const { return storage_.size() - head_; }
  bool empty() const { return size() == 0; }

 private:
  // An idle stream keeps no large buffer: storage above this is released once drained.
  static constexpr std::size_t kKeepCapacityBytes = 16 * 1024;

  std::vector<std::uint8_t> storage_;  // bytes [head_, size) are queued
  std::size_t head_ = 0;               // bytes already popped at the front of storage_
};

}  // namespace wsgate::h2
