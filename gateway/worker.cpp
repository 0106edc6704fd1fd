// Worker thread and session registry; see worker.hpp.
#include "gateway/worker.hpp"

#include <boost/asio/post.hpp>

namespace wsgate::gw {

Worker::Worker(std::size_t index, std::shared_ptr<const Config> config, const std::vector<BackendRuntime>& backends,
               Metrics* metrics, AccessLog* access_log)
    : index_(index),
      config_(std::move(config)),
      backends_(backends),
      io_(1),
      work_(boost::asio::make_work_guard(io_)),
      picker_(backends.size()),
      metrics_(metrics),
      worker_metrics_(metrics != nullptr ? &metrics->worker(index) : nullptr),
      access_log_(access_log) {
  if (metrics_ != nullptr) {
    // Endpoint health is shared state for the status page: update it only when it changes.
    picker_.set_health_listener([m = metrics_](std::size_t backend, std::size_t endpoint, bool healthy) {
      m->set_endpoint_healthy(backend, endpoint, healthy);
    });
  }
}

Worker::~Worker() { join(); }

void Worker::start() {
  thread_ = std::thread([this] { io_.run(); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

std::uint64_t Worker::add_session(std::weak_ptr<Session> session) {
  std::uint64_t id = next_session_id_++;
  sessions_.emplace(id, std::move(session));
  return id;
}

void Worker::remove_session(std::uint64_t id) {
  sessions_.erase(id);
  check_idle();
}

void Worker::drain(std::function<void()> on_idle) {
  boost::asio::post(io_, [this, on_idle = std::move(on_idle)]() mutable {
    draining_ = true;
    on_idle_ = std::move(on_idle);
    // Copy first: go_away may end sessions, which erases them from the map.
    std::vector<std::shared_ptr<Session>> live;
    for (auto& [id, weak] : sessions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->go_away();
    check_idle();
  });
}

void Worker::stop() {
  boost::asio::post(io_, [this] {
    std::vector<std::shared_ptr<Session>> live;
    for (auto& [id, weak] : sessions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->abort();
    sessions_.clear();
    work_.reset();
    io_.stop();
  });
}

void Worker::check_idle() {
  if (!draining_ || !sessions_.empty() || !on_idle_) return;
  auto on_idle = std::move(on_idle_);
  on_idle_ = nullptr;
  on_idle();
}

}  // namespace wsgate::gw
