// Tests for gateway/metrics.*: every event moves its series, workers fold at scrape time,
// the exposition text parses back to the exact expected samples, and labels stay bounded.
#include "gateway/metrics.hpp"

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <thread>

namespace wsgate::gw {
namespace {

Config test_config() {
  Config c;
  ListenerConfig public_listener;
  public_listener.name = "public";
  public_listener.address = {"0.0.0.0", 8080};
  public_listener.protocols = {"http/1.1", "h2"};
  ListenerConfig internal;
  internal.name = "internal";
  internal.address = {"::1", 8443};
  internal.tls = ListenerTls{"cert.pem", "key.pem"};
  c.listeners = {public_listener, internal};
  RouteConfig chat;
  chat.name = "chat";
  chat.path_prefix = "/chat";
  chat.backend = "chat-svc";
  RouteConfig feed;
  feed.name = "feed";
  feed.host = "feed.example.com";
  feed.path = "/ws";
  feed.backend = "feed-svc";
  c.routes = {chat, feed};
  BackendConfig chat_svc;
  chat_svc.name = "chat-svc";
  chat_svc.endpoints = {{"10.0.0.1", 9000}, {"10.0.0.2", 9000}};
  BackendConfig feed_svc;
  feed_svc.name = "feed-svc";
  feed_svc.endpoints = {{"feed.internal", 443}};
  c.backends = {chat_svc, feed_svc};
  return c;
}

// Parses the text exposition: "name{labels} value" lines into a map; checks the
// HELP/TYPE comments come before each family's samples.
struct Exposition {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;  // family -> counter/gauge/histogram

  bool has(const std::string& series) const { return samples.count(series) != 0; }
  double at(const std::string& series) const {
    auto it = samples.find(series);
    if (it == samples.end()) {
      ADD_FAILURE() << "missing series " << series;
      return -1;
    }
    return it->second;
  }
};

Exposition parse(const std::string& text) {
  Exposition e;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream fields(line.substr(7));
      std::string name, type;
      fields >> name >> type;
      e.types[name] = type;
      continue;
    }
    if (line[0] == '#') continue;
    auto space = line.rfind(' ');
    EXPECT_NE(space, std::string::npos) << line;
    std::string series = line.substr(0, space);
    std::string value = line.substr(space + 1);
    EXPECT_EQ(e.samples.count(series), 0u) << "duplicate series " << series;
    e.samples[series] = value == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(value);
  }
  return e;
}

Exposition scrape(const Metrics& m) { return parse(m.render_prometheus()); }

TEST(MetricsLabels, HandshakeCodesFoldToClasses) {
  EXPECT_EQ(handshake_code_label(101), "101");
  EXPECT_EQ(handshake_code_label(200), "200");
  EXPECT_EQ(handshake_code_label(404), "404");
  EXPECT_EQ(handshake_code_label(431), "431");
  EXPECT_EQ(handshake_code_label(504), "504");
  EXPECT_EQ(handshake_code_label(418), "4xx");
  EXPECT_EQ(handshake_code_label(302), "3xx");
  EXPECT_EQ(handshake_code_label(599), "5xx");
  EXPECT_EQ(handshake_code_label(102), "1xx");
  EXPECT_EQ(handshake_code_label(299), "2xx");
  EXPECT_EQ(handshake_code_label(0), "other");
  EXPECT_EQ(handshake_code_label(600), "other");
  EXPECT_EQ(handshake_code_label(-1), "other");
}

TEST(MetricsLabels, CloseCodesFoldToClasses) {
  for (int code = 1000; code <= 1015; ++code) {
    EXPECT_EQ(close_code_label(static_cast<std::uint16_t>(code)), std::to_string(code));
  }
  EXPECT_EQ(close_code_label(1016), "other");
  EXPECT_EQ(close_code_label(999), "other");
  EXPECT_EQ(close_code_label(0), "other");
  EXPECT_EQ(close_code_label(2999), "other");
  EXPECT_EQ(close_code_label(3000), "3xxx");
  EXPECT_EQ(close_code_label(3999), "3xxx");
  EXPECT_EQ(close_code_label(4000), "4xxx");
  EXPECT_EQ(close_code_label(4999), "4xxx");
  EXPECT_EQ(close_code_label(5000), "other");
  EXPECT_EQ(close_code_label(65535), "other");
}

