// Metrics: per-worker cells and the scrape-time fold into prometheus-cpp
// MetricFamily values serialised by its TextSerializer; see metrics.hpp.
#include "gateway/metrics.hpp"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <limits>

#include "gateway/process_stats.hpp"

#ifndef WSGATE_VERSION
#define WSGATE_VERSION "unknown"
#endif

namespace wsgate::gw {

namespace {

constexpr std::size_t kProtocols = 2;
constexpr std::size_t kDirections = 2;
constexpr std::size_t kInitiators = 3;
constexpr std::size_t kTrafficKinds = 3;  // frames, messages, bytes

// Handshake answers worth a label of their own (the gateway's own answers and
// the usual backend ones); anything else folds to its class.
constexpr std::array<int, 16> kHandshakeCodes = {101, 200, 400, 401, 403, 404, 405, 408,
                                                 426, 429, 431, 500, 502, 503, 504, 505};
constexpr std::array<std::string_view, 16> kHandshakeCodeNames = {"101", "200", "400", "401", "403", "404",
                                                                  "405", "408", "426", "429", "431", "500",
                                                                  "502", "503", "504", "505"};
constexpr std::array<std::string_view, 6> kStatusClassNames = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
constexpr std::size_t kHandshakeSlots = kHandshakeCodes.size() + kStatusClassNames.size();

// RFC 6455 §7.4.1 and the IANA registry: 1000..1015 are named individually.
constexpr std::array<std::string_view, 19> kCloseCodeNames = {
    "1000", "1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008", "1009",
    "1010", "1011", "1012", "1013", "1014", "1015", "3xxx", "4xxx", "other"};
constexpr std::size_t kCloseSlots = kCloseCodeNames.size();

// RFC 9113 §7 error codes 0x0..0xd.
constexpr std::array<std::string_view, 15> kH2ErrorNames = {"NO_ERROR",
                                                            "PROTOCOL_ERROR",
                                                            "INTERNAL_ERROR",
                                                            "FLOW_CONTROL_ERROR",
                                                            "SETTINGS_TIMEOUT",
                                                            "STREAM_CLOSED",
                                                            "FRAME_SIZE_ERROR",
                                                            "REFUSED_STREAM",
                                                            "CANCEL",
                                                            "COMPRESSION_ERROR",
                                                            "CONNECT_ERROR",
                                                            "ENHANCE_YOUR_CALM",
                                                            "INADEQUATE_SECURITY",
                                                            "HTTP_1_1_REQUIRED",
                                                            "other"};
constexpr std::size_t kH2ErrorSlots = kH2ErrorNames.size();

constexpr std::array<std::string_view, 6> kUpstreamReasons = {"refused",    "timeout",     "tls",
                                                              "bad_answer", "no_endpoint", "other"};
constexpr std::size_t kReasonSlots = kUpstreamReasons.size();

constexpr std::array<double, 15> kWebSocketDurationBuckets = {0.001, 0.01, 0.1, 0.5,  1,    5,     10,   30,
                                                              60,    300,  600, 1800, 3600, 14400, 86400};
constexpr std::array<double, 15> kHandshakeBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                      0.25,   0.5,   1,      2.5,   5,    10,    30};
constexpr std::array<double, 12> kH2StreamsBuckets = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000};

std::size_t handshake_slot(int status) {
  for (std::size_t i = 0; i < kHandshakeCodes.size(); ++i) {
    if (kHandshakeCodes[i] == status) return i;
  }
  if (status >= 100 && status <= 599)
    return kHandshakeCodes.size() + static_cast<std::size_t>(status / 100 - 1);
  return kHandshakeSlots - 1;
}

std::size_t close_slot(std::uint16_t code) {
  if (code >= 1000 && code <= 1015) return code - 1000u;
  if (code >= 3000 && code <= 3999) return 16;
  if (code >= 4000 && code <= 4999) return 17;
  return 18;
}

std::size_t h2_error_slot(std::uint32_t code) { return code < kH2ErrorSlots - 1 ? code : kH2ErrorSlots - 1; }

std::size_t upstream_reason_slot(std::string_view reason) {
  for (std::size_t i = 0; i + 1 < kUpstreamReasons.size(); ++i) {
    if (kUpstreamReasons[i] == reason) return i;
  }
  return kReasonSlots - 1;
}

std::unique_ptr<LocalCounter[]> make_counters(std::size_t n) { return std::make_unique<LocalCounter[]>(n); }

