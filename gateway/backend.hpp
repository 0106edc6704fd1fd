// Backends at run time: endpoints resolved from config (DNS at start and on each reload), the TLS
// client context, and per-worker endpoint choice (round-robin with passive
// health: an endpoint that just failed is tried last for a while).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gateway/config.hpp"

namespace wsgate::gw {

struct BackendEndpoint {
  boost::asio::ip::tcp::endpoint address;
  std::string host;  // as configured (for Host fallbacks, SNI and logs)
  std::string label; // "127.0.0.1:9000"
};

struct BackendRuntime {
  const BackendConfig* config = nullptr;
  std::size_t index = 0;                           // label index (Metrics, EndpointPicker): stable per name
  std::vector<BackendEndpoint> endpoints;          // empty if nothing resolved (-> 503)
  std::shared_ptr<boost::asio::ssl::context> tls;  // set when the backend uses TLS
};

// Resolves every backend of `config` (blocking getaddrinfo; start-up and reload,
// never on a worker). `index` is the position in config until the caller sets it.
// Names that do not resolve leave that backend without endpoints and are
// reported in `warnings`.
std::vector<BackendRuntime> resolve_backends(const Config& config, std::vector<std::string>& warnings);

// One per worker: no locks. Order in which to try the endpoints of a backend.
class EndpointPicker {
 public:
  explicit EndpointPicker(std::size_t backend_count) : next_(backend_count, 0), failed_until_(backend_count) {}

  // Drops what is known about backend `index` (its endpoints changed on reload).
  void forget(std::size_t index);

  // Up to `max_attempts` distinct endpoint indices: healthy ones in round-robin
  // order first, then recently failed ones.
  std::vector<std::size_t> order(const BackendRuntime& backend, std::size_t max_attempts);
  void report_failure(const BackendRuntime& backend, std::size_t endpoint);
  void report_success(const BackendRuntime& backend, std::size_t endpoint);
  // Called when an endpoint turns healthy or unhealthy in this worker's view.
  void set_health_listener(std::function<void(std::size_t backend, std::size_t endpoint, bool healthy)> listener) {
    health_listener_ = std::move(listener);
  }

 private:
  using Clock = std::chrono::steady_clock;
  // The state of backend `index`, grown on first use (reloads add backends).
  std::vector<Clock::time_point>& failed_of(std::size_t index);
  std::vector<std::size_t> next_;
  std::vector<std::vector<Clock::time_point>> failed_until_;
  std::function<void(std::size_t, std::size_t, bool)> health_listener_;
};

}  // namespace wsgate::gw
