// See route_slots.hpp.
#include "gateway/route_slots.hpp"

#include <map>
#include <mutex>
#include <string>

namespace wsgate::gw {

namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<std::atomic<std::uint64_t>>, std::less<>> open;
};

Registry& registry() {
  static Registry r;  // process-wide: the limit spans every worker
  return r;
}

std::shared_ptr<std::atomic<std::uint64_t>> counter_for(const std::string& name) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);  // once per limited handshake, not per message
  auto& slot = r.open[name];
  if (!slot) slot = std::make_shared<std::atomic<std::uint64_t>>(0);
  return slot;
}

}  // namespace

std::optional<RouteSlot> acquire_route_slot(const RouteConfig& route) {
  if (route.max_websockets == 0) return RouteSlot{};
  auto open = counter_for(route.name);
  std::uint64_t now = open->load(std::memory_order_relaxed);
  do {
    if (now >= route.max_websockets) return std::nullopt;
  } while (!open->compare_exchange_weak(now, now + 1, std::memory_order_relaxed));
  return RouteSlot(std::move(open));
}

}  // namespace wsgate::gw
