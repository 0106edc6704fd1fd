// Snapshot building and backend comparison; see snapshot.hpp.
#include "gateway/snapshot.hpp"

#include <stdexcept>

namespace wsgate::gw {

const BackendRuntime* Snapshot::backend_for(const RouteConfig& route) const {
  const BackendConfig* backend = config->find_backend(route.backend);
  if (backend == nullptr) return nullptr;
  return &backends[static_cast<std::size_t>(backend - config->backends.data())];
}

std::size_t Snapshot::route_id(const RouteConfig& route) const {
  auto position = static_cast<std::size_t>(&route - config->routes.data());
  return position < ids.routes.size() ? ids.routes[position] : position;
}

std::shared_ptr<const Snapshot> build_snapshot(std::shared_ptr<const Config> config, std::uint64_t generation,
                                               Metrics* metrics, std::vector<std::string>& warnings) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->generation = generation;
  snapshot->backends = resolve_backends(*config, warnings);
  if (metrics != nullptr) {
    std::string error;
    if (!metrics->register_names(*config, snapshot->ids, error)) throw std::runtime_error(error);
  } else {
    for (std::size_t i = 0; i < config->listeners.size(); ++i) snapshot->ids.listeners.push_back(i);
    for (std::size_t i = 0; i < config->routes.size(); ++i) snapshot->ids.routes.push_back(i);
    for (std::size_t i = 0; i < config->backends.size(); ++i) snapshot->ids.backends.push_back(i);
  }
  for (std::size_t i = 0; i < snapshot->backends.size(); ++i)
    snapshot->backends[i].index = snapshot->ids.backends[i];
  snapshot->config = std::move(config);
  return snapshot;
}

namespace {
bool same_endpoints(const BackendRuntime& a, const BackendRuntime& b) {
  if (a.endpoints.size() != b.endpoints.size()) return false;
  for (std::size_t i = 0; i < a.endpoints.size(); ++i) {
    if (a.endpoints[i].address != b.endpoints[i].address || a.endpoints[i].host != b.endpoints[i].host)
      return false;
  }
  return true;
}

bool same_tls(const BackendConfig& a, const BackendConfig& b) {
  if (a.tls.has_value() != b.tls.has_value()) return false;
  if (!a.tls) return true;
  return a.tls->sni == b.tls->sni && a.tls->ca_file == b.tls->ca_file && a.tls->verify == b.tls->verify;
}
}  // namespace

bool backend_changed(const BackendRuntime& before, const BackendRuntime& after) {
  const BackendConfig& a = *before.config;
  const BackendConfig& b = *after.config;
  if (a.endpoints.size() != b.endpoints.size()) return true;
  for (std::size_t i = 0; i < a.endpoints.size(); ++i) {
    if (a.endpoints[i].host != b.endpoints[i].host || a.endpoints[i].port != b.endpoints[i].port) return true;
  }
  return !same_endpoints(before, after) || !same_tls(a, b) || a.protocol != b.protocol;
}

}  // namespace wsgate::gw
