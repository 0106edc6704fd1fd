// Snapshot: one loaded Config with what it needs at run time (resolved backends,
// metric label indexes). Immutable once built and shared by shared_ptr: each
// worker holds the newest one, each WebSocket the one it started with.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gateway/backend.hpp"
#include "gateway/config.hpp"
#include "gateway/metrics.hpp"

namespace wsgate::gw {

struct Snapshot {
  std::uint64_t generation = 0;  // 1 at start, +1 per successful reload
  std::shared_ptr<const Config> config;
  std::vector<BackendRuntime>
      backends;   // [position in config->backends]; BackendRuntime::index = label index
  MetricIds ids;  // label indexes by position in config

  // The runtime backend `route` forwards to (route from this snapshot's config); null if none.
  const BackendRuntime* backend_for(const RouteConfig& route) const;
  // Label index of `route` (from this snapshot's config) for the per-route metrics.
  std::size_t route_id(const RouteConfig& route) const;
};

// Resolves the backends of `config` (blocking DNS) and registers its names with
// `metrics` (may be null: label index = position). Throws std::runtime_error on
// a TLS context failure or when the metrics have no room for a new name.
std::shared_ptr<const Snapshot> build_snapshot(std::shared_ptr<const Config> config, std::uint64_t generation,
                                               Metrics* metrics, std::vector<std::string>& warnings);

// True when streams to `before` cannot carry on as streams to `after` (same name):
// other endpoints (as configured or as resolved), TLS settings or protocol.
bool backend_changed(const BackendRuntime& before, const BackendRuntime& after);

}  // namespace wsgate::gw
