// Tests for gateway/config.*: schema v1 values and defaults, every error with its exact text and
// line:column, and the duration / size / host:port parsers.
#include "gateway/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace wsgate::gw {
namespace {

using namespace std::chrono_literals;

// A valid config that error tests extend or break one piece at a time.
constexpr const char* kMinimal = R"(listeners:
  - name: main
    address: 127.0.0.1:0
routes:
  - name: r
    backend: b
backends:
  - name: b
    endpoints: [127.0.0.1:9000]
)";

std::vector<std::string> error_texts(const ConfigLoadResult& result) {
  std::vector<std::string> out;
  for (const auto& error : result.errors) out.push_back(error.to_string());
  return out;
}

std::vector<std::string> load_errors(const std::string& yaml) {
  auto result = load_config_string(yaml, "wsgate.yaml");
  if (!result.errors.empty()) {
    EXPECT_EQ(result.config, nullptr);
  }
  return error_texts(result);
}

std::shared_ptr<const Config> load_ok(const std::string& yaml) {
  auto result = load_config_string(yaml, "wsgate.yaml");
  EXPECT_EQ(error_texts(result), std::vector<std::string>{});
  return result.config;
}

// ---------------------------------------------------------------------------------------------
// Whole files

TEST(ConfigFile, SharedExampleLoadsWithExpectedValues) {
  const std::string path = std::string(WSGATE_SOURCE_DIR) + "/../shared/config-example.yaml";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is not present";
  auto result = load_config_file(path);
  ASSERT_EQ(error_texts(result), std::vector<std::string>{});
  ASSERT_NE(result.config, nullptr);
  const Config& config = *result.config;

  EXPECT_EQ(config.workers, 0u);
  EXPECT_EQ(config.drain_timeout, 30s);
  ASSERT_EQ(config.listeners.size(), 2u);
  const auto& tls_listener = config.listeners[0];
  EXPECT_EQ(tls_listener.name, "public-tls");
  EXPECT_EQ(tls_listener.address.host, "0.0.0.0");
  EXPECT_EQ(tls_listener.address.port, 8443);
  ASSERT_TRUE(tls_listener.tls.has_value());
  EXPECT_EQ(tls_listener.tls->cert_file, "/etc/wsgate/tls/cert.pem");
  EXPECT_EQ(tls_listener.tls->key_file, "/etc/wsgate/tls/key.pem");
  EXPECT_EQ(tls_listener.protocols, (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_EQ(tls_listener.max_connections, 100000u);
  const auto& plain_listener = config.listeners[1];
  EXPECT_EQ(plain_listener.name, "public-plain");
  EXPECT_FALSE(plain_listener.tls.has_value());
  EXPECT_EQ(plain_listener.protocols, (std::vector<std::string>{"h2c", "http/1.1"}));

  EXPECT_TRUE(config.admin.enabled);
  EXPECT_EQ(config.admin.address.to_string(), "127.0.0.1:9901");
  EXPECT_EQ(config.http2.max_concurrent_streams, 1000u);
  EXPECT_EQ(config.http2.initial_stream_window, 256u * 1024);
  EXPECT_EQ(config.http2.initial_connection_window, 16u * 1024 * 1024);
  EXPECT_EQ(config.http2.max_header_list_size, 64u * 1024);
  EXPECT_EQ(config.http2.max_frame_size, 16384u);
  EXPECT_EQ(config.limits.header_read_timeout, 10s);
  EXPECT_EQ(config.limits.max_request_head, 64u * 1024);
  EXPECT_EQ(config.limits.buffer_per_direction, 256u * 1024);
  EXPECT_EQ(config.access_log.path, "stdout");
  EXPECT_EQ(config.access_log.format, "json");

  ASSERT_EQ(config.routes.size(), 3u);
  const auto& chat = config.routes[0];
  EXPECT_EQ(chat.name, "chat");
  EXPECT_EQ(chat.host, "chat.example.com");
  EXPECT_EQ(chat.path_prefix, "/ws/chat");
  EXPECT_FALSE(chat.path.has_value());
  EXPECT_EQ(chat.backend, "chat");
  EXPECT_EQ(chat.allowed_origins, std::vector<std::string>{"https://chat.example.com"});
  EXPECT_EQ(chat.subprotocols, (std::vector<std::string>{"chat.v2", "chat.v1"}));
  EXPECT_EQ(chat.keepalive.interval, 30s);
  EXPECT_EQ(chat.keepalive.timeout, 20s);
  EXPECT_EQ(chat.idle_timeout, 10min);
  EXPECT_EQ(chat.max_message_bytes, 1024u * 1024);
  EXPECT_EQ(chat.compression, Compression::kPassthrough);
  EXPECT_EQ(chat.validate, Validate::kFrames);
  EXPECT_FALSE(chat.static_dir.has_value());
  EXPECT_EQ(config.routes[1].path_prefix, "/echo");
  EXPECT_FALSE(config.routes[1].host.has_value());
  EXPECT_EQ(config.routes[2].static_dir, "/usr/share/wsgate/demo");

  ASSERT_EQ(config.backends.size(), 2u);
  const auto& chat_backend = config.backends[0];
  ASSERT_EQ(chat_backend.endpoints.size(), 2u);
  EXPECT_EQ(chat_backend.endpoints[1].to_string(), "10.0.0.12:9000");
  EXPECT_EQ(chat_backend.protocol, BackendProtocol::kHttp1);
  EXPECT_EQ(chat_backend.connect_timeout, 2s);
  EXPECT_EQ(chat_backend.handshake_timeout, 5s);
  ASSERT_TRUE(chat_backend.tls.has_value());
  EXPECT_EQ(chat_backend.tls->sni, "chat.internal");
  EXPECT_EQ(chat_backend.tls->ca_file, "/etc/wsgate/tls/internal-ca.pem");
  EXPECT_TRUE(chat_backend.tls->verify);
  EXPECT_EQ(config.find_backend("echo"), &config.backends[1]);
  EXPECT_EQ(config.find_backend("nope"), nullptr);

  // Marks point at values, 1-based: "    compression: passthrough" is line 51, value at column 18.
  ASSERT_TRUE(config.marks.count("routes[0].compression"));
  EXPECT_EQ(config.marks.at("routes[0].compression").line, 51);
  EXPECT_EQ(config.marks.at("routes[0].compression").column, 18);
  EXPECT_EQ(config.error_at("routes[0].compression", "not supported yet").to_string(),
            "routes[0].compression: not supported yet (" + path + ":51:18)");
}

TEST(ConfigFile, DeployDefaultLoads) {
  auto result = load_config_file(std::string(WSGATE_SOURCE_DIR) + "/deploy/wsgate.yaml");
  ASSERT_EQ(error_texts(result), std::vector<std::string>{});
  const Config& config = *result.config;
  ASSERT_EQ(config.listeners.size(), 2u);
  EXPECT_EQ(config.listeners[0].name, "public");
  EXPECT_EQ(config.listeners[0].address.to_string(), "127.0.0.1:8080");
  EXPECT_FALSE(config.listeners[0].tls.has_value());
  EXPECT_EQ(config.listeners[0].protocols, (std::vector<std::string>{"h2c", "http/1.1"}));
  EXPECT_EQ(config.listeners[1].name, "public-tls");
  ASSERT_TRUE(config.listeners[1].tls.has_value());
  EXPECT_EQ(config.listeners[1].protocols, (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_EQ(config.admin.address.to_string(), "127.0.0.1:9901");
  ASSERT_EQ(config.routes.size(), 2u);
  EXPECT_EQ(config.routes[0].name, "echo");
  EXPECT_EQ(config.routes[0].path_prefix, "/echo");
  EXPECT_EQ(config.routes[0].backend, "echo");
  EXPECT_EQ(config.routes[0].keepalive.interval, 0ms);
  EXPECT_EQ(config.routes[0].compression, Compression::kPassthrough);
  EXPECT_EQ(config.routes[0].validate, Validate::kFrames);
  EXPECT_EQ(config.routes[1].name, "demo");
  EXPECT_EQ(config.routes[1].static_dir, "deploy/demo");
  ASSERT_EQ(config.backends.size(), 1u);
  EXPECT_EQ(config.backends[0].endpoints[0].to_string(), "127.0.0.1:9000");
  EXPECT_FALSE(config.backends[0].tls.has_value());
}

TEST(ConfigFile, MissingFileNamesFileAndReason) {
  auto result = load_config_file("/nonexistent/wsgate.yaml");
  EXPECT_EQ(result.config, nullptr);
  EXPECT_EQ(error_texts(result),
            std::vector<std::string>{
                "cannot read config file: No such file or directory (/nonexistent/wsgate.yaml)"});
}

TEST(ConfigFile, DirectoryIsAnError) {
  auto result = load_config_file("/");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].to_string(), "cannot read config file: Is a directory (/)");
}

// ---------------------------------------------------------------------------------------------
// Defaults

TEST(ConfigDefaults, MinimalConfigGetsHeaderDefaults) {
  auto config = load_ok(kMinimal);
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->source_name, "wsgate.yaml");
  EXPECT_EQ(config->workers, 0u);
  EXPECT_EQ(config->drain_timeout, 30s);
  EXPECT_TRUE(config->admin.enabled);
  EXPECT_EQ(config->admin.address.to_string(), "127.0.0.1:9901");
  EXPECT_EQ(config->http2.max_concurrent_streams, 1000u);
  EXPECT_EQ(config->http2.initial_stream_window, 256u * 1024);
  EXPECT_EQ(config->http2.initial_connection_window, 16u * 1024 * 1024);
  EXPECT_EQ(config->http2.max_header_list_size, 64u * 1024);
  EXPECT_EQ(config->http2.max_frame_size, 16384u);
  EXPECT_EQ(config->limits.header_read_timeout, 10s);
  EXPECT_EQ(config->limits.max_request_head, 64u * 1024);
  EXPECT_EQ(config->limits.buffer_per_direction, 256u * 1024);
  EXPECT_EQ(config->limits.close_timeout, 5s);
  EXPECT_EQ(config->access_log.path, "stdout");
  EXPECT_EQ(config->access_log.format, "json");

  const auto& listener = config->listeners.at(0);
  EXPECT_EQ(listener.address.port, 0);  // ephemeral, for tests
  EXPECT_EQ(listener.protocols, (std::vector<std::string>{"h2c", "http/1.1"}));
  EXPECT_EQ(listener.max_connections, 100000u);

  const auto& route = config->routes.at(0);
  EXPECT_FALSE(route.host.has_value());
  EXPECT_FALSE(route.path.has_value());
  EXPECT_EQ(route.path_prefix, "/");  // no match = every path
  EXPECT_TRUE(route.allowed_origins.empty());
  EXPECT_TRUE(route.subprotocols.empty());
  EXPECT_EQ(route.keepalive.interval, 0ms);
  EXPECT_EQ(route.keepalive.timeout, 0ms);
  EXPECT_EQ(route.idle_timeout, 0ms);
  EXPECT_EQ(route.max_message_bytes, 0u);
  EXPECT_EQ(route.compression, Compression::kPassthrough);
  EXPECT_EQ(route.validate, Validate::kFrames);
  EXPECT_FALSE(route.static_dir.has_value());
  EXPECT_EQ(route.deflate.server_max_window_bits, 15);
  EXPECT_EQ(route.deflate.client_max_window_bits, 15);
  EXPECT_FALSE(route.deflate.server_no_context_takeover);
  EXPECT_FALSE(route.deflate.client_no_context_takeover);
  EXPECT_EQ(route.deflate.max_inflated_message_bytes, 16u << 20);
  EXPECT_EQ(route.deflate.min_message_bytes, 0u);
  EXPECT_EQ(route.deflate.level, 6);
  EXPECT_EQ(route.deflate.mem_level, 8);

  const auto& backend = config->backends.at(0);
  EXPECT_EQ(backend.protocol, BackendProtocol::kHttp1);
  EXPECT_EQ(backend.connect_timeout, 2s);
  EXPECT_EQ(backend.handshake_timeout, 5s);
  EXPECT_FALSE(backend.tls.has_value());
}

TEST(ConfigValues, DeflateOptionsReadBack) {
  auto config = load_ok(R"(listeners: [{name: l, address: "0.0.0.0:80"}]
routes:
  - name: r
    backend: b
    compression: terminate
    deflate:
      server_max_window_bits: 8
      client_max_window_bits: 12
      server_no_context_takeover: true
      client_no_context_takeover: true
      max_inflated_message_bytes: 1MiB
      min_message_bytes: 64
      level: 1
      mem_level: 9
backends: [{name: b, endpoints: ["127.0.0.1:1"]}]
)");
  ASSERT_NE(config, nullptr);
  const DeflateConfig& d = config->routes.at(0).deflate;
  EXPECT_EQ(config->routes.at(0).compression, Compression::kTerminate);
  EXPECT_EQ(d.server_max_window_bits, 8);
  EXPECT_EQ(d.client_max_window_bits, 12);
  EXPECT_TRUE(d.server_no_context_takeover);
  EXPECT_TRUE(d.client_no_context_takeover);
  EXPECT_EQ(d.max_inflated_message_bytes, 1u << 20);
  EXPECT_EQ(d.min_message_bytes, 64u);
  EXPECT_EQ(d.level, 1);
  EXPECT_EQ(d.mem_level, 9);
}

TEST(ConfigDefaults, TlsListenerDefaultsToH2AndHttp1) {
  auto config = load_ok(std::string(kMinimal) + R"(
  - name: b2
    endpoints: ["[::1]:9000"]
    tls: {}
)" + R"(workers: 4
)");
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->workers, 4u);
  const auto& backend = config->backends.at(1);
  EXPECT_EQ(backend.endpoints.at(0).host, "::1");
  ASSERT_TRUE(backend.tls.has_value());
  EXPECT_TRUE(backend.tls->verify);
  EXPECT_FALSE(backend.tls->sni.has_value());

  auto tls = load_ok(R"(listeners:
  - name: tls
    address: "[::]:8443"
    tls: {cert: c.pem, key: k.pem}
routes: [{name: r, backend: b}]
backends: [{name: b, endpoints: ["backend.internal:80"], protocol: auto}]
)");
  ASSERT_NE(tls, nullptr);
  EXPECT_EQ(tls->listeners.at(0).protocols, (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_EQ(tls->listeners.at(0).address.to_string(), "[::]:8443");
  EXPECT_EQ(tls->backends.at(0).protocol, BackendProtocol::kAuto);
}

TEST(ConfigValues, EveryKeySetAndReadBack) {
  auto config = load_ok(R"(workers: 8
drain_timeout: 1m30s
listeners:
  - name: l
    address: localhost:8080
    protocols: [http/1.1]
    max_connections: 5
admin: {address: "[::1]:0", enabled: false}
http2:
  max_concurrent_streams: 7
  initial_stream_window: 2147483647
  initial_connection_window: 1MB
  max_header_list_size: 1KB
  max_frame_size: 16777215
limits:
  header_read_timeout: 250ms
  max_request_head: 8KiB
  buffer_per_direction: 4KiB
  close_timeout: 0
access_log: {path: "off", format: json}
routes:
  - name: exact
    match: {host: "*.Example.com", path: /x}
    backend: b
    keepalive: {interval: 15s}
    compression: terminate
    validate: full
  - name: off
    backend: b
    compression: "off"
    validate: "off"
backends:
  - name: b
    endpoints: [b.internal:1]
    protocol: h2
    connect_timeout: 100ms
    handshake_timeout: 1h
    tls: {sni: s, ca: ca.pem, verify: false}
)");
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->workers, 8u);
  EXPECT_EQ(config->drain_timeout, 90s);
  EXPECT_EQ(config->listeners[0].protocols, std::vector<std::string>{"http/1.1"});
  EXPECT_EQ(config->listeners[0].max_connections, 5u);
  EXPECT_FALSE(config->admin.enabled);
  EXPECT_EQ(config->admin.address.host, "::1");
  EXPECT_EQ(config->http2.max_concurrent_streams, 7u);
  EXPECT_EQ(config->http2.initial_stream_window, 2147483647u);
  EXPECT_EQ(config->http2.initial_connection_window, 1000000u);
  EXPECT_EQ(config->http2.max_header_list_size, 1000u);
  EXPECT_EQ(config->http2.max_frame_size, 16777215u);
  EXPECT_EQ(config->limits.header_read_timeout, 250ms);
  EXPECT_EQ(config->limits.max_request_head, 8192u);
  EXPECT_EQ(config->limits.buffer_per_direction, 4096u);
  EXPECT_EQ(config->limits.close_timeout, 0ms);
  EXPECT_EQ(config->access_log.path, "off");
  const auto& exact = config->routes[0];
  EXPECT_EQ(exact.host, "*.example.com");  // host names are stored lower-case
  EXPECT_EQ(exact.path, "/x");
  EXPECT_FALSE(exact.path_prefix.has_value());
  EXPECT_EQ(exact.keepalive.interval, 15s);
  EXPECT_EQ(exact.keepalive.timeout, 0ms);
  EXPECT_EQ(exact.compression, Compression::kTerminate);
  EXPECT_EQ(exact.validate, Validate::kFull);
  EXPECT_EQ(config->routes[1].compression, Compression::kOff);
  EXPECT_EQ(config->routes[1].validate, Validate::kOff);
  const auto& backend = config->backends[0];
  EXPECT_EQ(backend.protocol, BackendProtocol::kH2);
  EXPECT_EQ(backend.connect_timeout, 100ms);
  EXPECT_EQ(backend.handshake_timeout, 1h);
  EXPECT_EQ(backend.tls->sni, "s");
  EXPECT_EQ(backend.tls->ca_file, "ca.pem");
  EXPECT_FALSE(backend.tls->verify);
}

// ---------------------------------------------------------------------------------------------
// Errors: exact text and position

struct ErrorCase {
  const char* name;
  std::string yaml;
  std::vector<std::string> errors;
};

class ConfigErrors : public testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrors, ReportsExactMessageAndPosition) {
  EXPECT_EQ(load_errors(GetParam().yaml), GetParam().errors);
}

