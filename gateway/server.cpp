// Server start-up, signal handling and graceful drain; see server.hpp.
#include "gateway/server.hpp"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "gateway/access_log.hpp"
#include "gateway/admin_server.hpp"
#include "gateway/backend.hpp"
#include "gateway/listener.hpp"
#include "gateway/log.hpp"
#include "gateway/metrics.hpp"
#include "gateway/worker.hpp"

namespace wsgate::gw {

namespace {
std::string endpoint_text(const boost::asio::ip::tcp::endpoint& ep) {
  if (ep.address().is_v6()) return "[" + ep.address().to_string() + "]:" + std::to_string(ep.port());
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}
}  // namespace

std::vector<ConfigError> unsupported_features(const Config& config) {
  std::vector<ConfigError> errors;
  auto refuse = [&](const std::string& path, const std::string& what) {
    errors.push_back(config.error_at(path, what + " is not supported yet"));
  };
  for (std::size_t i = 0; i < config.backends.size(); ++i) {
    if (config.backends[i].protocol != BackendProtocol::kHttp1) {
      refuse("backends[" + std::to_string(i) + "].protocol", "an HTTP/2 backend protocol");
    }
  }
  return errors;
}

Server::Server(std::shared_ptr<const Config> config) : config_(std::move(config)) {}

Server::~Server() = default;

int Server::run() {
  const Config& config = *config_;
  std::vector<std::string> warnings;
  std::vector<BackendRuntime> backends = resolve_backends(config, warnings);
  for (const auto& w : warnings) log_line("warning: " + w);

  std::vector<std::unique_ptr<ListenerRuntime>> listeners;
  for (const auto& lc : config.listeners) {
    auto rt = std::make_unique<ListenerRuntime>();
    rt->config = &lc;
    rt->index = listeners.size();
    auto offers = [&](std::string_view p) {
      return std::find(lc.protocols.begin(), lc.protocols.end(), p) != lc.protocols.end();
    };
    rt->h2 = lc.tls && offers("h2");
    rt->h2c = !lc.tls && offers("h2c");
    if (lc.tls) rt->tls = make_listener_tls(lc, rt->h2);
    listeners.push_back(std::move(rt));
  }

  unsigned worker_count =
      config.workers != 0 ? config.workers : std::max(1u, std::thread::hardware_concurrency());
  Metrics metrics(config, worker_count);
  for (const auto& b : backends) {
    std::vector<std::string> labels;
    for (const auto& e : b.endpoints) labels.push_back(e.label);
    metrics.set_backend_endpoints(b.index, std::move(labels));
  }
  AccessLog access_log(config.access_log);
  metrics.set_access_log_dropped([&access_log] { return access_log.dropped(); });

  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < worker_count; ++i) {
    workers.push_back(std::make_unique<Worker>(i, config_, backends, &metrics, &access_log));
  }

  std::vector<std::shared_ptr<Acceptor>> acceptors;
  for (auto& rt : listeners) {
    for (auto& w : workers) acceptors.push_back(std::make_shared<Acceptor>(*w, *rt));
    log_line("listener " + rt->config->name + " listening on " + endpoint_text(rt->bound) +
             (rt->tls ? " (tls)" : ""));
  }
  std::unique_ptr<AdminServer> admin;
  if (config.admin.enabled) {
    admin = std::make_unique<AdminServer>(config.admin.address, metrics);
    admin->start();
    log_line("admin listening on " + endpoint_text(admin->bound_endpoint()));
  }
  for (auto& a : acceptors) a->start();
  for (auto& w : workers) w->start();
  metrics.set_listeners_bound(true);
  log_line("ready (" + std::to_string(worker_count) + " workers)");

  // Wait for a signal (blocked in every thread; see main).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  int sig = 0;
  for (;;) {
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      log_line("SIGHUP: config reload is not supported yet; keeping the running config");
      continue;
    }
    break;
  }
  log_line(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ": draining (up to " +
           std::to_string(config.drain_timeout.count()) + " ms)");

  // Not ready from now on (load balancers stop sending); stop accepting, then
  // close 1001 on every WebSocket and wait for them to end.
  metrics.set_draining(true);
  for (auto& a : acceptors) a->stop();
  std::mutex mutex;
  std::condition_variable idle_cv;
  std::size_t idle_workers = 0;
  for (auto& w : workers) {
    w->drain([&] {
      std::lock_guard lock(mutex);
      ++idle_workers;
      idle_cv.notify_all();
    });
  }
  bool drained = false;
  {
    std::unique_lock lock(mutex);
    drained = idle_cv.wait_for(lock, config.drain_timeout, [&] { return idle_workers == workers.size(); });
  }
  if (!drained) log_line("drain timeout: closing the remaining connections");
  for (auto& w : workers) w->stop();
  for (auto& w : workers) w->join();
  acceptors.clear();
  if (admin) admin->stop();
  access_log.flush_and_stop();
  log_line("stopped");
  return 0;
}

}  // namespace wsgate::gw