TEST(MetricsLabels, H2ErrorCodesAndUpstreamReasons) {
  EXPECT_EQ(h2_error_code_label(0), "NO_ERROR");
  EXPECT_EQ(h2_error_code_label(1), "PROTOCOL_ERROR");
  EXPECT_EQ(h2_error_code_label(8), "CANCEL");
  EXPECT_EQ(h2_error_code_label(0xb), "ENHANCE_YOUR_CALM");
  EXPECT_EQ(h2_error_code_label(0xd), "HTTP_1_1_REQUIRED");
  EXPECT_EQ(h2_error_code_label(0xe), "other");
  EXPECT_EQ(h2_error_code_label(0xffffffff), "other");
  for (std::string_view r : {"refused", "timeout", "tls", "bad_answer", "no_endpoint", "other"}) {
    EXPECT_EQ(upstream_error_label(r), r);
  }
  EXPECT_EQ(upstream_error_label("ECONNRESET"), "other");
  EXPECT_EQ(upstream_error_label(""), "other");
}

TEST(MetricsHistogram, BucketsAreLessOrEqual) {
  static constexpr double kBounds[] = {1, 2, 5};
  LocalHistogram h(kBounds);
  h.observe(0.5);
  h.observe(1);    // le="1"
  h.observe(1.5);  // le="2"
  h.observe(5);    // le="5"
  h.observe(7);    // +Inf
  EXPECT_EQ(h.bucket(0), 2u);
  EXPECT_EQ(h.bucket(1), 1u);
  EXPECT_EQ(h.bucket(2), 1u);
  EXPECT_EQ(h.bucket(3), 1u);
  EXPECT_DOUBLE_EQ(h.sum(), 15.0);
}

TEST(Metrics, EmptyScrapeHasKnownLabelSetsAtZero) {
  Config config = test_config();
  Metrics m(config, 2);
  Exposition e = scrape(m);
  EXPECT_EQ(e.at(R"(wsgate_downstream_connections_active{listener="public",protocol="h1"})"), 0);
  EXPECT_EQ(e.at(R"(wsgate_downstream_connections_active{listener="internal",protocol="h2"})"), 0);
  EXPECT_EQ(e.at(R"(wsgate_downstream_connections_total{listener="public",protocol="h2"})"), 0);
  EXPECT_EQ(e.at(R"(wsgate_websocket_streams_active{route="chat",protocol="h1"})"), 0);
  EXPECT_EQ(e.at(R"(wsgate_websocket_streams_active{route="feed",protocol="h2"})"), 0);
  EXPECT_EQ(e.at(R"(wsgate_websocket_messages_total{route="feed",direction="backend_to_client"})"), 0);
  EXPECT_EQ(e.at(R"(wsgate_websocket_duration_seconds_count{route="chat"})"), 0);
  EXPECT_EQ(e.at(R"(wsgate_websocket_duration_seconds_bucket{route="chat",le="+Inf"})"), 0);
  EXPECT_EQ(e.at(R"(wsgate_handshake_duration_seconds_count{route="none"})"), 0);
  EXPECT_EQ(e.at(R"(wsgate_upstream_connect_duration_seconds_count{backend="feed-svc"})"), 0);
  EXPECT_EQ(e.at(R"(wsgate_backend_endpoints{backend="chat-svc",state="healthy"})"), 2);
  EXPECT_EQ(e.at(R"(wsgate_backend_endpoints{backend="chat-svc",state="unhealthy"})"), 0);
  EXPECT_EQ(e.at(R"(wsgate_backend_endpoints{backend="feed-svc",state="healthy"})"), 1);
  EXPECT_EQ(e.at("wsgate_h2_streams_per_connection_count"), 0);
  EXPECT_EQ(e.at("wsgate_access_log_dropped_total"), 0);
  EXPECT_EQ(e.at("wsgate_draining"), 0);
  EXPECT_EQ(e.at("wsgate_ready"), 0);
  EXPECT_EQ(e.at("wsgate_workers"), 2);
  EXPECT_EQ(e.at("wsgate_build_info{version=\"" + std::string(Metrics::version()) + "\"}"), 1);
  EXPECT_GT(e.at("process_start_time_seconds"), 1.5e9);
  // Families whose label sets are open (codes) are announced without samples.
  EXPECT_EQ(e.types.at("wsgate_websocket_handshakes_total"), "counter");
  EXPECT_EQ(e.types.at("wsgate_websocket_closes_total"), "counter");
  EXPECT_EQ(e.types.at("wsgate_upstream_connect_errors_total"), "counter");
  EXPECT_EQ(e.types.at("wsgate_h2_goaways_total"), "counter");
  EXPECT_EQ(e.types.at("wsgate_h2_rst_streams_total"), "counter");
  EXPECT_EQ(e.types.at("wsgate_websocket_duration_seconds"), "histogram");
  EXPECT_EQ(e.types.at("wsgate_downstream_connections_active"), "gauge");
  for (const auto& [series, value] : e.samples) {
    EXPECT_EQ(series.find("wsgate_websocket_handshakes_total"), std::string::npos) << series;
  }
}

