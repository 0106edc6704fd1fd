// Worker: one thread, one io_context. A client connection and every upstream
// connection it opens live on the same worker, so the data path takes no locks.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gateway/backend.hpp"
#include "gateway/config.hpp"
#include "gateway/metrics.hpp"

namespace wsgate::gw {

class AccessLog;

// Something the worker must be able to drain or stop: a downstream session.
class Session {
 public:
  virtual ~Session() = default;
  virtual void go_away() = 0;  // graceful: close 1001 at frame boundaries / finish the answer
  virtual void abort() = 0;    // drain timeout passed: drop now
};

class Worker {
 public:
  // `metrics` (the whole process's, with this worker's slot at `index`) and
  // `access_log` may be null (tests, tools).
  Worker(std::size_t index, std::shared_ptr<const Config> config, const std::vector<BackendRuntime>& backends,
         Metrics* metrics = nullptr, AccessLog* access_log = nullptr);
  ~Worker();

  boost::asio::io_context& io() { return io_; }
  std::size_t index() const { return index_; }
  const std::shared_ptr<const Config>& config() const { return config_; }
  const std::vector<BackendRuntime>& backends() const { return backends_; }
  EndpointPicker& picker() { return picker_; }
  WorkerMetrics* metrics() { return worker_metrics_; }
  Metrics* process_metrics() { return metrics_; }
  AccessLog* access_log() { return access_log_; }
  bool draining() const { return draining_; }

  void start();  // runs the io_context on a new thread
  void join();

  // Called on the worker thread.
  std::uint64_t add_session(std::weak_ptr<Session> session);
  void remove_session(std::uint64_t id);
  std::size_t session_count() const { return sessions_.size(); }

  // Thread-safe: posted to the worker. `on_idle` runs (on the worker thread)
  // once no session is left.
  void drain(std::function<void()> on_idle);
  void stop();  // aborts every session and stops the loop

 private:
  void check_idle();

  std::size_t index_;
  std::shared_ptr<const Config> config_;
  const std::vector<BackendRuntime>& backends_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  EndpointPicker picker_;
  Metrics* metrics_;
  WorkerMetrics* worker_metrics_;
  AccessLog* access_log_;
  std::unordered_map<std::uint64_t, std::weak_ptr<Session>> sessions_;
  std::uint64_t next_session_id_ = 1;
  bool draining_ = false;
  std::function<void()> on_idle_;
};

}  // namespace wsgate::gw