// Lines 1-9 are kMinimal; extra top-level keys start at line 10.

// Long expected messages are split over adjacent literals on purpose.
// NOLINTBEGIN(bugprone-suspicious-missing-comma)
INSTANTIATE_TEST_SUITE_P(
    Schema, ConfigErrors,
    testing::Values(
        ErrorCase{"UnknownBackend",
                  R"(listeners:
  - name: main
    address: 127.0.0.1:0
routes:
  - name: r
    backend: chat
backends:
  - name: b
    endpoints: [127.0.0.1:9000]
)",
                  {"routes[0].backend: unknown backend \"chat\" (wsgate.yaml:6:14)"}},
        ErrorCase{
            "UnknownBackendSuggestion",
            R"(listeners: [{name: l, address: "0.0.0.0:80"}]
routes: [{name: r, backend: echoo}]
backends: [{name: echo, endpoints: ["127.0.0.1:1"]}]
)",
            {"routes[0].backend: unknown backend \"echoo\" (did you mean \"echo\"?) (wsgate.yaml:2:29)"}},
        ErrorCase{"UnknownKeyWithSuggestion",
                  R"(listeners:
  - name: main
    address: 127.0.0.1:0
routes:
  - name: r
    match:
      pth: /chat
    backend: b
backends:
  - name: b
    endpoints: [127.0.0.1:9000]
)",
                  {"routes[0].match.pth: unknown key (did you mean \"path\"?) (wsgate.yaml:7:7)"}},
        ErrorCase{"UnknownKeyNoSuggestion",
                  std::string(kMinimal) + "frobnicate: 1\n",
                  {"frobnicate: unknown key (wsgate.yaml:10:1)"}},
        ErrorCase{"UnknownTopLevelKeyTransposed",
                  std::string(kMinimal) + "backneds: []\n",
                  {"backneds: unknown key (did you mean \"backends\"?) (wsgate.yaml:10:1)"}},
        ErrorCase{"DuplicateKey",
                  std::string(kMinimal) + "workers: 2\nworkers: 3\n",
                  {"workers: duplicate key (first set at line 10) (wsgate.yaml:11:1)"}},
        ErrorCase{"WorkersZero",
                  std::string(kMinimal) + "workers: 0\n",
                  {"workers: must be between 1 and 1024 (wsgate.yaml:10:10)"}},
        ErrorCase{"WorkersWord",
                  std::string(kMinimal) + "workers: many\n",
                  {"workers: expected an integer, got \"many\" (wsgate.yaml:10:10)"}},
        ErrorCase{"WorkersList",
                  std::string(kMinimal) + "workers: [1]\n",
                  {"workers: expected a positive integer or \"auto\" (wsgate.yaml:10:10)"}},
        ErrorCase{"DurationMissingUnit",
                  std::string(kMinimal) + "drain_timeout: 30\n",
                  {"drain_timeout: missing unit in \"30\" (expected a duration like 30s, 250ms, 10m, 1h) "
                   "(wsgate.yaml:10:16)"}},
        ErrorCase{"DurationNegative",
                  std::string(kMinimal) + "drain_timeout: -5s\n",
                  {"drain_timeout: expected a duration like 30s, got \"-5s\" (wsgate.yaml:10:16)"}},
        ErrorCase{"DurationWrongType",
                  std::string(kMinimal) + "drain_timeout: {a: 1}\n",
                  {"drain_timeout: expected a duration like 30s (wsgate.yaml:10:16)"}},
        ErrorCase{"DurationEmptyUsesKeyPosition",
                  std::string(kMinimal) + "drain_timeout:\n",
                  {"drain_timeout: expected a duration like 30s (wsgate.yaml:10:1)"}},
        ErrorCase{
            "SizeGarbage",
            std::string(kMinimal) + "limits: {max_request_head: 64 KiB}\n",
            {"limits.max_request_head: expected a size like 64KiB, got \"64 KiB\" (wsgate.yaml:10:28)"}},
        ErrorCase{"BufferTooSmall",
                  std::string(kMinimal) + "limits:\n  buffer_per_direction: 1KiB\n",
                  {"limits.buffer_per_direction: must be at least 4096 bytes (wsgate.yaml:11:25)"}},
        ErrorCase{"HeaderTimeoutZero",
                  std::string(kMinimal) + "limits:\n  header_read_timeout: 0\n",
                  {"limits.header_read_timeout: must be greater than 0 (wsgate.yaml:11:24)"}},
        ErrorCase{
            "StreamWindowTooLarge",
            std::string(kMinimal) + "http2:\n  initial_stream_window: 2GiB\n",
            {"http2.initial_stream_window: must be between 1 and 2147483647 bytes (wsgate.yaml:11:26)"}},
        ErrorCase{"FrameSizeTooSmall",
                  std::string(kMinimal) + "http2:\n  max_frame_size: 1024\n",
                  {"http2.max_frame_size: must be between 16384 and 16777215 bytes (wsgate.yaml:11:19)"}},
        ErrorCase{"SizeOverflow",
                  std::string(kMinimal) + "http2:\n  max_header_list_size: 99999999999999999999\n",
                  {"http2.max_header_list_size: expected a size like 64KiB, got \"99999999999999999999\" "
                   "(wsgate.yaml:11:25)"}},
        ErrorCase{"DuplicateTopLevelKey",
                  std::string(kMinimal) + "listeners: {name: x}\n",
                  {"listeners: duplicate key (first set at line 1) (wsgate.yaml:10:1)"}},
        ErrorCase{"ListenersNotAList",
                  R"(listeners: main
routes: [{name: r, backend: b}]
backends: [{name: b, endpoints: ["127.0.0.1:1"]}]
)",
                  {"listeners: expected a list (wsgate.yaml:1:12)"}},
        ErrorCase{"ExpectedAMap",
                  std::string(kMinimal) + "admin: 127.0.0.1:9901\n",
                  {"admin: expected a map (wsgate.yaml:10:8)"}},
        ErrorCase{"MissingListenersAndRoutes",
                  "backends: []\n",
                  {"listeners: at least one listener is required (wsgate.yaml:1:1)",
                   "routes: at least one route is required (wsgate.yaml:1:1)"}},
        ErrorCase{"EmptyLists",
                  "listeners: []\nroutes: []\n",
                  {"listeners: at least one listener is required (wsgate.yaml:1:12)",
                   "routes: at least one route is required (wsgate.yaml:2:9)"}},
        ErrorCase{"EmptyFile",
                  "",
                  {"the config is empty; expected a map with listeners, routes and backends "
                   "(wsgate.yaml:1:1)"}},
        ErrorCase{"TopLevelList", "- a\n", {"expected a map (wsgate.yaml:1:1)"}},
        ErrorCase{"TwoDocuments",
                  std::string(kMinimal) + "---\nworkers: 1\n",
                  {"expected one YAML document; a second one starts here (wsgate.yaml:10:1)"}},
        ErrorCase{"ListenerRequiredKeys",
                  R"(listeners:
  - protocols: [http/1.1]
routes: [{name: r, backend: b}]
backends: [{name: b, endpoints: ["127.0.0.1:1"]}]
)",
                  {"listeners[0].name: required key missing (wsgate.yaml:2:5)",
                   "listeners[0].address: required key missing (wsgate.yaml:2:5)"}},
        ErrorCase{
            "ListenerBadAddress",
            R"(listeners:
  - name: l
    address: 8080
  - name: m
    address: ::1:80
  - name: n
    address: 1.2.3.4:65536
routes: [{name: r, backend: b}]
backends: [{name: b, endpoints: ["127.0.0.1:1"]}]
)",
            {"listeners[0].address: expected host:port like 127.0.0.1:8080 or [::1]:8080, got \"8080\" "
             "(wsgate.yaml:3:14)",
             "listeners[1].address: expected host:port like 127.0.0.1:8080 or [::1]:8080, got \"::1:80\" "
             "(wsgate.yaml:5:14)",
             "listeners[2].address: expected host:port like 127.0.0.1:8080 or [::1]:8080, got "
             "\"1.2.3.4:65536\" (wsgate.yaml:7:14)"}},
        ErrorCase{
            "DuplicateNamesAndAddresses",
            R"(listeners:
  - name: l
    address: 0.0.0.0:80
  - name: l
    address: 0.0.0.0:81
  - name: k
    address: 0.0.0.0:80
routes:
  - {name: r, backend: b}
  - {name: r, backend: b}
backends:
  - {name: b, endpoints: ["127.0.0.1:1"]}
  - {name: b, endpoints: ["127.0.0.1:2"]}
)",
            {"listeners[1].name: duplicate listener name \"l\" (wsgate.yaml:4:11)",
             "listeners[2].address: address 0.0.0.0:80 is already used by listener \"l\" (wsgate.yaml:7:14)",
             "routes[1].name: duplicate route name \"r\" (wsgate.yaml:10:12)",
             "backends[1].name: duplicate backend name \"b\" (wsgate.yaml:13:12)"}},
        ErrorCase{"TlsNeedsCertAndKey",
                  R"(listeners:
  - name: l
    address: 0.0.0.0:443
    tls:
      cert: c.pem
routes: [{name: r, backend: b}]
backends: [{name: b, endpoints: ["127.0.0.1:1"]}]
)",
                  {"listeners[0].tls.key: required key missing (tls needs cert and key) (wsgate.yaml:5:7)"}},
        ErrorCase{
            "ProtocolRules",
            R"(listeners:
  - name: plain
    address: 0.0.0.0:80
    protocols: [h2, http/1.1, http/1.1, h3]
  - name: tls
    address: 0.0.0.0:443
    tls: {cert: c, key: k}
    protocols: [h2c]
  - name: none
    address: 0.0.0.0:8
    protocols: []
routes: [{name: r, backend: b}]
backends: [{name: b, endpoints: ["127.0.0.1:1"]}]
)",
            {"listeners[0].protocols[0]: h2 needs tls; a cleartext listener offers h2c (prior knowledge) "
             "(wsgate.yaml:4:17)",
             "listeners[0].protocols[2]: duplicate protocol \"http/1.1\" (wsgate.yaml:4:31)",
             "listeners[0].protocols[3]: expected one of h2 | h2c | http/1.1, got \"h3\" (did you mean "
             "\"h2\"?) (wsgate.yaml:4:41)",
             "listeners[1].protocols[0]: h2c is cleartext only; a tls listener offers h2 through ALPN "
             "(wsgate.yaml:8:17)",
             "listeners[2].protocols: at least one protocol is required (wsgate.yaml:11:16)"}},
        ErrorCase{"MaxConnectionsZero",
                  R"(listeners: [{name: l, address: "0.0.0.0:80", max_connections: 0}]
routes: [{name: r, backend: b}]
backends: [{name: b, endpoints: ["127.0.0.1:1"]}]
)",
                  {"listeners[0].max_connections: must be between 1 and 4294967295 (wsgate.yaml:1:63)"}},
        ErrorCase{"RouteMatchRules",
                  R"(listeners: [{name: l, address: "0.0.0.0:80"}]
routes:
  - name: both
    match: {path: /a, path_prefix: /b}
    backend: b
  - name: relative
    match: {path_prefix: chat, host: "chat.*"}
    backend: b
  - name: bad name!
    backend: b
backends: [{name: b, endpoints: ["127.0.0.1:1"]}]
)",
                  {"routes[0].match.path_prefix: set either path or path_prefix, not both (wsgate.yaml:4:36)",
                   "routes[1].match.path_prefix: must start with \"/\" (wsgate.yaml:7:26)",
                   "routes[1].match.host: expected a host name like chat.example.com or *.example.com, got "
                   "\"chat.*\" (wsgate.yaml:7:38)",
                   "routes[2].name: invalid name \"bad name!\" (use up to 64 of A-Z a-z 0-9 - _ .) "
                   "(wsgate.yaml:9:11)"}},
        ErrorCase{
            "RouteValueRules",
            R"(listeners: [{name: l, address: "0.0.0.0:80"}]
routes:
  - name: r
    backend: b
    allowed_origins: https://a.example
    subprotocols: ["chat v1", chat.v2]
    keepalive: {timeout: 5s}
    compression: gzip
    validate: strict
    max_message_bytes: lots
    static: ""
backends: [{name: b, endpoints: ["127.0.0.1:1"]}]
)",
            {"routes[0].allowed_origins: expected a list (wsgate.yaml:5:22)",
             "routes[0].subprotocols[0]: a subprotocol must be a token (RFC 6455 §4.1), got \"chat v1\" "
             "(wsgate.yaml:6:20)",
             "routes[0].keepalive.timeout: a keepalive timeout needs a non-zero interval (wsgate.yaml:7:26)",
             "routes[0].compression: expected one of passthrough | off | terminate, got \"gzip\" "
             "(wsgate.yaml:8:18)",
             "routes[0].validate: expected one of off | frames | full, got \"strict\" (wsgate.yaml:9:15)",
             "routes[0].max_message_bytes: expected a size like 64KiB, got \"lots\" (wsgate.yaml:10:24)",
             "routes[0].static: must not be empty (wsgate.yaml:11:13)"}},
        ErrorCase{
            "DeflateRules",
            R"(listeners: [{name: l, address: "0.0.0.0:80"}]
routes:
  - name: r
    backend: b
    compression: terminate
    validate: "off"
    deflate:
      server_max_window_bits: 7
      client_max_window_bits: 16
      server_no_context_takeover: yes
      max_inflated_message_bytes: 0
      min_message_bytes: lots
      mem_level: 10
      client_max_window_bit: 9
backends: [{name: b, endpoints: ["127.0.0.1:1"]}]
)",
            {"routes[0].compression: compression: terminate parses every frame; it cannot be combined with "
             "validate: off (wsgate.yaml:5:18)",
             "routes[0].deflate.server_max_window_bits: must be between 8 and 15 (wsgate.yaml:8:31)",
             "routes[0].deflate.client_max_window_bits: must be between 8 and 15 (wsgate.yaml:9:31)",
             "routes[0].deflate.server_no_context_takeover: expected true or false, got \"yes\" (wsgate.yaml:10:35)",
             "routes[0].deflate.max_inflated_message_bytes: must be at least 1 bytes (wsgate.yaml:11:35)",
             "routes[0].deflate.min_message_bytes: expected a size like 64KiB, got \"lots\" (wsgate.yaml:12:26)",
             "routes[0].deflate.mem_level: must be between 1 and 9 (wsgate.yaml:13:18)",
             "routes[0].deflate.client_max_window_bit: unknown key (did you mean \"client_max_window_bits\"?) "
             "(wsgate.yaml:14:7)"}},
        ErrorCase{
            "BackendRules",
            R"(listeners: [{name: l, address: "0.0.0.0:80"}]
routes: [{name: r, backend: b}]
backends:
  - name: b
    endpoints: []
    protocol: http2
    tls: {verify: maybe}
  - name: c
    endpoints: ["10.0.0.1:0", "10.0.0.2"]
  - name: d
)",
            {"backends[0].endpoints: at least one endpoint is required (wsgate.yaml:5:16)",
             "backends[0].protocol: expected one of http/1.1 | h2 | auto, got \"http2\" (wsgate.yaml:6:15)",
             "backends[0].tls.verify: expected true or false, got \"maybe\" (wsgate.yaml:7:19)",
             "backends[1].endpoints[0]: port 0 is not allowed here (wsgate.yaml:9:17)",
             "backends[1].endpoints[1]: expected host:port like 127.0.0.1:8080 or [::1]:8080, got "
             "\"10.0.0.2\" (wsgate.yaml:9:31)",
             "backends[2].endpoints: required key missing (wsgate.yaml:10:5)"}},
        ErrorCase{"AccessLogFormat",
                  std::string(kMinimal) + "access_log: {format: text}\n",
                  {"access_log.format: expected one of json, got \"text\" (wsgate.yaml:10:22)"}},
        ErrorCase{"NonScalarKey",
                  std::string(kMinimal) + "admin: {[a]: 1}\n",
                  {"admin: expected a plain string key (wsgate.yaml:10:9)"}}),
    [](const testing::TestParamInfo<ErrorCase>& param_info) { return std::string(param_info.param.name); });