TEST(Metrics, ProcessMetricsFromProc) {
  Config config = test_config();
  Metrics m(config, 1);
  Exposition e = scrape(m);
  EXPECT_GT(e.at("process_resident_memory_bytes"), 0);
  EXPECT_GT(e.at("process_virtual_memory_bytes"), 0);
  EXPECT_GE(e.at("process_open_fds"), 3);
  EXPECT_GE(e.at("process_cpu_seconds_total"), 0);
  EXPECT_EQ(e.types.at("process_cpu_seconds_total"), "counter");
}

TEST(Metrics, ConnectionsAndStreamsFoldAcrossWorkers) {
  Config config = test_config();
  Metrics m(config, 3);
  m.worker(0).connection_opened(0, Protocol::kH1);
  m.worker(1).connection_opened(0, Protocol::kH1);
  m.worker(2).connection_opened(0, Protocol::kH1);
  m.worker(1).connection_closed(0, Protocol::kH1);
  m.worker(2).connection_opened(1, Protocol::kH2);
  m.worker(0).stream_opened(0, Protocol::kH1);
  m.worker(1).stream_opened(0, Protocol::kH1);
  m.worker(1).stream_opened(1, Protocol::kH2);
  m.worker(0).stream_closed(0, Protocol::kH1, 12.0);
  m.worker(1).stream_closed(1, Protocol::kH2, 0.05);
  // Out of range indexes are ignored, not a crash.
  m.worker(0).connection_opened(7, Protocol::kH1);
  m.worker(0).stream_opened(7, Protocol::kH1);

  Exposition e = scrape(m);
  EXPECT_EQ(e.at(R"(wsgate_downstream_connections_active{listener="public",protocol="h1"})"), 2);
  EXPECT_EQ(e.at(R"(wsgate_downstream_connections_total{listener="public",protocol="h1"})"), 3);
  EXPECT_EQ(e.at(R"(wsgate_downstream_connections_active{listener="internal",protocol="h2"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_downstream_connections_active{listener="internal",protocol="h1"})"), 0);
  EXPECT_EQ(e.at(R"(wsgate_websocket_streams_active{route="chat",protocol="h1"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_websocket_streams_total{route="chat",protocol="h1"})"), 2);
  EXPECT_EQ(e.at(R"(wsgate_websocket_streams_active{route="feed",protocol="h2"})"), 0);
  EXPECT_EQ(e.at(R"(wsgate_websocket_streams_total{route="feed",protocol="h2"})"), 1);

  EXPECT_EQ(e.at(R"(wsgate_websocket_duration_seconds_count{route="chat"})"), 1);
  EXPECT_DOUBLE_EQ(e.at(R"(wsgate_websocket_duration_seconds_sum{route="chat"})"), 12.0);
  EXPECT_EQ(e.at(R"(wsgate_websocket_duration_seconds_bucket{route="chat",le="10"})"), 0);
  EXPECT_EQ(e.at(R"(wsgate_websocket_duration_seconds_bucket{route="chat",le="30"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_websocket_duration_seconds_bucket{route="chat",le="+Inf"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_websocket_duration_seconds_bucket{route="feed",le="0.01"})"), 0);
  EXPECT_EQ(e.at(R"(wsgate_websocket_duration_seconds_bucket{route="feed",le="0.1"})"), 1);

  StatusSnapshot s = m.snapshot();
  EXPECT_EQ(s.workers, 3u);
  EXPECT_EQ(s.open_connections, 3u);
  EXPECT_EQ(s.open_streams, 1u);
  EXPECT_EQ(s.streams_total, 3u);
  ASSERT_EQ(s.listeners.size(), 2u);
  EXPECT_EQ(s.listeners[0].open_connections, 2u);
  EXPECT_EQ(s.listeners[0].connections_total, 3u);
  EXPECT_EQ(s.listeners[1].address, "[::1]:8443");
  EXPECT_TRUE(s.listeners[1].tls);
  ASSERT_EQ(s.routes.size(), 2u);
  EXPECT_EQ(s.routes[0].open_streams, 1u);
  EXPECT_EQ(s.routes[0].match, "prefix /chat");
  EXPECT_EQ(s.routes[1].match, "host feed.example.com, path /ws");
  EXPECT_EQ(s.routes[1].backend, "feed-svc");
}

