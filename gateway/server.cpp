// Server start-up, signal handling and graceful drain; see server.hpp.
#include "gateway/server.hpp"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "gateway/backend.hpp"
#include "gateway/listener.hpp"
#include "gateway/log.hpp"
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
  auto present = [&](const std::string& path) { return config.marks.count(path) != 0; };
  auto refuse = [&](const std::string& path, const std::string& what) {
    errors.push_back(config.error_at(path, what + " is not supported yet"));
  };
  if (present("admin")) refuse("admin", "the admin listener");
  if (present("access_log") && config.access_log.path != "off") refuse("access_log", "the access log");
  for (std::size_t i = 0; i < config.routes.size(); ++i) {
    const auto& r = config.routes[i];
    std::string base = "routes[" + std::to_string(i) + "]";
    if (r.keepalive.interval.count() != 0) refuse(base + ".keepalive", "keepalive");
    if (r.idle_timeout.count() != 0) refuse(base + ".idle_timeout", "idle_timeout");
    if (r.compression == Compression::kTerminate) refuse(base + ".compression", "compression: terminate");
    if (r.static_dir) refuse(base + ".static", "static");
  }
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
    auto offers = [&](std::string_view p) {
      return std::find(lc.protocols.begin(), lc.protocols.end(), p) != lc.protocols.end();
    };
    rt->h2 = lc.tls && offers("h2");
    rt->h2c = !lc.tls && offers("h2c");
    if (lc.tls) rt->tls = make_listener_tls(lc, rt->h2);
    listeners.push_back(std::move(rt));
  }

  unsigned worker_count = config.workers != 0 ? config.workers : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < worker_count; ++i) workers.push_back(std::make_unique<Worker>(i, config_, backends));

  std::vector<std::shared_ptr<Acceptor>> acceptors;
  for (auto& rt : listeners) {
    for (auto& w : workers) acceptors.push_back(std::make_shared<Acceptor>(*w, *rt));
    log_line("listener " + rt->config->name + " listening on " + endpoint_text(rt->bound) +
             (rt->tls ? " (tls)" : ""));
  }
  for (auto& a : acceptors) a->start();
  for (auto& w : workers) w->start();
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

  // Stop accepting, then close 1001 on every WebSocket and wait for them to end.
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
  log_line("stopped");
  return 0;
}

}  // namespace wsgate::gw