std::vector<LocalHistogram> make_histograms(std::size_t n, std::span<const double> bounds) {
  std::vector<LocalHistogram> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.emplace_back(bounds);
  return out;
}

std::string_view backend_protocol_text(BackendProtocol p) {
  switch (p) {
    case BackendProtocol::kHttp1:
      return "http/1.1";
    case BackendProtocol::kH2:
      return "h2";
    case BackendProtocol::kAuto:
      return "auto";
  }
  return "http/1.1";
}

std::string route_match_text(const RouteConfig& r) {
  std::string out;
  if (r.host) out += "host " + *r.host;
  auto add = [&](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
  if (r.path) add("path " + *r.path);
  if (r.path_prefix) add("prefix " + *r.path_prefix);
  if (!r.path && !r.path_prefix) add("prefix /");
  return out;
}

// Builders for the scrape-time families.
using Labels = std::vector<prometheus::ClientMetric::Label>;

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void add_counter(prometheus::MetricFamily& f, Labels labels, double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = value;
  f.metric.push_back(std::move(m));
}

void add_gauge(prometheus::MetricFamily& f, Labels labels, double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

// Sums one histogram cell across workers into cumulative buckets.
template <typename Select>
void add_histogram(prometheus::MetricFamily& f, Labels labels, std::span<const double> bounds,
                   const std::vector<std::unique_ptr<WorkerMetrics>>& workers, Select select) {
  std::vector<std::uint64_t> counts(bounds.size() + 1, 0);
  double sum = 0;
  for (const auto& w : workers) {
    const LocalHistogram& h = select(*w);
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += h.bucket(i);
    sum += h.sum();
  }
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    double bound = i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back({cumulative, bound});
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = sum;
  f.metric.push_back(std::move(m));
}

std::string label_text(std::string_view v) { return std::string(v); }

}  // namespace

std::string_view to_string(Protocol protocol) { return protocol == Protocol::kH2 ? "h2" : "h1"; }

std::string_view to_string(FlowDirection direction) {
  return direction == FlowDirection::kClientToBackend ? "client_to_backend" : "backend_to_client";
}

std::string_view to_string(StreamTimeout kind) {
  switch (kind) {
    case StreamTimeout::kClientKeepalive:
      return "client_keepalive";
    case StreamTimeout::kBackendKeepalive:
      return "backend_keepalive";
    case StreamTimeout::kIdle:
      return "idle";
    case StreamTimeout::kClose:
      return "close";
    case StreamTimeout::kWriteStall:
      return "write_stall";
  }
  return "unknown";
}

std::string_view to_string(CloseInitiator initiator) {
  switch (initiator) {
    case CloseInitiator::kClient:
      return "client";
    case CloseInitiator::kBackend:
      return "backend";
    case CloseInitiator::kGateway:
      return "gateway";
  }
  return "gateway";
}

std::string_view handshake_code_label(int status) {
  std::size_t slot = handshake_slot(status);
  if (slot < kHandshakeCodes.size()) return kHandshakeCodeNames[slot];
  return kStatusClassNames[slot - kHandshakeCodes.size()];
}

std::string_view close_code_label(std::uint16_t code) { return kCloseCodeNames[close_slot(code)]; }

std::string_view h2_error_code_label(std::uint32_t code) { return kH2ErrorNames[h2_error_slot(code)]; }

std::string_view upstream_error_label(std::string_view reason) {
  return kUpstreamReasons[upstream_reason_slot(reason)];
}

std::span<const double> websocket_duration_buckets() { return kWebSocketDurationBuckets; }
std::span<const double> handshake_duration_buckets() { return kHandshakeBuckets; }
std::span<const double> upstream_connect_buckets() { return kHandshakeBuckets; }
std::span<const double> h2_streams_buckets() { return kH2StreamsBuckets; }

// LocalHistogram

LocalHistogram::LocalHistogram(std::span<const double> bounds)
    : bounds_(bounds), buckets_(std::make_unique<LocalCounter[]>(bounds.size() + 1)) {}

// Moves happen only while the owning vectors are built, before any other thread reads.
LocalHistogram::LocalHistogram(LocalHistogram&& other) noexcept
    : bounds_(other.bounds_), buckets_(std::move(other.buckets_)), sum_(other.sum()) {}

LocalHistogram& LocalHistogram::operator=(LocalHistogram&& other) noexcept {
  bounds_ = other.bounds_;
  buckets_ = std::move(other.buckets_);
  sum_.store(other.sum(), std::memory_order_relaxed);
  return *this;
}

void LocalHistogram::observe(double value) {
  // Prometheus buckets are "less than or equal": the first bound >= value.
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].add(1);
  sum_.store(sum_.load(std::memory_order_relaxed) + value, std::memory_order_relaxed);
}