TEST(Metrics, HandshakesByRouteProtocolAndCode) {
  Config config = test_config();
  Metrics m(config, 2);
  m.worker(0).handshake(0, Protocol::kH1, 101, 0.003);
  m.worker(1).handshake(0, Protocol::kH1, 101, 0.004);
  m.worker(1).handshake(0, Protocol::kH2, 200, 0.002);
  m.worker(0).handshake(std::nullopt, Protocol::kH1, 404, 0.0001);
  m.worker(1).handshake(1, Protocol::kH1, 418, 0.02);  // folds to 4xx
  m.worker(1).handshake(1, Protocol::kH1, 499, 0.02);  // same slot
  m.worker(0).handshake(1, Protocol::kH2, 502, 1.5);
  m.worker(0).handshake(9, Protocol::kH1, 400, 0.001);  // unknown route index: "none"

  Exposition e = scrape(m);
  EXPECT_EQ(e.at(R"(wsgate_websocket_handshakes_total{route="chat",protocol="h1",code="101"})"), 2);
  EXPECT_EQ(e.at(R"(wsgate_websocket_handshakes_total{route="chat",protocol="h2",code="200"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_websocket_handshakes_total{route="none",protocol="h1",code="404"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_websocket_handshakes_total{route="none",protocol="h1",code="400"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_websocket_handshakes_total{route="feed",protocol="h1",code="4xx"})"), 2);
  EXPECT_EQ(e.at(R"(wsgate_websocket_handshakes_total{route="feed",protocol="h2",code="502"})"), 1);
  EXPECT_FALSE(e.has(R"(wsgate_websocket_handshakes_total{route="feed",protocol="h1",code="418"})"));
  EXPECT_FALSE(e.has(R"(wsgate_websocket_handshakes_total{route="chat",protocol="h1",code="404"})"));

  EXPECT_EQ(e.at(R"(wsgate_handshake_duration_seconds_count{route="chat"})"), 3);
  EXPECT_NEAR(e.at(R"(wsgate_handshake_duration_seconds_sum{route="chat"})"), 0.009, 1e-12);
  EXPECT_EQ(e.at(R"(wsgate_handshake_duration_seconds_bucket{route="chat",le="0.001"})"), 0);
  EXPECT_EQ(e.at(R"(wsgate_handshake_duration_seconds_bucket{route="chat",le="0.0025"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_handshake_duration_seconds_bucket{route="chat",le="0.005"})"), 3);
  EXPECT_EQ(e.at(R"(wsgate_handshake_duration_seconds_count{route="none"})"), 2);
  EXPECT_EQ(e.at(R"(wsgate_handshake_duration_seconds_bucket{route="none",le="0.0005"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_handshake_duration_seconds_bucket{route="feed",le="1"})"), 2);
  EXPECT_EQ(e.at(R"(wsgate_handshake_duration_seconds_bucket{route="feed",le="2.5"})"), 3);

  StatusSnapshot s = m.snapshot();
  EXPECT_EQ(s.routes[0].handshakes_total, 3u);
  EXPECT_EQ(s.routes[0].handshakes_failed, 0u);
  EXPECT_EQ(s.routes[1].handshakes_total, 3u);
  EXPECT_EQ(s.routes[1].handshakes_failed, 3u);
}