TEST(ConfigErrorsCollected, AllErrorsInFileOrder) {
  auto errors = load_errors(R"(workers: zero
listeners:
  - name: l
    adress: 0.0.0.0:80
routes:
  - name: r
    backend: missing
    compresion: off
backends:
  - name: b
    endpoints: [nowhere]
)");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "workers: expected an integer, got \"zero\" (wsgate.yaml:1:10)",
                        "listeners[0].address: required key missing (wsgate.yaml:3:5)",  // at its map
                        "listeners[0].adress: unknown key (did you mean \"address\"?) (wsgate.yaml:4:5)",
                        "routes[0].backend: unknown backend \"missing\" (wsgate.yaml:7:14)",
                        "routes[0].compresion: unknown key (did you mean \"compression\"?) (wsgate.yaml:8:5)",
                        "backends[0].endpoints[0]: expected host:port like 127.0.0.1:8080 or [::1]:8080, got "
                        "\"nowhere\" (wsgate.yaml:11:17)",
                    }));
}

// NOLINTEND(bugprone-suspicious-missing-comma)

TEST(ConfigSyntax, YamlSyntaxErrorHasPosition) {
  auto errors = load_errors("listeners:\n  - name: l\n    address: [127.0.0.1:80\nroutes: []\n");
  ASSERT_EQ(errors.size(), 1u);
  // yaml-cpp reports where it noticed the problem: the unclosed "[" runs into the next key.
  EXPECT_EQ(errors[0], "YAML syntax error: end of sequence flow not found (wsgate.yaml:4:7)");

  EXPECT_EQ(load_errors("listeners:\n\t- name: l\n"),
            std::vector<std::string>{"YAML syntax error: illegal block entry (wsgate.yaml:2:2)"});
  EXPECT_EQ(load_errors("workers: 1\nroutes: a: b\n"),
            std::vector<std::string>{"YAML syntax error: illegal map value (wsgate.yaml:2:10)"});
}

