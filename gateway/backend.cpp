// Backend resolution and endpoint choice; see backend.hpp.
#include "gateway/backend.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <boost/asio/ssl/host_name_verification.hpp>
#include <cstring>
#include <stdexcept>

namespace wsgate::gw {

namespace asio = boost::asio;

namespace {
constexpr std::chrono::seconds kFailurePenalty{5};

std::vector<asio::ip::tcp::endpoint> resolve(const HostPort& hp, std::string& error) {
  std::vector<asio::ip::tcp::endpoint> out;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  std::string port = std::to_string(hp.port);
  int rc = ::getaddrinfo(hp.host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0) {
    error = ::gai_strerror(rc);
    return out;
  }
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    asio::ip::tcp::endpoint ep;
    std::memcpy(ep.data(), ai->ai_addr, ai->ai_addrlen);
    ep.resize(ai->ai_addrlen);
    out.push_back(ep);
  }
  ::freeaddrinfo(result);
  return out;
}

std::shared_ptr<asio::ssl::context> make_client_tls(const BackendConfig& backend) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  const BackendTls& tls = *backend.tls;
  if (tls.verify) {
    ctx->set_verify_mode(asio::ssl::verify_peer);
    if (tls.ca_file) {
      ctx->load_verify_file(*tls.ca_file);
    } else {
      ctx->set_default_verify_paths();
    }
  } else {
    ctx->set_verify_mode(asio::ssl::verify_none);
  }
  // ALPN: the upgrade is HTTP/1.1.
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  ::SSL_CTX_set_alpn_protos(ctx->native_handle(), kAlpn, sizeof(kAlpn));
  return ctx;
}
}  // namespace

std::vector<BackendRuntime> resolve_backends(const Config& config, std::vector<std::string>& warnings) {
  std::vector<BackendRuntime> out;
  out.reserve(config.backends.size());
  for (std::size_t i = 0; i < config.backends.size(); ++i) {
    const BackendConfig& bc = config.backends[i];
    BackendRuntime rt;
    rt.config = &bc;
    rt.index = i;
    for (const HostPort& hp : bc.endpoints) {
      std::string error;
      auto addresses = resolve(hp, error);
      if (addresses.empty()) {
        warnings.push_back("backend " + bc.name + ": cannot resolve " + hp.to_string() + ": " + error);
        continue;
      }
      // One endpoint per configured address: the first resolved address.
      rt.endpoints.push_back({addresses.front(), hp.host, hp.to_string()});
    }
    if (bc.tls) {
      try {
        rt.tls = make_client_tls(bc);
      } catch (const std::exception& e) {
        throw std::runtime_error("backends: " + bc.name + ".tls: " + e.what());
      }
    }
    out.push_back(std::move(rt));
  }
  return out;
}

std::vector<EndpointPicker::Clock::time_point>& EndpointPicker::failed_of(std::size_t index) {
  if (index >= failed_until_.size()) {
    failed_until_.resize(index + 1);
    next_.resize(index + 1, 0);
  }
  return failed_until_[index];
}

void EndpointPicker::forget(std::size_t index) {
  if (index < failed_until_.size()) failed_until_[index].clear();
}

std::vector<std::size_t> EndpointPicker::order(const BackendRuntime& backend, std::size_t max_attempts) {
  std::vector<std::size_t> healthy;
  std::vector<std::size_t> penalised;
  const std::size_t n = backend.endpoints.size();
  if (n == 0) return {};
  auto& failed = failed_of(backend.index);
  if (failed.size() != n) failed.assign(n, Clock::time_point{});
  std::size_t start = next_[backend.index]++ % n;
  auto now = Clock::now();
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t i = (start + k) % n;
    (failed[i] > now ? penalised : healthy).push_back(i);
  }
  healthy.insert(healthy.end(), penalised.begin(), penalised.end());
  if (healthy.size() > max_attempts) healthy.resize(max_attempts);
  return healthy;
}

void EndpointPicker::report_failure(const BackendRuntime& backend, std::size_t endpoint) {
  auto& failed = failed_of(backend.index);
  if (failed.size() != backend.endpoints.size()) failed.assign(backend.endpoints.size(), Clock::time_point{});
  const bool was_healthy = failed[endpoint] <= Clock::now();
  failed[endpoint] = Clock::now() + kFailurePenalty;
  if (was_healthy && health_listener_) health_listener_(backend.index, endpoint, false);
}

void EndpointPicker::report_success(const BackendRuntime& backend, std::size_t endpoint) {
  auto& failed = failed_of(backend.index);
  if (endpoint < failed.size() && failed[endpoint] != Clock::time_point{}) {
    failed[endpoint] = Clock::time_point{};
    if (health_listener_) health_listener_(backend.index, endpoint, true);
  }
}

}  // namespace wsgate::gw