TEST(Metrics, TrafficAndCloses) {
  Config config = test_config();
  Metrics m(config, 2);
  m.worker(0).traffic(0, FlowDirection::kClientToBackend, 5, 3, 700);
  m.worker(1).traffic(0, FlowDirection::kClientToBackend, 1, 1, 30);
  m.worker(1).traffic(0, FlowDirection::kBackendToClient, 10, 10, 1 << 20);
  m.worker(0).close(0, CloseInitiator::kClient, 1000);
  m.worker(1).close(0, CloseInitiator::kClient, 1000);
  m.worker(1).close(0, CloseInitiator::kGateway, 1001);
  m.worker(0).close(1, CloseInitiator::kBackend, 4001);
  m.worker(0).close(1, CloseInitiator::kBackend, 4999);
  m.worker(0).close(1, CloseInitiator::kBackend, 3005);
  m.worker(0).close(1, CloseInitiator::kBackend, 2000);
  m.worker(0).close(1, CloseInitiator::kGateway, 1006);

  Exposition e = scrape(m);
  EXPECT_EQ(e.at(R"(wsgate_websocket_frames_total{route="chat",direction="client_to_backend"})"), 6);
  EXPECT_EQ(e.at(R"(wsgate_websocket_messages_total{route="chat",direction="client_to_backend"})"), 4);
  EXPECT_EQ(e.at(R"(wsgate_websocket_bytes_total{route="chat",direction="client_to_backend"})"), 730);
  EXPECT_EQ(e.at(R"(wsgate_websocket_messages_total{route="chat",direction="backend_to_client"})"), 10);
  EXPECT_EQ(e.at(R"(wsgate_websocket_bytes_total{route="chat",direction="backend_to_client"})"), 1 << 20);
  EXPECT_EQ(e.at(R"(wsgate_websocket_bytes_total{route="feed",direction="backend_to_client"})"), 0);

  EXPECT_EQ(e.at(R"(wsgate_websocket_closes_total{route="chat",initiator="client",code="1000"})"), 2);
  EXPECT_EQ(e.at(R"(wsgate_websocket_closes_total{route="chat",initiator="gateway",code="1001"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_websocket_closes_total{route="feed",initiator="backend",code="4xxx"})"), 2);
  EXPECT_EQ(e.at(R"(wsgate_websocket_closes_total{route="feed",initiator="backend",code="3xxx"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_websocket_closes_total{route="feed",initiator="backend",code="other"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_websocket_closes_total{route="feed",initiator="gateway",code="1006"})"), 1);
  EXPECT_FALSE(e.has(R"(wsgate_websocket_closes_total{route="feed",initiator="backend",code="4001"})"));

  StatusSnapshot s = m.snapshot();
  EXPECT_EQ(s.routes[0].messages_client_to_backend, 4u);
  EXPECT_EQ(s.routes[0].bytes_backend_to_client, 1u << 20);
}