TEST(ConfigBudgets, StopsAfterTooManyErrors) {
  std::string yaml = kMinimal;
  for (int i = 0; i < 150; ++i) yaml += "unknown" + std::to_string(i) + ": 1\n";
  auto errors = load_errors(yaml);
  ASSERT_EQ(errors.size(), 101u);
  EXPECT_EQ(errors[0], "unknown0: unknown key (wsgate.yaml:10:1)");
  EXPECT_EQ(errors[99], "unknown99: unknown key (wsgate.yaml:109:1)");
  EXPECT_EQ(errors[100], "too many errors; stopped after 100 (wsgate.yaml:110:1)");
}

TEST(ConfigBudgets, AliasesCannotMultiplyTheWork) {
  // 300 routes share one 1000-item list through an alias: 300000 values from a few KiB of YAML.
  std::string yaml = R"(listeners: [{name: l, address: "0.0.0.0:80"}]
backends: [{name: b, endpoints: ["127.0.0.1:1"]}]
routes:
  - {name: r0, backend: b, allowed_origins: &origins [)";
  for (int i = 0; i < 1000; ++i) yaml += "o,";
  yaml += "o]}\n";
  for (int i = 1; i < 300; ++i)
    yaml += "  - {name: r" + std::to_string(i) + ", backend: b, allowed_origins: *origins}\n";
  auto errors = load_errors(yaml);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(errors[0].starts_with("config too large: more than 100000 values (wsgate.yaml:")) << errors[0];
}

TEST(ConfigSyntax, HostileInputsNeverThrow) {
  const std::vector<std::string> inputs = {
      "x: &a [*a]\nlisteners: &l [*l]\nroutes: *l\n",
      std::string(5000, '[') + std::string(5000, ']'),
      std::string("\0\xff\xfe: \x01", 6),
      "listeners: !!binary aGVsbG8=\n",
      "? [a, b]\n: c\n",
      "*unknown_alias\n",
      "%YAML 9.9\n---\na: 1\n",
  };
  for (const auto& input : inputs) {
    ConfigLoadResult result;
    EXPECT_NO_THROW(result = load_config_string(input, "wsgate.yaml")) << input.substr(0, 40);
    EXPECT_EQ(result.config, nullptr);
    EXPECT_FALSE(result.errors.empty());
  }
}

// ---------------------------------------------------------------------------------------------
// ConfigError, marks, error_at

TEST(ConfigErrorFormat, ToStringShapes) {
  EXPECT_EQ(
      (ConfigError{"routes[2].backend", "unknown backend \"chat\"", "wsgate.yaml", {17, 14}}).to_string(),
      "routes[2].backend: unknown backend \"chat\" (wsgate.yaml:17:14)");
  EXPECT_EQ((ConfigError{"", "YAML syntax error: x", "a.yaml", {1, 2}}).to_string(),
            "YAML syntax error: x (a.yaml:1:2)");
  EXPECT_EQ((ConfigError{"", "cannot read", "a.yaml", {}}).to_string(), "cannot read (a.yaml)");
  EXPECT_EQ((ConfigError{"k", "m", "", {}}).to_string(), "k: m");
}

TEST(ConfigMarks, ErrorAtFallsBackToClosestParent) {
  auto config = load_ok(kMinimal);
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->marks.at("routes[0].backend").line, 6);
  EXPECT_EQ(config->marks.at("routes[0].backend").column, 14);
  EXPECT_EQ(config->marks.at("backends[0].endpoints[0]").column, 17);
  EXPECT_EQ(config->error_at("routes[0].backend", "backend down").to_string(),
            "routes[0].backend: backend down (wsgate.yaml:6:14)");
  // routes[0].compression is not in the file: the route itself is the closest position.
  EXPECT_EQ(config->error_at("routes[0].compression", "not supported yet").to_string(),
            "routes[0].compression: not supported yet (wsgate.yaml:5:5)");
  EXPECT_EQ(config->error_at("http2.max_frame_size", "not supported yet").to_string(),
            "http2.max_frame_size: not supported yet (wsgate.yaml)");
}

