// wsgate configuration: the YAML schema v1 as plain structs, loaded and
// validated once; a loaded Config is immutable and shared by shared_ptr.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::gw {

using Millis = std::chrono::milliseconds;

// Where a key or value sits in the source file (1-based), for error messages.
struct SourceMark {
  int line = 0;
  int column = 0;
};

struct ConfigError {
  std::string key_path;  // e.g. "routes[2].backend"
  std::string message;   // e.g. "unknown backend \"chat\""
  std::string file;      // e.g. "wsgate.yaml" (as given)
  SourceMark mark;
  // "routes[2].backend: unknown backend \"chat\" (wsgate.yaml:17:14)"
  std::string to_string() const;
};

struct HostPort {
  std::string host;  // "0.0.0.0", "::", "127.0.0.1", "localhost", "backend.internal"
  std::uint16_t port = 0;
  std::string to_string() const;  // "[::1]:80" for IPv6 literals
};

struct ListenerTls {
  std::string cert_file;
  std::string key_file;
};

struct ListenerConfig {
  std::string name;
  HostPort address;
  std::optional<ListenerTls> tls;
  std::vector<std::string> protocols;      // "h2", "h2c", "http/1.1"; default [http/1.1] (+h2 / h2c)
  std::uint64_t max_connections = 100000;  // open client connections; beyond: accepted and closed at once
  std::optional<std::uint32_t> max_streams_per_connection;  // h2: overrides http2.max_concurrent_streams
};

struct AdminConfig {
  bool enabled = true;
  HostPort address{"127.0.0.1", 9901};
};

struct Http2Config {
  std::uint32_t max_concurrent_streams = 1000;
  std::uint32_t initial_stream_window = 256 * 1024;
  std::uint32_t initial_connection_window = 16 * 1024 * 1024;
  std::uint32_t max_header_list_size = 64 * 1024;
  std::uint32_t max_frame_size = 16384;
};

struct LimitsConfig {
  Millis header_read_timeout{10000};
  std::uint64_t max_request_head = 64 * 1024;
  std::uint64_t buffer_per_direction = 256 * 1024;
  Millis close_timeout{5000};  // wait for the peer's close frame / transport close
  // A side (TCP connection, or HTTP/2 stream whose window stays at zero) that does
  // not take a pending write (at most buffer_per_direction bytes) within this time
  // is dropped, and the other side gets a close; 0 = never.
  Millis write_stall_timeout{60000};
};

struct AccessLogConfig {
  std::string path = "stdout";  // "stdout", "stderr", "off", or a file path
  std::string format = "json";  // "json" (only format for now)
};

struct KeepaliveConfig {
  Millis interval{0};  // 0 = off
  Millis timeout{0};   // 0 = unsolicited PONG heartbeat when interval > 0
};

// What the gateway does with a PING from a client or backend.
enum class PeerPings { kForward, kAnswer };

enum class Compression { kPassthrough, kOff, kTerminate };

// permessage-deflate termination (RFC 7692), used with compression: terminate.
struct DeflateConfig {
  int server_max_window_bits = 15;          // 8..15: window of the gateway's compressor
  int client_max_window_bits = 15;          // 8..15: largest client compressor window accepted
  bool server_no_context_takeover = false;  // gateway resets (and frees) its compressor per message
  bool client_no_context_takeover = false;  // client must reset per message (gateway frees its inflater)
  std::uint64_t max_inflated_message_bytes = 16 * 1024 * 1024;  // bomb limit per client message (1009)
  std::uint64_t min_message_bytes = 0;      // smaller gateway->client messages go uncompressed
  int level = 6;                            // zlib compression level 1..9
  int mem_level = 8;                        // zlib memLevel 1..9: compressor memory (see docs)
};
enum class Validate { kOff, kFrames, kFull };

struct RouteConfig {
  std::string name;
  std::optional<std::string> host;         // exact "a.example.com" or wildcard "*.example.com"; absent = any
  std::optional<std::string> path;         // exact path match
  std::optional<std::string> path_prefix;  // prefix match; if neither path nor prefix: "/" prefix
  std::optional<std::string> subprotocol;  // match only requests offering this subprotocol
  std::string backend;                     // name from backends
  // The keys below are the route's WebSocket options; `route_defaults` sets them for every route.
  std::vector<std::string> allowed_origins;  // empty = any Origin
  std::vector<std::string> subprotocols;     // allow-list; empty = pass all offers
  bool require_subprotocol = false;          // no offer left after the allow-list -> 400
  KeepaliveConfig keepalive;                 // toward the client
  KeepaliveConfig backend_keepalive;         // toward the backend
  PeerPings peer_pings = PeerPings::kForward;
  Millis idle_timeout{0};               // 0 = none
  std::uint64_t max_message_bytes = 0;  // 0 = unlimited
  std::uint64_t max_frame_bytes = 0;    // 0 = unlimited
  std::uint64_t max_websockets = 0;     // concurrent WebSockets on this route (all workers); 0 = unlimited
  std::optional<Millis>
      handshake_timeout;                // backend's upgrade answer; default: the backend's handshake_timeout
  std::optional<Millis> close_timeout;  // default: limits.close_timeout
  Compression compression = Compression::kPassthrough;
  DeflateConfig deflate;                   // options for compression: terminate
  Validate validate = Validate::kFrames;
  std::optional<std::string> static_dir;  // plain GET/HEAD served from this folder
};

enum class BackendProtocol { kHttp1, kH2, kAuto };

struct BackendTls {
  std::optional<std::string> sni;      // default: the endpoint host
  std::optional<std::string> ca_file;  // default: system trust store
  bool verify = true;
};

struct BackendConfig {
  std::string name;
  std::vector<HostPort> endpoints;
  BackendProtocol protocol = BackendProtocol::kHttp1;
  Millis connect_timeout{2000};
  Millis handshake_timeout{5000};
  std::optional<BackendTls> tls;
};

struct Config {
  unsigned workers = 0;  // 0 = auto (number of cores)
  Millis drain_timeout{30000};
  std::vector<ListenerConfig> listeners;
  AdminConfig admin;
  Http2Config http2;
  LimitsConfig limits;
  AccessLogConfig access_log;
  std::vector<RouteConfig> routes;
  std::vector<BackendConfig> backends;

  std::string source_name;                  // file name as given, for messages
  std::map<std::string, SourceMark> marks;  // key path -> position of its value, for later errors

  const BackendConfig* find_backend(std::string_view name) const;
  // A ConfigError at `key_path` with the position recorded for it (or the closest parent).
  ConfigError error_at(const std::string& key_path, std::string message) const;
};

struct ConfigLoadResult {
  std::shared_ptr<const Config> config;  // null when errors is not empty
  std::vector<ConfigError> errors;
};

ConfigLoadResult load_config_file(const std::string& path);
ConfigLoadResult load_config_string(std::string_view yaml_text, std::string source_name = "<config>");

// "30s", "250ms", "10m", "1h", "0" -> milliseconds; nullopt if malformed.
std::optional<Millis> parse_duration(std::string_view text);
// "64KiB", "16MiB", "1GiB", "1024", "64KB" (=1000-based), "1k"? no: only the listed forms.
std::optional<std::uint64_t> parse_size(std::string_view text);
// "127.0.0.1:80", "[::]:8443", "localhost:9000" -> HostPort; nullopt if malformed.
std::optional<HostPort> parse_host_port(std::string_view text);

}  // namespace wsgate::gw