TEST(Metrics, UpstreamAndEndpointHealth) {
  Config config = test_config();
  Metrics m(config, 2);
  m.worker(0).upstream_connect(0, 0.0004);
  m.worker(1).upstream_connect(0, 0.2);
  m.worker(0).upstream_connect_error(0, "refused");
  m.worker(1).upstream_connect_error(0, "refused");
  m.worker(1).upstream_connect_error(1, "timeout");
  m.worker(1).upstream_connect_error(1, "something odd");
  m.set_endpoint_healthy(0, 1, false);
  m.set_endpoint_healthy(1, 0, false);

  Exposition e = scrape(m);
  EXPECT_EQ(e.at(R"(wsgate_upstream_connect_duration_seconds_count{backend="chat-svc"})"), 2);
  EXPECT_EQ(e.at(R"(wsgate_upstream_connect_duration_seconds_bucket{backend="chat-svc",le="0.0005"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_upstream_connect_duration_seconds_bucket{backend="chat-svc",le="0.25"})"), 2);
  EXPECT_EQ(e.at(R"(wsgate_upstream_connect_errors_total{backend="chat-svc",reason="refused"})"), 2);
  EXPECT_EQ(e.at(R"(wsgate_upstream_connect_errors_total{backend="feed-svc",reason="timeout"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_upstream_connect_errors_total{backend="feed-svc",reason="other"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_backend_endpoints{backend="chat-svc",state="healthy"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_backend_endpoints{backend="chat-svc",state="unhealthy"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_backend_endpoints{backend="feed-svc",state="healthy"})"), 0);
  EXPECT_EQ(e.at(R"(wsgate_backend_endpoints{backend="feed-svc",state="unhealthy"})"), 1);

  StatusSnapshot s = m.snapshot();
  ASSERT_EQ(s.backends[0].endpoints.size(), 2u);
  EXPECT_EQ(s.backends[0].endpoints[0].address, "10.0.0.1:9000");
  EXPECT_TRUE(s.backends[0].endpoints[0].healthy);
  EXPECT_FALSE(s.backends[0].endpoints[1].healthy);
  EXPECT_EQ(s.backends[0].connect_errors, 2u);
  EXPECT_EQ(s.backends[1].connect_errors, 2u);

  m.set_backend_endpoints(1, {"192.0.2.1:443", "192.0.2.2:443"});
  m.set_endpoint_healthy(1, 1, false);
  e = scrape(m);
  EXPECT_EQ(e.at(R"(wsgate_backend_endpoints{backend="feed-svc",state="healthy"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_backend_endpoints{backend="feed-svc",state="unhealthy"})"), 1);
  m.set_endpoint_healthy(5, 0, false);  // unknown backend: ignored
}

TEST(Metrics, Http2Counters) {
  Config config = test_config();
  Metrics m(config, 2);
  m.worker(0).h2_connection_streams(1);
  m.worker(1).h2_connection_streams(150);
  m.worker(1).h2_connection_streams(20000);
  m.worker(0).h2_goaway(true, 0);
  m.worker(1).h2_goaway(true, 0);
  m.worker(1).h2_goaway(false, 0xb);
  m.worker(0).h2_rst_stream(true, 8);
  m.worker(0).h2_rst_stream(false, 0x1234);

  Exposition e = scrape(m);
  EXPECT_EQ(e.at("wsgate_h2_streams_per_connection_count"), 3);
  EXPECT_EQ(e.at("wsgate_h2_streams_per_connection_sum"), 20151);
  EXPECT_EQ(e.at(R"(wsgate_h2_streams_per_connection_bucket{le="1"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_h2_streams_per_connection_bucket{le="200"})"), 2);
  EXPECT_EQ(e.at(R"(wsgate_h2_streams_per_connection_bucket{le="10000"})"), 2);
  EXPECT_EQ(e.at(R"(wsgate_h2_streams_per_connection_bucket{le="+Inf"})"), 3);
  EXPECT_EQ(e.at(R"(wsgate_h2_goaways_total{direction="sent",code="NO_ERROR"})"), 2);
  EXPECT_EQ(e.at(R"(wsgate_h2_goaways_total{direction="received",code="ENHANCE_YOUR_CALM"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_h2_rst_streams_total{direction="sent",code="CANCEL"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_h2_rst_streams_total{direction="received",code="other"})"), 1);
}