// ---------------------------------------------------------------------------------------------
// Value parsers

TEST(ParseDuration, Table) {
  const std::vector<std::pair<std::string, std::optional<Millis>>> cases = {
      {"0", 0ms},
      {"30s", 30s},
      {"250ms", 250ms},
      {"10m", 10min},
      {"1h", 1h},
      {"1h30m", 90min},
      {"1m30s", 90s},
      {"0s", 0ms},
      {"0ms", 0ms},
      {"86400s", 24h},
      {"", std::nullopt},
      {"30", std::nullopt},
      {"-5s", std::nullopt},
      {"+5s", std::nullopt},
      {"5 s", std::nullopt},
      {" 5s", std::nullopt},
      {"5s ", std::nullopt},
      {"1.5s", std::nullopt},
      {"5S", std::nullopt},
      {"5d", std::nullopt},
      {"s", std::nullopt},
      {"5sec", std::nullopt},
      {"99999999999999999999s", std::nullopt},
      {"9223372036854775807h", std::nullopt},
      {"abc", std::nullopt},
  };
  for (const auto& [text, expected] : cases) EXPECT_EQ(parse_duration(text), expected) << '"' << text << '"';
}

TEST(ParseSize, Table) {
  const std::vector<std::pair<std::string, std::optional<std::uint64_t>>> cases = {
      {"0", 0},
      {"1024", 1024},
      {"1B", 1},
      {"64KiB", 65536},
      {"16MiB", 16777216},
      {"1GiB", 1073741824},
      {"64KB", 64000},
      {"2MB", 2000000},
      {"3GB", 3000000000},
      {"18446744073709551615", 18446744073709551615ull},
      {"18446744073709551616", std::nullopt},
      {"17179869184GiB", std::nullopt},  // 2^34 GiB = 2^64 bytes: overflow
      {"", std::nullopt},
      {"KiB", std::nullopt},
      {"64 KiB", std::nullopt},
      {"64kib", std::nullopt},
      {"64k", std::nullopt},
      {"64TiB", std::nullopt},
      {"-1", std::nullopt},
      {"1.5MiB", std::nullopt},
      {"0x10", std::nullopt},
  };
  for (const auto& [text, expected] : cases) EXPECT_EQ(parse_size(text), expected) << '"' << text << '"';
}