// WorkerMetrics

WorkerMetrics::WorkerMetrics(const MetricsShape& shape)
    : shape_(shape),
      conn_opened_(make_counters(shape.listeners * kProtocols)),
      conn_closed_(make_counters(shape.listeners * kProtocols)),
      stream_opened_(make_counters(shape.routes * kProtocols)),
      stream_closed_(make_counters(shape.routes * kProtocols)),
      handshakes_(make_counters((shape.routes + 1) * kProtocols * kHandshakeSlots)),
      traffic_(make_counters(shape.routes * kDirections * kTrafficKinds)),
      closes_(make_counters(shape.routes * kInitiators * kCloseSlots)),
      timeouts_(make_counters(shape.routes * kStreamTimeoutKinds)),
      conn_rejected_(make_counters(shape.listeners)),
      upstream_errors_(make_counters(shape.backends * kReasonSlots)),
      h2_goaways_(make_counters(2 * kH2ErrorSlots)),
      h2_rst_streams_(make_counters(2 * kH2ErrorSlots)),
      stream_duration_(make_histograms(shape.routes, kWebSocketDurationBuckets)),
      handshake_duration_(make_histograms(shape.routes + 1, kHandshakeBuckets)),
      upstream_connect_(make_histograms(shape.backends, kHandshakeBuckets)),
      h2_streams_(kH2StreamsBuckets) {}

void WorkerMetrics::connection_opened(std::size_t listener, Protocol p) {
  if (listener < shape_.listeners) conn_opened_[conn_index(listener, p)].add(1);
}

void WorkerMetrics::connection_closed(std::size_t listener, Protocol p) {
  if (listener < shape_.listeners) conn_closed_[conn_index(listener, p)].add(1);
}

void WorkerMetrics::stream_opened(std::size_t route, Protocol p) {
  if (route < shape_.routes) stream_opened_[stream_index(route, p)].add(1);
}

void WorkerMetrics::stream_closed(std::size_t route, Protocol p, double duration_seconds) {
  if (route >= shape_.routes) return;
  stream_closed_[stream_index(route, p)].add(1);
  stream_duration_[route].observe(duration_seconds);
}

void WorkerMetrics::handshake(std::optional<std::size_t> route, Protocol p, int status, double seconds) {
  std::size_t r = route && *route < shape_.routes ? *route : shape_.routes;  // the last row is "none"
  handshakes_[(r * kProtocols + static_cast<std::size_t>(p)) * kHandshakeSlots + handshake_slot(status)].add(
      1);
  handshake_duration_[r].observe(seconds);
}

void WorkerMetrics::traffic(std::size_t route, FlowDirection d, std::uint64_t frames, std::uint64_t messages,
                            std::uint64_t bytes) {
  if (route >= shape_.routes) return;
  LocalCounter* cells = &traffic_[(route * kDirections + static_cast<std::size_t>(d)) * kTrafficKinds];
  if (frames != 0) cells[0].add(frames);
  if (messages != 0) cells[1].add(messages);
  if (bytes != 0) cells[2].add(bytes);
}

void WorkerMetrics::close(std::size_t route, CloseInitiator who, std::uint16_t code) {
  if (route >= shape_.routes) return;
  closes_[(route * kInitiators + static_cast<std::size_t>(who)) * kCloseSlots + close_slot(code)].add(1);
}

void WorkerMetrics::timeout(std::size_t route, StreamTimeout kind) {
  if (route < shape_.routes) timeouts_[route * kStreamTimeoutKinds + static_cast<std::size_t>(kind)].add(1);
}

void WorkerMetrics::connection_rejected(std::size_t listener) {
  if (listener < shape_.listeners) conn_rejected_[listener].add(1);
}

void WorkerMetrics::upstream_connect(std::size_t backend, double seconds) {
  if (backend < shape_.backends) upstream_connect_[backend].observe(seconds);
}