TEST(Metrics, ReadinessDrainingAndAccessLogDropped) {
  Config config = test_config();
  Metrics m(config, 1);
  EXPECT_FALSE(m.ready());
  m.set_listeners_bound(true);
  EXPECT_TRUE(m.ready());
  std::uint64_t dropped = 7;
  m.set_access_log_dropped([&] { return dropped; });
  Exposition e = scrape(m);
  EXPECT_EQ(e.at("wsgate_ready"), 1);
  EXPECT_EQ(e.at("wsgate_draining"), 0);
  EXPECT_EQ(e.at("wsgate_access_log_dropped_total"), 7);
  m.set_draining(true);
  EXPECT_TRUE(m.draining());
  EXPECT_FALSE(m.ready());
  e = scrape(m);
  EXPECT_EQ(e.at("wsgate_ready"), 0);
  EXPECT_EQ(e.at("wsgate_draining"), 1);
  EXPECT_EQ(m.snapshot().access_log_dropped, 7u);
}

TEST(Metrics, LabelValuesAreEscaped) {
  Config config = test_config();
  config.routes[0].name = "we\"ird\\route";
  Metrics m(config, 1);
  m.worker(0).stream_opened(0, Protocol::kH1);
  Exposition e = scrape(m);
  EXPECT_EQ(e.at(R"(wsgate_websocket_streams_active{route="we\"ird\\route",protocol="h1"})"), 1);
}

// Writers on their own threads while a scraper folds: every event lands once the writers stop.
TEST(Metrics, ConcurrentWritersAndScrapes) {
  Config config = test_config();
  constexpr std::size_t kWorkers = 4;
  constexpr int kEvents = 20000;
  Metrics m(config, kWorkers);
  std::vector<std::thread> threads;
  for (std::size_t w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&m, w] {
      WorkerMetrics& wm = m.worker(w);
      for (int i = 0; i < kEvents; ++i) {
        wm.traffic(0, FlowDirection::kClientToBackend, 1, 1, 10);
        wm.handshake(0, Protocol::kH1, 101, 0.001);
      }
    });
  }
  for (int i = 0; i < 20; ++i) (void)m.render_prometheus();
  for (auto& t : threads) t.join();
  Exposition e = scrape(m);
  EXPECT_EQ(e.at(R"(wsgate_websocket_messages_total{route="chat",direction="client_to_backend"})"),
            kWorkers * kEvents);
  EXPECT_EQ(e.at(R"(wsgate_websocket_bytes_total{route="chat",direction="client_to_backend"})"),
            kWorkers * kEvents * 10.0);
  EXPECT_EQ(e.at(R"(wsgate_websocket_handshakes_total{route="chat",protocol="h1",code="101"})"),
            kWorkers * kEvents);
  EXPECT_EQ(e.at(R"(wsgate_handshake_duration_seconds_count{route="chat"})"), kWorkers * kEvents);
}