TEST(ParseHostPort, Table) {
  struct Case {
    std::string text;
    bool ok;
    std::string host;
    std::uint16_t port;
    std::string round_trip;
  };
  const std::vector<Case> cases = {
      {"127.0.0.1:80", true, "127.0.0.1", 80, "127.0.0.1:80"},
      {"0.0.0.0:0", true, "0.0.0.0", 0, "0.0.0.0:0"},
      {"localhost:9000", true, "localhost", 9000, "localhost:9000"},
      {"backend.internal:65535", true, "backend.internal", 65535, "backend.internal:65535"},
      {"[::]:8443", true, "::", 8443, "[::]:8443"},
      {"[::1]:80", true, "::1", 80, "[::1]:80"},
      {"[2001:db8::1]:443", true, "2001:db8::1", 443, "[2001:db8::1]:443"},
      {"[fe80::1%eth0]:80", true, "fe80::1%eth0", 80, "[fe80::1%eth0]:80"},
      {"[::ffff:10.0.0.1]:1", true, "::ffff:10.0.0.1", 1, "[::ffff:10.0.0.1]:1"},
      {"", false, "", 0, ""},
      {"8080", false, "", 0, ""},
      {":8080", false, "", 0, ""},
      {"host:", false, "", 0, ""},
      {"host:65536", false, "", 0, ""},
      {"host:123456", false, "", 0, ""},
      {"host:-1", false, "", 0, ""},
      {"host:80x", false, "", 0, ""},
      {"::1:80", false, "", 0, ""},
      {"[::1]", false, "", 0, ""},
      {"[::1]80", false, "", 0, ""},
      {"[zz::1]:80", false, "", 0, ""},
      {"[127.0.0.1]:80", false, "", 0, ""},
      {"[fe80::1%]:80", false, "", 0, ""},
      {"bad host:80", false, "", 0, ""},
      {"http://x:80", false, "", 0, ""},
  };
  for (const auto& c : cases) {
    auto parsed = parse_host_port(c.text);
    ASSERT_EQ(parsed.has_value(), c.ok) << '"' << c.text << '"';
    if (!parsed) continue;
    EXPECT_EQ(parsed->host, c.host) << c.text;
    EXPECT_EQ(parsed->port, c.port) << c.text;
    EXPECT_EQ(parsed->to_string(), c.round_trip) << c.text;
  }
}

