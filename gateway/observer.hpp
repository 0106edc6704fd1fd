// What one WebSocket attempt reports, from its handshake answer to its end:
// the per-worker metrics and one access-log line. Shared by both front ends.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "gateway/metrics.hpp"
#include "gateway/relay.hpp"

namespace wsgate::gw {

class Worker;
struct ListenerRuntime;
struct Snapshot;

class StreamObserver {
 public:
  StreamObserver(Worker& worker, const ListenerRuntime& listener, Protocol protocol, std::string client_address,
                 std::uint32_t h2_stream_id = 0);

  // `route` from `snapshot`'s config, or null (no route matched).
  void set_route(const RouteConfig* route, const Snapshot& snapshot);
  void set_backend_endpoint(std::string endpoint) { backend_endpoint_ = std::move(endpoint); }
  std::optional<std::size_t> route_index() const { return route_index_; }

  // The handshake was refused with `status` (not upgraded): counted and logged.
  void rejected(int status, std::string_view error = {});
  // The WebSocket is open (101 on h1, 200 on h2).
  void upgraded(int status);
  // The relay ended.
  void ended(const RelayResult& result);

 private:
  void log(const RelayResult* result, std::string_view error);
  double seconds_since_start() const;

  Worker& worker_;
  const ListenerRuntime& listener_;
  Protocol protocol_;
  std::string client_address_;
  std::uint32_t h2_stream_id_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::optional<std::size_t> route_index_;
  std::string route_name_;
  std::string backend_endpoint_;
  int status_ = 0;
  bool upgraded_ = false;
  bool done_ = false;
};

}  // namespace wsgate::gw