// Reloads: label indexes follow names, counters of a removed name stay, new names get series.
TEST(MetricsReload, NamesKeepTheirSeriesAcrossConfigs) {
  Config config = test_config();
  Metrics m(config, 1);
  m.worker(0).stream_opened(0, Protocol::kH1);       // chat
  m.worker(0).upstream_connect_error(1, "timeout");  // feed-svc

  Config next = test_config();
  RouteConfig news;
  news.name = "news";
  news.path = "/news";
  news.backend = "feed-svc";
  next.routes = {next.routes[1], news};  // chat removed, feed kept (now first), news added
  next.backends = {next.backends[1]};    // chat-svc removed
  MetricIds ids;
  std::string error;
  ASSERT_TRUE(m.register_names(next, ids, error)) << error;
  EXPECT_EQ(ids.routes, (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(ids.backends, (std::vector<std::size_t>{1}));
  EXPECT_EQ(ids.listeners, (std::vector<std::size_t>{0, 1}));
  m.worker(0).stream_opened(ids.routes[1], Protocol::kH2);
  m.worker(0).handshake(ids.routes[1], Protocol::kH2, 200, 0.001);

  Exposition e = scrape(m);
  EXPECT_EQ(e.at(R"(wsgate_websocket_streams_total{route="chat",protocol="h1"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_websocket_streams_total{route="feed",protocol="h1"})"), 0);
  EXPECT_EQ(e.at(R"(wsgate_websocket_streams_total{route="news",protocol="h2"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_websocket_handshakes_total{route="news",protocol="h2",code="200"})"), 1);
  EXPECT_EQ(e.at(R"(wsgate_upstream_connect_errors_total{backend="feed-svc",reason="timeout"})"), 1);
  EXPECT_TRUE(e.has(R"(wsgate_upstream_connect_duration_seconds_count{backend="chat-svc"})"));

  // The original config again: the same indexes, nothing reset (endpoint health neither).
  m.set_endpoint_healthy(1, 0, false);
  ASSERT_TRUE(m.register_names(config, ids, error)) << error;
  EXPECT_EQ(scrape(m).at(R"(wsgate_backend_endpoints{backend="feed-svc",state="unhealthy"})"), 1);
  EXPECT_EQ(ids.routes, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(scrape(m).at(R"(wsgate_websocket_streams_total{route="chat",protocol="h1"})"), 1);
  StatusSnapshot s = m.snapshot();
  ASSERT_EQ(s.routes.size(), 3u);
  EXPECT_EQ(s.routes[2].name, "news");
  EXPECT_EQ(s.routes[2].streams_total, 1u);
}

TEST(MetricsReload, NewNamesBeyondTheCapacityAreRefused) {
  Config config = test_config();
  Metrics m(config, 1);
  const std::size_t room = Metrics::capacity_for(config.routes.size());
  Config big = test_config();
  for (std::size_t i = 0; big.routes.size() <= room; ++i) {
    RouteConfig r;
    r.name = "r" + std::to_string(i);
    r.backend = "chat-svc";
    big.routes.push_back(r);
  }
  MetricIds ids;
  std::string error;
  EXPECT_FALSE(m.register_names(big, ids, error));
  EXPECT_NE(error.find("restart"), std::string::npos) << error;
  // Nothing was registered: a config within the room still fits, at the next free index.
  big.routes.resize(3);
  ASSERT_TRUE(m.register_names(big, ids, error)) << error;
  EXPECT_EQ(ids.routes, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_FALSE(scrape(m).has(R"(wsgate_websocket_streams_total{route="r1",protocol="h1"})"));
}

TEST(MetricsReload, ReloadOutcomes) {
  Metrics m(test_config(), 1);
  Exposition e = scrape(m);
  EXPECT_EQ(e.at(R"(wsgate_config_reloads_total{result="success"})"), 0);
  EXPECT_EQ(e.at(R"(wsgate_config_reloads_total{result="failure"})"), 0);
  EXPECT_EQ(e.at("wsgate_config_last_reload_successful"), 1);
  EXPECT_EQ(e.types["wsgate_config_reloads_total"], "counter");
  const double start = e.at("wsgate_config_last_reload_success_timestamp_seconds");
  EXPECT_GT(start, 1.6e9);
  m.record_reload(false);
  e = scrape(m);
  EXPECT_EQ(e.at(R"(wsgate_config_reloads_total{result="failure"})"), 1);
  EXPECT_EQ(e.at("wsgate_config_last_reload_successful"), 0);
  EXPECT_EQ(e.at("wsgate_config_last_reload_success_timestamp_seconds"), start);
  m.record_reload(true);
  e = scrape(m);
  EXPECT_EQ(e.at(R"(wsgate_config_reloads_total{result="success"})"), 1);
  EXPECT_EQ(e.at("wsgate_config_last_reload_successful"), 1);
  EXPECT_GE(e.at("wsgate_config_last_reload_success_timestamp_seconds"), start);
}

}  // namespace
}  // namespace wsgate::gw