// ---------------------------------------------------------------------------------------------
// WebSocket route options and route_defaults

TEST(ConfigRouteOptions, DefaultsApplyToEveryRouteAndRoutesOverride) {
  auto config = load_ok(R"(listeners:
  - name: main
    address: 127.0.0.1:0
    max_connections: 10
    max_streams_per_connection: 50
routes:
  - name: chat
    match: {path: /chat, subprotocol: graphql-transport-ws}
    backend: b
    keepalive: {interval: 20s, timeout: 5s, backend: {interval: 1m, timeout: 10s}, peer_pings: answer}
    max_frame_bytes: 16KiB
    require_subprotocol: true
    subprotocols: [graphql-transport-ws]
  - name: plain
    backend: b
route_defaults:
  idle_timeout: 10m
  max_frame_bytes: 1MiB
  max_websockets: 5000
  handshake_timeout: 3s
  close_timeout: 2s
  keepalive: {interval: 30s}
backends:
  - name: b
    endpoints: [127.0.0.1:9000]
)");
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->listeners[0].max_connections, 10u);
  EXPECT_EQ(config->listeners[0].max_streams_per_connection, std::optional<std::uint32_t>(50));
  const RouteConfig& chat = config->routes[0];
  EXPECT_EQ(chat.subprotocol, std::optional<std::string>("graphql-transport-ws"));
  EXPECT_EQ(chat.keepalive.interval, 20s);
  EXPECT_EQ(chat.keepalive.timeout, 5s);
  EXPECT_EQ(chat.backend_keepalive.interval, 1min);
  EXPECT_EQ(chat.backend_keepalive.timeout, 10s);
  EXPECT_EQ(chat.peer_pings, PeerPings::kAnswer);
  EXPECT_EQ(chat.max_frame_bytes, 16u * 1024);  // its own
  EXPECT_EQ(chat.idle_timeout, 10min);          // inherited
  EXPECT_EQ(chat.max_websockets, 5000u);        // inherited
  EXPECT_EQ(chat.handshake_timeout, std::optional<Millis>(3s));
  EXPECT_EQ(chat.close_timeout, std::optional<Millis>(2s));
  EXPECT_TRUE(chat.require_subprotocol);
  const RouteConfig& plain = config->routes[1];
  EXPECT_EQ(plain.keepalive.interval, 30s);
  EXPECT_EQ(plain.keepalive.timeout, 0ms);
  EXPECT_EQ(plain.backend_keepalive.interval, 0ms);
  EXPECT_EQ(plain.peer_pings, PeerPings::kForward);
  EXPECT_EQ(plain.max_frame_bytes, 1024u * 1024);
  EXPECT_FALSE(plain.subprotocol);
  EXPECT_FALSE(plain.require_subprotocol);
}