void WorkerMetrics::upstream_connect_error(std::size_t backend, std::string_view reason) {
  if (backend < shape_.backends)
    upstream_errors_[backend * kReasonSlots + upstream_reason_slot(reason)].add(1);
}

void WorkerMetrics::h2_connection_streams(std::uint64_t streams_in_connection) {
  h2_streams_.observe(static_cast<double>(streams_in_connection));
}

void WorkerMetrics::h2_goaway(bool sent, std::uint32_t error_code) {
  h2_goaways_[(sent ? 0 : 1) * kH2ErrorSlots + h2_error_slot(error_code)].add(1);
}

void WorkerMetrics::h2_rst_stream(bool sent, std::uint32_t error_code) {
  h2_rst_streams_[(sent ? 0 : 1) * kH2ErrorSlots + h2_error_slot(error_code)].add(1);
}

// Metrics

Metrics::Metrics(const Config& config, std::size_t workers)
    : shape_{config.listeners.size(), config.routes.size(), config.backends.size()},
      started_(std::chrono::steady_clock::now()) {
  for (const auto& l : config.listeners) {
    listener_names_.push_back(l.name);
    ListenerStatus s;
    s.name = l.name;
    s.address = l.address.to_string();
    s.tls = l.tls.has_value();
    s.protocols = l.protocols;
    listener_info_.push_back(std::move(s));
  }
  for (const auto& r : config.routes) {
    route_names_.push_back(r.name);
    RouteStatus s;
    s.name = r.name;
    s.match = route_match_text(r);
    s.backend = r.backend;
    route_info_.push_back(std::move(s));
  }
  for (const auto& b : config.backends) {
    backend_names_.push_back(b.name);
    BackendStatus s;
    s.name = b.name;
    s.protocol = std::string(backend_protocol_text(b.protocol));
    s.tls = b.tls.has_value();
    backend_info_.push_back(std::move(s));
    std::vector<EndpointState> endpoints;
    for (const auto& e : b.endpoints) endpoints.push_back({e.to_string(), true});
    endpoints_.push_back(std::move(endpoints));
  }
  for (std::size_t i = 0; i < std::max<std::size_t>(workers, 1); ++i) {
    workers_.push_back(std::make_unique<WorkerMetrics>(shape_));
  }
  auto process = read_process_stats();
  if (process && process->start_time_seconds > 0) {
    start_time_seconds_ = process->start_time_seconds;
  } else {
    start_time_seconds_ =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
}

Metrics::~Metrics() = default;

WorkerMetrics& Metrics::worker(std::size_t index) { return *workers_.at(index); }

void Metrics::set_backend_endpoints(std::size_t backend, std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  if (backend >= endpoints_.size()) return;
  std::vector<EndpointState> endpoints;
  for (auto& l : labels) endpoints.push_back({std::move(l), true});
  endpoints_[backend] = std::move(endpoints);
}

void Metrics::set_endpoint_healthy(std::size_t backend, std::size_t endpoint, bool healthy) {
  std::lock_guard lock(mutex_);
  if (backend >= endpoints_.size()) return;
  auto& list = endpoints_[backend];
  while (list.size() <= endpoint) list.push_back({"endpoint " + std::to_string(list.size()), true});
  list[endpoint].healthy = healthy;
}

void Metrics::set_draining(bool draining) { draining_.store(draining, std::memory_order_relaxed); }
bool Metrics::draining() const { return draining_.load(std::memory_order_relaxed); }
void Metrics::set_listeners_bound(bool bound) { listeners_bound_.store(bound, std::memory_order_relaxed); }
bool Metrics::ready() const { return listeners_bound_.load(std::memory_order_relaxed) && !draining(); }

void Metrics::set_access_log_dropped(std::function<std::uint64_t()> read_dropped) {
  std::lock_guard lock(mutex_);
  read_access_log_dropped_ = std::move(read_dropped);
}

std::string_view Metrics::version() { return WSGATE_VERSION; }

std::string Metrics::render_prometheus() const {
  using prometheus::MetricType;
  const std::size_t routes = shape_.routes;
  auto sum = [&](auto cell) {  // cell(WorkerMetrics&) -> const LocalCounter&
    std::uint64_t total = 0;
    for (const auto& w : workers_) total += cell(*w).load();
    return total;
  };
  // Gauges from opened/closed counter pairs. Closed is read first so a close
  // racing with the scrape cannot make the difference negative on x86; clamp anyway.
  auto active = [](std::uint64_t closed, std::uint64_t opened) {
    return opened >= closed ? static_cast<double>(opened - closed) : 0.0;
  };
  auto route_label = [&](std::size_t r) { return r < routes ? route_names_[r] : std::string("none"); };

  std::vector<prometheus::MetricFamily> out;

  // Downstream connections.
  auto conn_active =
      family("wsgate_downstream_connections_active", "Open client connections.", MetricType::Gauge);
  auto conn_total =
      family("wsgate_downstream_connections_total", "Client connections accepted.", MetricType::Counter);
  for (std::size_t l = 0; l < shape_.listeners; ++l) {
    for (std::size_t p = 0; p < kProtocols; ++p) {
      const std::size_t i = l * kProtocols + p;
      std::uint64_t closed =
          sum([&](const WorkerMetrics& w) -> const LocalCounter& { return w.conn_closed_[i]; });
      std::uint64_t opened =
          sum([&](const WorkerMetrics& w) -> const LocalCounter& { return w.conn_opened_[i]; });
      Labels labels{{"listener", listener_names_[l]},
                    {"protocol", label_text(to_string(static_cast<Protocol>(p)))}};
      add_gauge(conn_active, labels, active(closed, opened));
      add_counter(conn_total, labels, static_cast<double>(opened));
    }
  }
  out.push_back(std::move(conn_active));
  out.push_back(std::move(conn_total));
  auto conn_rejected =
      family("wsgate_downstream_connections_rejected_total",
             "Client connections closed at once: the listener was at max_connections.", MetricType::Counter);
  for (std::size_t l = 0; l < shape_.listeners; ++l) {
    add_counter(conn_rejected, {{"listener", listener_names_[l]}},
                static_cast<double>(
                    sum([&](const WorkerMetrics& w) -> const LocalCounter& { return w.conn_rejected_[l]; })));
  }
  out.push_back(std::move(conn_rejected));

  // WebSocket streams.
  auto streams_active = family("wsgate_websocket_streams_active", "Open WebSockets.", MetricType::Gauge);
  auto streams_total = family("wsgate_websocket_streams_total", "WebSockets upgraded.", MetricType::Counter);
  for (std::size_t r = 0; r < routes; ++r) {
    for (std::size_t p = 0; p < kProtocols; ++p) {
      const std::size_t i = r * kProtocols + p;
      std::uint64_t closed =
          sum([&](const WorkerMetrics& w) -> const LocalCounter& { return w.stream_closed_[i]; });
      std::uint64_t opened =
          sum([&](const WorkerMetrics& w) -> const LocalCounter& { return w.stream_opened_[i]; });
      Labels labels{{"route", route_names_[r]},
                    {"protocol", label_text(to_string(static_cast<Protocol>(p)))}};
      add_gauge(streams_active, labels, active(closed, opened));
      add_counter(streams_total, labels, static_cast<double>(opened));
    }
  }
  out.push_back(std::move(streams_active));
  out.push_back(std::move(streams_total));

  // Handshakes: only codes seen so far (the code set is bounded but mostly empty).
  auto handshakes =
      family("wsgate_websocket_handshakes_total",
             "WebSocket handshakes answered, by HTTP status (route=\"none\": no route matched).",
             MetricType::Counter);
  for (std::size_t r = 0; r <= routes; ++r) {
    for (std::size_t p = 0; p < kProtocols; ++p) {
      for (std::size_t c = 0; c < kHandshakeSlots; ++c) {
        const std::size_t i = (r * kProtocols + p) * kHandshakeSlots + c;
        std::uint64_t n =
            sum([&](const WorkerMetrics& w) -> const LocalCounter& { return w.handshakes_[i]; });
        if (n == 0) continue;
        std::string_view code = c < kHandshakeCodes.size() ? kHandshakeCodeNames[c]
                                                           : kStatusClassNames[c - kHandshakeCodes.size()];
        add_counter(handshakes,
                    {{"route", route_label(r)},
                     {"protocol", label_text(to_string(static_cast<Protocol>(p)))},
                     {"code", label_text(code)}},
                    static_cast<double>(n));
      }
    }
  }
  out.push_back(std::move(handshakes));

  // Traffic.
  std::array<prometheus::MetricFamily, kTrafficKinds> traffic = {
      family("wsgate_websocket_frames_total", "WebSocket frames relayed.", MetricType::Counter),
      family("wsgate_websocket_messages_total", "WebSocket messages relayed (data frames with FIN).",
             MetricType::Counter),
      family("wsgate_websocket_bytes_total", "WebSocket wire bytes relayed (frame headers included).",
             MetricType::Counter)};
  for (std::size_t r = 0; r < routes; ++r) {
    for (std::size_t d = 0; d < kDirections; ++d) {
      for (std::size_t k = 0; k < kTrafficKinds; ++k) {
        const std::size_t i = (r * kDirections + d) * kTrafficKinds + k;
        std::uint64_t n = sum([&](const WorkerMetrics& w) -> const LocalCounter& { return w.traffic_[i]; });
        add_counter(
            traffic[k],
            {{"route", route_names_[r]}, {"direction", label_text(to_string(static_cast<FlowDirection>(d)))}},
            static_cast<double>(n));
      }
    }
  }
  out.push_back(std::move(traffic[1]));
  out.push_back(std::move(traffic[0]));
  out.push_back(std::move(traffic[2]));

  // Closes.
  auto closes = family("wsgate_websocket_closes_total",
                       "WebSocket closes, by who closed first and close code.", MetricType::Counter);
  for (std::size_t r = 0; r < routes; ++r) {
    for (std::size_t who = 0; who < kInitiators; ++who) {
      for (std::size_t c = 0; c < kCloseSlots; ++c) {
        const std::size_t i = (r * kInitiators + who) * kCloseSlots + c;
        std::uint64_t n = sum([&](const WorkerMetrics& w) -> const LocalCounter& { return w.closes_[i]; });
        if (n == 0) continue;
        add_counter(closes,
                    {{"route", route_names_[r]},
                     {"initiator", label_text(to_string(static_cast<CloseInitiator>(who)))},
                     {"code", label_text(kCloseCodeNames[c])}},
                    static_cast<double>(n));
      }
    }
  }
  out.push_back(std::move(closes));

  auto timeouts =
      family("wsgate_websocket_timeouts_total",
             "WebSockets the gateway ended on a timeout: keep-alive (a peer did not answer a PING), "
             "idle, close handshake, write stall.",
             MetricType::Counter);
  for (std::size_t r = 0; r < routes; ++r) {
    for (std::size_t k = 0; k < kStreamTimeoutKinds; ++k) {
      const std::size_t i = r * kStreamTimeoutKinds + k;
      std::uint64_t n = sum([&](const WorkerMetrics& w) -> const LocalCounter& { return w.timeouts_[i]; });
      if (n == 0) continue;
      add_counter(
          timeouts,
          {{"route", route_names_[r]}, {"kind", label_text(to_string(static_cast<StreamTimeout>(k)))}},
          static_cast<double>(n));
    }
  }
  out.push_back(std::move(timeouts));

  // Histograms by route.
  auto ws_duration = family("wsgate_websocket_duration_seconds",
                            "Lifetime of WebSockets from upgrade to close.", MetricType::Histogram);
  for (std::size_t r = 0; r < routes; ++r) {
    add_histogram(ws_duration, {{"route", route_names_[r]}}, kWebSocketDurationBuckets, workers_,
                  [&](const WorkerMetrics& w) -> const LocalHistogram& { return w.stream_duration_[r]; });
  }
  out.push_back(std::move(ws_duration));
  auto hs_duration =
      family("wsgate_handshake_duration_seconds",
             "Time from the request head to the handshake answer (backend included).", MetricType::Histogram);
  for (std::size_t r = 0; r <= routes; ++r) {
    add_histogram(hs_duration, {{"route", route_label(r)}}, kHandshakeBuckets, workers_,
                  [&](const WorkerMetrics& w) -> const LocalHistogram& { return w.handshake_duration_[r]; });
  }
  out.push_back(std::move(hs_duration));

  // Upstream.
  auto connect =
      family("wsgate_upstream_connect_duration_seconds",
             "Time to open a backend connection (TCP, TLS and the upgrade answer).", MetricType::Histogram);
  auto connect_errors = family("wsgate_upstream_connect_errors_total", "Failed backend connection attempts.",
                               MetricType::Counter);
  for (std::size_t b = 0; b < shape_.backends; ++b) {
    add_histogram(connect, {{"backend", backend_names_[b]}}, kHandshakeBuckets, workers_,
                  [&](const WorkerMetrics& w) -> const LocalHistogram& { return w.upstream_connect_[b]; });
    for (std::size_t reason = 0; reason < kReasonSlots; ++reason) {
      const std::size_t i = b * kReasonSlots + reason;
      std::uint64_t n =
          sum([&](const WorkerMetrics& w) -> const LocalCounter& { return w.upstream_errors_[i]; });
      if (n == 0) continue;
      add_counter(connect_errors,
                  {{"backend", backend_names_[b]}, {"reason", label_text(kUpstreamReasons[reason])}},
                  static_cast<double>(n));
    }
  }
  out.push_back(std::move(connect));
  out.push_back(std::move(connect_errors));

  auto endpoints =
      family("wsgate_backend_endpoints", "Backend endpoints by health state.", MetricType::Gauge);
  std::function<std::uint64_t()> read_dropped;
  {
    std::lock_guard lock(mutex_);
    for (std::size_t b = 0; b < shape_.backends; ++b) {
      const auto& list = endpoints_[b];
      auto healthy = static_cast<double>(
          std::count_if(list.begin(), list.end(), [](const auto& e) { return e.healthy; }));
      add_gauge(endpoints, {{"backend", backend_names_[b]}, {"state", "healthy"}}, healthy);
      add_gauge(endpoints, {{"backend", backend_names_[b]}, {"state", "unhealthy"}},
                static_cast<double>(list.size()) - healthy);
    }
    read_dropped = read_access_log_dropped_;
  }
  out.push_back(std::move(endpoints));

  // HTTP/2.
  auto h2_streams =
      family("wsgate_h2_streams_per_connection", "WebSocket streams carried by each ended HTTP/2 connection.",
             MetricType::Histogram);
  add_histogram(h2_streams, {}, kH2StreamsBuckets, workers_,
                [](const WorkerMetrics& w) -> const LocalHistogram& { return w.h2_streams_; });
  out.push_back(std::move(h2_streams));
  auto h2_codes = [&](std::string name, std::string help, auto member) {
    auto f = family(std::move(name), std::move(help), MetricType::Counter);
    for (std::size_t dir = 0; dir < 2; ++dir) {
      for (std::size_t c = 0; c < kH2ErrorSlots; ++c) {
        const std::size_t i = dir * kH2ErrorSlots + c;
        std::uint64_t n = sum([&](const WorkerMetrics& w) -> const LocalCounter& { return (w.*member)[i]; });
        if (n == 0) continue;
        add_counter(f,
                    {{"direction", dir == 0 ? "sent" : "received"}, {"code", label_text(kH2ErrorNames[c])}},
                    static_cast<double>(n));
      }
    }
    out.push_back(std::move(f));
  };
  h2_codes("wsgate_h2_goaways_total", "HTTP/2 GOAWAY frames by direction and error code.",
           &WorkerMetrics::h2_goaways_);
  h2_codes("wsgate_h2_rst_streams_total", "HTTP/2 RST_STREAM frames by direction and error code.",
           &WorkerMetrics::h2_rst_streams_);

  // Process state.
  auto dropped = family("wsgate_access_log_dropped_total",
                        "Access log lines dropped because the queue was full.", MetricType::Counter);
  add_counter(dropped, {}, read_dropped ? static_cast<double>(read_dropped()) : 0.0);
  out.push_back(std::move(dropped));
  auto draining = family("wsgate_draining", "1 while the gateway drains before exit.", MetricType::Gauge);
  add_gauge(draining, {}, this->draining() ? 1 : 0);
  out.push_back(std::move(draining));
  auto ready_family = family("wsgate_ready", "1 when /readyz answers 200.", MetricType::Gauge);
  add_gauge(ready_family, {}, ready() ? 1 : 0);
  out.push_back(std::move(ready_family));
  auto workers = family("wsgate_workers", "Worker threads.", MetricType::Gauge);
  add_gauge(workers, {}, static_cast<double>(workers_.size()));
  out.push_back(std::move(workers));
  auto build = family("wsgate_build_info", "Build information; the value is always 1.", MetricType::Gauge);
  add_gauge(build, {{"version", std::string(version())}}, 1);
  out.push_back(std::move(build));

  auto start_time = family("process_start_time_seconds",
                           "Start time of the process since unix epoch in seconds.", MetricType::Gauge);
  add_gauge(start_time, {}, start_time_seconds_);
  out.push_back(std::move(start_time));
  if (auto process = read_process_stats()) {
    auto cpu = family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                      MetricType::Counter);
    add_counter(cpu, {}, process->cpu_seconds);
    out.push_back(std::move(cpu));
    auto rss = family("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge);
    add_gauge(rss, {}, static_cast<double>(process->resident_bytes));
    out.push_back(std::move(rss));
    auto vsz = family("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge);
    add_gauge(vsz, {}, static_cast<double>(process->virtual_bytes));
    out.push_back(std::move(vsz));
    auto fds = family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge);
    add_gauge(fds, {}, static_cast<double>(process->open_fds));
    out.push_back(std::move(fds));
    auto max_fds = family("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge);
    add_gauge(max_fds, {}, static_cast<double>(process->max_fds));
    out.push_back(std::move(max_fds));
  }

  return prometheus::TextSerializer().Serialize(out);
}

StatusSnapshot Metrics::snapshot() const {
  StatusSnapshot s;
  s.version = std::string(version());
  s.uptime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  s.start_time_seconds = start_time_seconds_;
  s.workers = workers_.size();
  s.draining = draining();
  s.ready = ready();
  auto total = [&](const std::unique_ptr<LocalCounter[]> WorkerMetrics::*member, std::size_t i) {
    std::uint64_t n = 0;
    for (const auto& w : workers_) n += ((*w).*member)[i].load();
    return n;
  };

  s.listeners = listener_info_;
  for (std::size_t l = 0; l < s.listeners.size(); ++l) {
    for (std::size_t p = 0; p < kProtocols; ++p) {
      const std::size_t i = l * kProtocols + p;
      std::uint64_t closed = total(&WorkerMetrics::conn_closed_, i);
      std::uint64_t opened = total(&WorkerMetrics::conn_opened_, i);
      s.listeners[l].open_connections += opened >= closed ? opened - closed : 0;
      s.listeners[l].connections_total += opened;
    }
    s.open_connections += s.listeners[l].open_connections;
  }

  s.routes = route_info_;
  for (std::size_t r = 0; r < s.routes.size(); ++r) {
    RouteStatus& rs = s.routes[r];
    for (std::size_t p = 0; p < kProtocols; ++p) {
      const std::size_t i = r * kProtocols + p;
      std::uint64_t closed = total(&WorkerMetrics::stream_closed_, i);
      std::uint64_t opened = total(&WorkerMetrics::stream_opened_, i);
      rs.open_streams += opened >= closed ? opened - closed : 0;
      rs.streams_total += opened;
      for (std::size_t c = 0; c < kHandshakeSlots; ++c) {
        std::uint64_t n = total(&WorkerMetrics::handshakes_, (r * kProtocols + p) * kHandshakeSlots + c);
        rs.handshakes_total += n;
        // 101 (h1) and 200 (RFC 8441 on h2) are the successful answers.
        if (c != handshake_slot(101) && c != handshake_slot(200)) rs.handshakes_failed += n;
      }
    }
    auto traffic = [&](FlowDirection d, std::size_t kind) {
      return total(&WorkerMetrics::traffic_,
                   (r * kDirections + static_cast<std::size_t>(d)) * kTrafficKinds + kind);
    };
    rs.messages_client_to_backend = traffic(FlowDirection::kClientToBackend, 1);
    rs.messages_backend_to_client = traffic(FlowDirection::kBackendToClient, 1);
    rs.bytes_client_to_backend = traffic(FlowDirection::kClientToBackend, 2);
    rs.bytes_backend_to_client = traffic(FlowDirection::kBackendToClient, 2);
    s.open_streams += rs.open_streams;
    s.streams_total += rs.streams_total;
  }

  s.backends = backend_info_;
  std::function<std::uint64_t()> read_dropped;
  {
    std::lock_guard lock(mutex_);
    for (std::size_t b = 0; b < s.backends.size(); ++b) {
      for (const auto& e : endpoints_[b]) s.backends[b].endpoints.push_back({e.label, e.healthy});
    }
    read_dropped = read_access_log_dropped_;
  }
  for (std::size_t b = 0; b < s.backends.size(); ++b) {
    for (std::size_t reason = 0; reason < kReasonSlots; ++reason) {
      s.backends[b].connect_errors += total(&WorkerMetrics::upstream_errors_, b * kReasonSlots + reason);
    }
  }
  if (read_dropped) s.access_log_dropped = read_dropped();
  return s;
}

}  // namespace wsgate::gw
