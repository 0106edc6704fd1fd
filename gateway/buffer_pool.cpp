// Per-thread free lists of relay buffers; see buffer_pool.hpp.
#include "gateway/buffer_pool.hpp"

#include <array>
#include <bit>
#include <new>
#include <vector>

namespace wsgate::gw {

namespace {

constexpr int kSmallestShift = std::countr_zero(BufferPool::kSmallestBytes);
constexpr int kClasses = std::countr_zero(BufferPool::kLargestBytes) - kSmallestShift + 1;

// Size class of `bytes`, or -1 when it is not pooled.
int class_of(std::size_t bytes) {
  if (bytes < BufferPool::kSmallestBytes || bytes > BufferPool::kLargestBytes || !std::has_single_bit(bytes)) {
    return -1;
  }
  return std::countr_zero(bytes) - kSmallestShift;
}

struct FreeLists {
  std::array<std::vector<std::uint8_t*>, kClasses> lists;
  std::size_t kept_bytes = 0;

  FreeLists() {
    // Room for the bound up front so that release() never allocates.
    for (int c = 0; c < kClasses; ++c) lists[c].reserve(BufferPool::kKeepBytes >> (c + kSmallestShift));
  }
  ~FreeLists() {
    for (auto& list : lists) {
      for (auto* buffer : list) ::operator delete(buffer);
    }
  }
};

FreeLists& free_lists() {
  thread_local FreeLists lists;
  return lists;
}

}  // namespace

std::uint8_t* BufferPool::acquire(std::size_t bytes) {
  const int c = class_of(bytes);
  if (c >= 0) {
    FreeLists& pool = free_lists();
    auto& list = pool.lists[c];
    if (!list.empty()) {
      std::uint8_t* buffer = list.back();
      list.pop_back();
      pool.kept_bytes -= bytes;
      return buffer;
    }
  }
  return static_cast<std::uint8_t*>(::operator new(bytes));
}

void BufferPool::release(std::uint8_t* buffer, std::size_t bytes) noexcept {
  const int c = class_of(bytes);
  if (c >= 0) {
    FreeLists& pool = free_lists();
    auto& list = pool.lists[c];
    if (pool.kept_bytes + bytes <= kKeepBytes && list.size() < list.capacity()) {
      list.push_back(buffer);
      pool.kept_bytes += bytes;
      return;
    }
  }
  ::operator delete(buffer);
}

std::size_t BufferPool::kept_bytes() noexcept { return free_lists().kept_bytes; }

}  // namespace wsgate::gw