TEST(ConfigRouteOptions, WithoutDefaultsTheNewKeysAreOff) {
  auto config = load_ok(kMinimal);
  ASSERT_NE(config, nullptr);
  const RouteConfig& r = config->routes[0];
  EXPECT_EQ(r.max_frame_bytes, 0u);
  EXPECT_EQ(r.max_websockets, 0u);
  EXPECT_FALSE(r.handshake_timeout);
  EXPECT_FALSE(r.close_timeout);
  EXPECT_FALSE(config->listeners[0].max_streams_per_connection);
}

TEST(ConfigRouteOptions, BadValuesNameTheirKeyAndLine) {
  EXPECT_EQ(
      load_errors(R"(listeners: [{name: l, address: "0.0.0.0:80", max_streams_per_connection: 0}]
route_defaults:
  keepalive: {backend: {timeout: 1s}, peer_pings: reply}
  name: nope
routes:
  - name: r
    match: {subprotocol: "a b"}
    backend: b
    max_websockets: -1
    require_subprotocol: maybe
    close_timeout: soon
backends: [{name: b, endpoints: ["127.0.0.1:1"]}]
)"),
      (std::vector<std::string>{
          "listeners[0].max_streams_per_connection: must be between 1 and 4294967295 (wsgate.yaml:1:74)",
          "route_defaults.keepalive.backend.timeout: a keepalive timeout needs a non-zero interval "
          "(wsgate.yaml:3:34)",
          "route_defaults.keepalive.peer_pings: expected one of forward | answer, got \"reply\" "
          "(wsgate.yaml:3:51)",
          "route_defaults.name: unknown key (wsgate.yaml:4:3)",
          "routes[0].match.subprotocol: a subprotocol must be a token (RFC 6455 §4.1), got \"a b\" "
          "(wsgate.yaml:7:26)",
          "routes[0].max_websockets: expected an integer, got \"-1\" (wsgate.yaml:9:21)",
          "routes[0].require_subprotocol: expected true or false, got \"maybe\" (wsgate.yaml:10:26)",
          "routes[0].close_timeout: expected a duration like 30s, got \"soon\" (wsgate.yaml:11:20)",
      }));
}

}  // namespace
}  // namespace wsgate::gw
