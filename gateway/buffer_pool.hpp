// Relay read buffers recycled per worker thread: a WebSocket takes a buffer only while bytes are in
// flight and gives it back when they are written, so an idle WebSocket holds none; the free lists
// keep that from costing a malloc/free (and, for large sizes, page faults and unmaps) per message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

namespace wsgate::gw {

// Sizes are powers of two from kSmallestBytes to kLargestBytes; other sizes come from the heap
// each time. A thread keeps at most kKeepBytes of free buffers (a bounded, per-worker cost).
class BufferPool {
 public:
  static constexpr std::size_t kSmallestBytes = 1024;
  static constexpr std::size_t kLargestBytes = 1024 * 1024;
  static constexpr std::size_t kKeepBytes = 4 * 1024 * 1024;

  // A buffer of exactly `bytes` from this thread's free list (or the heap); never null.
  static std::uint8_t* acquire(std::size_t bytes);
  // Gives back a buffer from acquire(bytes) on any thread (kept by this thread's list if room).
  static void release(std::uint8_t* buffer, std::size_t bytes) noexcept;
  // Free bytes this thread holds (for tests).
  static std::size_t kept_bytes() noexcept;
};

// One pooled buffer, moved not copied; released to the pool when reset or destroyed.
class PooledBuffer {
 public:
  PooledBuffer() = default;
  explicit PooledBuffer(std::size_t bytes) : data_(BufferPool::acquire(bytes)), size_(bytes) {}
  PooledBuffer(PooledBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  PooledBuffer& operator=(PooledBuffer&& other) noexcept {
    if (this != &other) {
      reset();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  PooledBuffer(const PooledBuffer&) = delete;
  PooledBuffer& operator=(const PooledBuffer&) = delete;
  ~PooledBuffer() { reset(); }

  void reset() noexcept {
    if (data_ != nullptr) BufferPool::release(data_, size_);
    data_ = nullptr;
    size_ = 0;
  }
  std::uint8_t* get() const { return data_; }
  std::size_t size() const { return size_; }
  std::uint8_t& operator[](std::size_t i) const { return data_[i]; }
  explicit operator bool() const { return data_ != nullptr; }

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace wsgate::gw
