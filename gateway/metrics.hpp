// Metrics: per-worker single-writer counters and histograms, folded at scrape
// time into the Prometheus text exposition format 0.0.4 (see docs/observability.md).
// The data path touches only its own worker's cells: a relaxed load + store each.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config.hpp"

namespace wsgate::gw {

enum class Protocol : std::uint8_t { kH1, kH2 };
enum class FlowDirection : std::uint8_t { kClientToBackend, kBackendToClient };
enum class CloseInitiator : std::uint8_t { kClient, kBackend, kGateway };
// Why the gateway ended a WebSocket on its own.
enum class StreamTimeout : std::uint8_t {
  kClientKeepalive,   // the client did not answer a keep-alive PING in time
  kBackendKeepalive,  // the backend did not answer a keep-alive PING in time
  kIdle,              // no data message either way for idle_timeout
  kClose,             // a peer did not finish the close handshake within close_timeout
  kWriteStall,        // a side took no bytes for write_stall_timeout
};
constexpr std::size_t kStreamTimeoutKinds = 5;

std::string_view to_string(Protocol protocol);         // "h1", "h2"
std::string_view to_string(FlowDirection direction);   // "client_to_backend", "backend_to_client"
std::string_view to_string(StreamTimeout kind);        // "client_keepalive", "idle", ...
std::string_view to_string(CloseInitiator initiator);  // "client", "backend", "gateway"

// Bounded label values. Each maps an open-ended number onto a small fixed set.
// Handshake status: 101 200 400 401 403 404 405 408 426 429 431 500 502 503 504 505
// individually, anything else to its class ("1xx".."5xx") or "other".
std::string_view handshake_code_label(int status);
// WebSocket close code: 1000..1015 individually, "3xxx", "4xxx", else "other".
std::string_view close_code_label(std::uint16_t code);
// HTTP/2 error code (RFC 9113 §7): "NO_ERROR".."HTTP_1_1_REQUIRED", else "other".
std::string_view h2_error_code_label(std::uint32_t code);
// Upstream connect error reason: refused|timeout|tls|bad_answer|no_endpoint, else "other".
std::string_view upstream_error_label(std::string_view reason);

// A counter with exactly one writing thread: add() is a relaxed load + store
// (no lock prefix on x86), readers on other threads use load().
class LocalCounter {
 public:
  void add(std::uint64_t n) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t load() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Single-writer histogram cells for one label set: a count per bucket (not
// cumulative; the last cell is +Inf) and the sum of observations.
class LocalHistogram {
 public:
  explicit LocalHistogram(std::span<const double> bounds);
  LocalHistogram(LocalHistogram&&) noexcept;
  LocalHistogram& operator=(LocalHistogram&&) noexcept;

  void observe(double value);
  std::span<const double> bounds() const { return bounds_; }
  // Observations in bucket `index` alone (not cumulative); index == bounds().size() is +Inf.
  std::uint64_t bucket(std::size_t index) const { return buckets_[index].load(); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::span<const double> bounds_;           // upper bounds, ascending, static storage
  std::unique_ptr<LocalCounter[]> buckets_;  // bounds_.size() + 1 cells
  std::atomic<double> sum_{0.0};
};

// The fixed bucket sets (upper bounds in seconds or streams).
std::span<const double> websocket_duration_buckets();  // 0.001 s .. 86400 s
std::span<const double> handshake_duration_buckets();  // 0.0005 s .. 30 s
std::span<const double> upstream_connect_buckets();    // 0.0005 s .. 30 s
std::span<const double> h2_streams_buckets();          // 1 .. 10000 streams

// Sizes of the label dimensions, fixed for one Config.
struct MetricsShape {
  std::size_t listeners = 0;
  std::size_t routes = 0;
  std::size_t backends = 0;
};

class WorkerMetrics {  // one per worker, written only by that worker's thread
 public:
  explicit WorkerMetrics(const MetricsShape& shape);
  WorkerMetrics(const WorkerMetrics&) = delete;
  WorkerMetrics& operator=(const WorkerMetrics&) = delete;

  // Out-of-range indexes are ignored (never a crash on the data path).
  void connection_opened(std::size_t listener, Protocol p);
  void connection_closed(std::size_t listener, Protocol p);
  void stream_opened(std::size_t route, Protocol p);  // a WebSocket was upgraded
  void stream_closed(std::size_t route, Protocol p, double duration_seconds);
  // Every handshake answered: route = nullopt when no route matched (label route="none").
  void handshake(std::optional<std::size_t> route, Protocol p, int status, double seconds);
  void traffic(std::size_t route, FlowDirection d, std::uint64_t frames, std::uint64_t messages,
               std::uint64_t bytes);
  // `code`: the close code seen or sent; 1005 when a close frame had none, 1006 when no close frame.
  void close(std::size_t route, CloseInitiator who, std::uint16_t code);
  void timeout(std::size_t route, StreamTimeout kind);
  // A client connection closed at once because its listener was at max_connections.
  void connection_rejected(std::size_t listener);
  void upstream_connect(std::size_t backend, double seconds);
  // reason: refused|timeout|tls|bad_answer|no_endpoint|other (anything else counts as other).
  void upstream_connect_error(std::size_t backend, std::string_view reason);
  // Observed when an h2 connection ends.
  void h2_connection_streams(std::uint64_t streams_in_connection);
  void h2_goaway(bool sent, std::uint32_t error_code);
  void h2_rst_stream(bool sent, std::uint32_t error_code);

 private:
  friend class Metrics;

  MetricsShape shape_;
  // Index helpers into the flat arrays below.
  std::size_t conn_index(std::size_t listener, Protocol p) const {
    return listener * 2 + static_cast<std::size_t>(p);
  }
  std::size_t stream_index(std::size_t route, Protocol p) const {
    return route * 2 + static_cast<std::size_t>(p);
  }

  std::unique_ptr<LocalCounter[]> conn_opened_;      // [listener][protocol]
  std::unique_ptr<LocalCounter[]> conn_closed_;      // [listener][protocol]
  std::unique_ptr<LocalCounter[]> stream_opened_;    // [route][protocol]
  std::unique_ptr<LocalCounter[]> stream_closed_;    // [route][protocol]
  std::unique_ptr<LocalCounter[]> handshakes_;       // [route + 1 ("none" last)][protocol][code slot]
  std::unique_ptr<LocalCounter[]> traffic_;          // [route][direction][frames, messages, bytes]
  std::unique_ptr<LocalCounter[]> closes_;           // [route][initiator][close code slot]
  std::unique_ptr<LocalCounter[]> timeouts_;         // [route][StreamTimeout]
  std::unique_ptr<LocalCounter[]> conn_rejected_;    // [listener]
  std::unique_ptr<LocalCounter[]> upstream_errors_;  // [backend][reason slot]
  std::unique_ptr<LocalCounter[]> h2_goaways_;       // [sent, received][h2 code slot]
  std::unique_ptr<LocalCounter[]> h2_rst_streams_;   // [sent, received][h2 code slot]
  std::vector<LocalHistogram> stream_duration_;      // [route]
  std::vector<LocalHistogram> handshake_duration_;   // [route + 1 ("none" last)]
  std::vector<LocalHistogram> upstream_connect_;     // [backend]
  LocalHistogram h2_streams_;
};

// What the status page shows; plain values, taken at one moment.
struct ListenerStatus {
  std::string name;
  std::string address;  // as configured, "0.0.0.0:8080"
  bool tls = false;
  std::vector<std::string> protocols;  // "http/1.1", "h2", "h2c"
  std::uint64_t open_connections = 0;
  std::uint64_t connections_total = 0;
};

struct RouteStatus {
  std::string name;
  std::string match;  // "host a.example.com, prefix /chat"
  std::string backend;
  std::uint64_t open_streams = 0;
  std::uint64_t streams_total = 0;
  std::uint64_t handshakes_total = 0;
  std::uint64_t handshakes_failed = 0;  // answered with anything but 101/200
  std::uint64_t messages_client_to_backend = 0;
  std::uint64_t messages_backend_to_client = 0;
  std::uint64_t bytes_client_to_backend = 0;
  std::uint64_t bytes_backend_to_client = 0;
};

struct EndpointStatus {
  std::string address;
  bool healthy = true;
};

struct BackendStatus {
  std::string name;
  std::string protocol;  // "http/1.1", "h2", "auto"
  bool tls = false;
  std::vector<EndpointStatus> endpoints;
  std::uint64_t connect_errors = 0;
};

struct StatusSnapshot {
  std::string version;
  double uptime_seconds = 0;
  double start_time_seconds = 0;  // Unix time
  std::size_t workers = 0;
  bool draining = false;
  bool ready = false;
  std::uint64_t open_connections = 0;
  std::uint64_t open_streams = 0;
  std::uint64_t streams_total = 0;
  std::uint64_t access_log_dropped = 0;
  std::vector<ListenerStatus> listeners;
  std::vector<RouteStatus> routes;
  std::vector<BackendStatus> backends;
};

class Metrics {  // process-wide
 public:
  Metrics(const Config& config, std::size_t workers);  // names of listeners/routes/backends from config
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  std::size_t worker_count() const { return workers_.size(); }
  WorkerMetrics& worker(std::size_t index);  // index < worker_count()

  // Any thread, rare. Endpoint indexes follow BackendRuntime::endpoints; by default the configured
  // endpoints are listed (all healthy). set_backend_endpoints replaces the list, e.g. with the
  // resolved labels when an endpoint did not resolve.
  void set_backend_endpoints(std::size_t backend, std::vector<std::string> labels);
  void set_endpoint_healthy(std::size_t backend, std::size_t endpoint, bool healthy);

  void set_draining(bool draining);
  bool draining() const;
  void set_listeners_bound(bool bound);
  bool ready() const;  // listeners bound and not draining

  // Source of wsgate_access_log_dropped_total (e.g. [&log] { return log.dropped(); }). Any thread.
  void set_access_log_dropped(std::function<std::uint64_t()> read_dropped);

  std::string render_prometheus() const;  // text exposition format 0.0.4
  StatusSnapshot snapshot() const;        // for the status page

  static std::string_view version();  // WSGATE_VERSION

 private:
  struct EndpointState {
    std::string label;
    bool healthy = true;
  };

  MetricsShape shape_;
  std::vector<std::string> listener_names_;
  std::vector<std::string> route_names_;
  std::vector<std::string> backend_names_;
  std::vector<ListenerStatus> listener_info_;  // static parts for the status page
  std::vector<RouteStatus> route_info_;
  std::vector<BackendStatus> backend_info_;
  std::vector<std::unique_ptr<WorkerMetrics>> workers_;
  std::chrono::steady_clock::time_point started_;
  double start_time_seconds_ = 0;  // process start (from /proc), Unix time

  mutable std::mutex mutex_;                           // guards the members below
  std::vector<std::vector<EndpointState>> endpoints_;  // [backend][endpoint]
  std::function<std::uint64_t()> read_access_log_dropped_;

  std::atomic<bool> draining_{false};
  std::atomic<bool> listeners_bound_{false};
};

}  // namespace wsgate::gw
