// Concurrent WebSockets per route across all workers (routes[].max_websockets):
// a handshake takes a slot before the backend is contacted and gives it back
// when the WebSocket ends; over the limit the client gets 503.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include "gateway/config.hpp"

namespace wsgate::gw {

class RouteSlot {
 public:
  RouteSlot() = default;
  explicit RouteSlot(std::shared_ptr<std::atomic<std::uint64_t>> open) : open_(std::move(open)) {}
  RouteSlot(RouteSlot&&) noexcept = default;
  RouteSlot& operator=(RouteSlot&& other) noexcept {
    if (this != &other) {
      release();
      open_ = std::move(other.open_);
    }
    return *this;
  }
  RouteSlot(const RouteSlot&) = delete;
  RouteSlot& operator=(const RouteSlot&) = delete;
  ~RouteSlot() { release(); }

  void release() {
    if (open_) open_->fetch_sub(1, std::memory_order_relaxed);
    open_.reset();
  }

 private:
  std::shared_ptr<std::atomic<std::uint64_t>> open_;
};

// A slot on `route` (an empty one when the route has no max_websockets), or
// nullopt when max_websockets are already open. Counted by route name, so the
// count carries over a config reload.
std::optional<RouteSlot> acquire_route_slot(const RouteConfig& route);

}  // namespace wsgate::gw
