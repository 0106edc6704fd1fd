// Admin listener: /metrics (Prometheus text 0.0.4), /healthz, /readyz, the status
// page (/ and /status.json), POST /-/reload. One dedicated thread with its own io_context, HTTP/1.1
// with keep-alive, bounded: head size, read/idle/write timeouts, connection count.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "gateway/config.hpp"
#include "gateway/metrics.hpp"

namespace wsgate::gw {

struct AdminLimits {
  std::size_t max_connections = 64;
  std::size_t max_head_bytes = 8 * 1024;          // larger heads are answered 431
  std::chrono::milliseconds head_timeout{10000};  // first byte of a request to its last head byte
  std::chrono::milliseconds idle_timeout{75000};  // keep-alive wait for the next request (Prometheus reuses)
  std::chrono::milliseconds write_timeout{10000};
};

// The answer to POST /-/reload: HTTP status and a JSON body.
struct ReloadAnswer {
  int status = 200;
  std::string json;
};

class AdminServer {
 public:
  // `status_json_extra`: returns a JSON value added to /status.json as "extra" (called on the admin thread).
  AdminServer(const HostPort& address, Metrics& metrics, std::function<std::string()> status_json_extra = {},
              AdminLimits limits = {});
  ~AdminServer();  // stop()
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and listens on the caller's thread, then serves on a new thread.
  // Throws std::runtime_error naming the address when it cannot bind. Port 0 picks a free port.
  void start();
  // Serves POST /-/reload with `reload` (run on the admin thread; it may block
  // for DNS). Without one, /-/reload is 404. Call before start().
  void set_reload_handler(std::function<ReloadAnswer()> reload);
  boost::asio::ip::tcp::endpoint bound_endpoint() const;  // valid after start()
  // Stops the thread and closes every connection. Idempotent; any thread but the admin thread.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wsgate::gw
