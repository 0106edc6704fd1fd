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
#include "gateway/reload.hpp"
#include "gateway/snapshot.hpp"
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

Server::Server(std::shared_ptr<const Config> config, std::string config_path)
    : config_(std::move(config)), config_path_(std::move(config_path)) {}

Server::~Server() = default;

int Server::run() {
  const Config& config = *config_;
  unsigned worker_count = config.workers != 0 ? config.workers : std::max(1u, std::thread::hardware_concurrency());
  Metrics metrics(config, worker_count);
  std::vector<std::string> warnings;
  std::shared_ptr<const Snapshot> snapshot = build_snapshot(config_, 1, &metrics, warnings);
  for (const auto& w : warnings) log_line("warning: " + w);
  for (const auto& b : snapshot->backends) {
    std::vector<std::string> labels;
    for (const auto& e : b.endpoints) labels.push_back(e.label);
    metrics.set_backend_endpoints(b.index, std::move(labels));
  }
  AccessLog access_log(config.access_log);
  metrics.set_access_log_dropped([&access_log] { return access_log.dropped(); });

  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < worker_count; ++i) {
    workers.push_back(std::make_unique<Worker>(i, snapshot, &metrics, &access_log));
  }
  snapshot.reset();  // the workers and the reloader hold it from here

  Reloader reloader(config_path_, workers.front()->snapshot(), workers, metrics);
  reloader.bind_listeners();
  std::unique_ptr<AdminServer> admin;
  if (config.admin.enabled) {
    admin = std::make_unique<AdminServer>(config.admin.address, metrics);
    admin->set_reload_handler([&reloader] {
      ReloadOutcome outcome = reloader.reload("POST /-/reload");
      return ReloadAnswer{outcome.status, outcome.to_json()};
    });
    admin->start();
    log_line("admin listening on " + endpoint_text(admin->bound_endpoint()));
  }
  reloader.start_accepting();
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
      reloader.reload("SIGHUP");
      continue;
    }
    break;
  }
  // The drain time of the config running now (a reload may have changed it).
  const Millis drain_timeout = reloader.current()->config->drain_timeout;
  log_line(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ": draining (up to " +
           std::to_string(drain_timeout.count()) + " ms)");

  // Not ready from now on (load balancers stop sending); stop accepting, then
  // close 1001 on every WebSocket and wait for them to end.
  metrics.set_draining(true);
  reloader.stop_accepting();
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
    drained = idle_cv.wait_for(lock, drain_timeout, [&] { return idle_workers == workers.size(); });
  }
  if (!drained) log_line("drain timeout: closing the remaining connections");
  for (auto& w : workers) w->stop();
  for (auto& w : workers) w->join();
  // The admin thread may be in a reload: stop it before the reloader and workers go.
  if (admin) admin->stop();
  // Acceptors go before their workers' io_contexts, workers (and the sessions their
  // loops still hold) before the listener runtimes those sessions refer to.
  reloader.release_acceptors();
  workers.clear();
  access_log.flush_and_stop();
  log_line("stopped");
  return 0;
}

}  // namespace wsgate::gw
