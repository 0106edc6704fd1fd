// Worker thread and session registry; see worker.hpp.
#include "gateway/worker.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace wsgate::gw {

Worker::Worker(std::size_t index, std::shared_ptr<const Snapshot> snapshot, Metrics* metrics,
               AccessLog* access_log)
    : index_(index),
      snapshot_(std::move(snapshot)),
      io_(1),
      work_(boost::asio::make_work_guard(io_)),
      picker_(snapshot_->backends.size()),
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
    for (auto& s : live_sessions()) s->go_away();
    check_idle();
  });
}

void Worker::stop() {
  boost::asio::post(io_, [this] {
    for (auto& s : live_sessions()) s->abort();
    sessions_.clear();
    work_.reset();
    io_.stop();
  });
}

// Copied first: go_away/abort may end sessions, which erases them from the map.
std::vector<std::shared_ptr<Session>> Worker::live_sessions() const {
  std::vector<std::shared_ptr<Session>> live;
  for (const auto& [id, weak] : sessions_) {
    if (auto s = weak.lock()) live.push_back(std::move(s));
  }
  return live;
}

void Worker::after(std::chrono::milliseconds delay, std::function<void()> action) {
  // The timer owns itself through its handler; stop() ends the loop and with it any still pending.
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, delay);
  timer->async_wait([timer, action = std::move(action)](const boost::system::error_code& ec) {
    if (!ec) action();
  });
}

void Worker::publish(std::shared_ptr<const Snapshot> next, Retirement retire) {
  boost::asio::post(io_, [this, next = std::move(next), retire = std::move(retire)]() mutable {
    snapshot_ = std::move(next);
    for (std::size_t id : retire.changed_backend_ids) picker_.forget(id);
    if (!retire.listeners.empty()) {
      // A removed listener drains like SIGTERM: go away now, drop what is left after the drain time.
      auto on_removed = [listeners = retire.listeners](const Session& s) {
        return std::find(listeners.begin(), listeners.end(), s.listener()) != listeners.end();
      };
      for (auto& s : live_sessions()) {
        if (on_removed(*s)) s->go_away();
      }
      after(retire.drain, [this, on_removed] {
        for (auto& s : live_sessions()) {
          if (on_removed(*s)) s->abort();
        }
      });
    }
    if (!retire.backends.empty()) {
      // WebSockets to a removed or changed backend may finish by themselves for the drain time, then get
      // 1001.
      after(retire.drain, [this, generation = retire.generation, backends = std::move(retire.backends)] {
        for (auto& s : live_sessions()) s->retire_backends(generation, backends);
      });
    }
  });
}

void Worker::check_idle() {
  if (!draining_ || !sessions_.empty() || !on_idle_) return;
  auto on_idle = std::move(on_idle_);
  on_idle_ = nullptr;
  on_idle();
}

}  // namespace wsgate::gw
