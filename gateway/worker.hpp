// Worker: one thread, one io_context. A client connection and every upstream
// connection it opens live on the same worker, so the data path takes no locks.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gateway/backend.hpp"
#include "gateway/config.hpp"
#include "gateway/metrics.hpp"
#include "gateway/snapshot.hpp"

namespace wsgate::gw {

class AccessLog;
struct ListenerRuntime;

// Something the worker must be able to drain or stop: a downstream session.
class Session {
 public:
  virtual ~Session() = default;
  virtual void go_away() = 0;  // graceful: close 1001 at frame boundaries / finish the answer
  virtual void abort() = 0;    // drain timeout passed: drop now
  // The listener that accepted the connection (a reload that removes it drains it).
  virtual const ListenerRuntime* listener() const { return nullptr; }
  // A reload removed or changed `backends` (names): close 1001 the WebSockets to
  // them that started on a snapshot older than `generation`.
  virtual void retire_backends(std::uint64_t /*generation*/, const std::vector<std::string>& /*backends*/) {}
};

// What a reload takes away from the running WebSockets, applied per worker.
struct Retirement {
  std::uint64_t generation = 0;                   // of the snapshot being published
  std::vector<const ListenerRuntime*> listeners;  // removed: go away now, aborted after `drain`
  std::vector<std::string> backends;              // removed or changed: close 1001 after `drain`
  std::vector<std::size_t> changed_backend_ids;   // endpoint health to forget
  std::chrono::milliseconds drain{0};
};

class Worker {
 public:
  // `metrics` (the whole process's, with this worker's slot at `index`) and
  // `access_log` may be null (tests, tools).
  Worker(std::size_t index, std::shared_ptr<const Snapshot> snapshot, Metrics* metrics = nullptr,
         AccessLog* access_log = nullptr);
  ~Worker();

  boost::asio::io_context& io() { return io_; }
  std::size_t index() const { return index_; }
  // The newest snapshot (worker thread only); a session keeps its own copy.
  const std::shared_ptr<const Snapshot>& snapshot() const { return snapshot_; }
  const std::shared_ptr<const Config>& config() const { return snapshot_->config; }
  const std::vector<BackendRuntime>& backends() const { return snapshot_->backends; }
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
  // Thread-safe: posted. New sessions and streams use `next` from then on;
  // `retire` says what running ones lose.
  void publish(std::shared_ptr<const Snapshot> next, Retirement retire);

 private:
  void check_idle();
  std::vector<std::shared_ptr<Session>> live_sessions() const;
  void after(std::chrono::milliseconds delay, std::function<void()> action);

  std::size_t index_;
  std::shared_ptr<const Snapshot> snapshot_;
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
