// Shared by the HTTP/2 gateway tests (gateway_h2_*_test.cpp, RFC 8441): the client transport
// parameter (h2c prior knowledge or h2 over TLS), a self-signed certificate made once per test
// binary, the gateway config, and a fixture that starts wsgate-echo + wsgate and connects H2Clients.
// Kept in its own namespace so its inline helpers never collide with the h1 tests' ones.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "tests/integration/h2_client.hpp"
#include "tests/integration/harness.hpp"

namespace wsgate::test::h2_gateway {

using namespace std::chrono_literals;

enum class Transport { kH2c, kH2Tls };

// How much the gateway's RSS may grow in a test that pushes tens of MiB through stalled streams or
// floods it: generous, since its buffers are 256 KiB per stream and direction. AddressSanitizer keeps
// freed blocks in quarantine (256 MiB by default), so under it RSS also counts freed memory.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr std::size_t kRssGrowthBoundBytes = 320u * 1024 * 1024;
#else
inline constexpr std::size_t kRssGrowthBoundBytes = 64u * 1024 * 1024;
#endif

inline std::string transport_name(Transport transport) {
  return transport == Transport::kH2Tls ? "H2Tls" : "H2c";
}

inline std::string transport_param_name(const ::testing::TestParamInfo<Transport>& info) {
  return transport_name(info.param);
}

inline const auto kBothTransports = ::testing::Values(Transport::kH2c, Transport::kH2Tls);

struct Certificate {
  std::string cert_path;
  std::string key_path;
};

// A self-signed certificate for CN=localhost (P-256: quick to make), made with the openssl CLI once
// per test binary.
inline const Certificate& certificate() {
  static const TempDir dir("wsgate-h2it-cert");
  static const Certificate made = [] {
    Certificate c{(dir.path() / "cert.pem").string(), (dir.path() / "key.pem").string()};
    Process openssl(
        {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-subj", "/CN=localhost", "-days", "1", "-keyout", c.key_path, "-out", c.cert_path},
        dir.path() / "openssl.log");
    if (openssl.wait_exit(30s) != 0) throw std::runtime_error("openssl req failed:\n" + openssl.log_text());
    return c;
  }();
  return made;
}

// A port on 127.0.0.1 with nothing listening (bound, then closed).
inline std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool bound = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  if (fd >= 0) ::close(fd);
  if (!bound) throw std::runtime_error("closed_port: bind failed");
  return ntohs(addr.sin_port);
}

// Routes: /echo... and the echo hooks (/status/NNN, /headers) to wsgate-echo, /strict with an
// Origin allow-list, /dead to a closed port; anything else has no route (404).
// `extra_yaml` adds top-level keys (an `http2:` or `limits:` block); `extra_routes` and
// `extra_backends` are list entries put first among the routes and last among the backends.
inline std::string gateway_config(Transport transport, const std::string& echo_address,
                                  std::string_view extra_yaml = {}, std::string_view extra_routes = {},
                                  std::string_view extra_backends = {}) {
  std::string listener = transport == Transport::kH2Tls
                             ? "    protocols: [h2, http/1.1]\n    tls: {cert: \"" + certificate().cert_path +
                                   "\", key: \"" + certificate().key_path + "\"}\n"
                             : std::string("    protocols: [h2c, http/1.1]\n");
  return R"(workers: 1
drain_timeout: 3s
listeners:
  - name: main
    address: 127.0.0.1:0
)" + listener +
         R"(admin:
  enabled: false
access_log:
  path: off
)" + std::string(extra_yaml) +
         R"(
routes:
)" + std::string(extra_routes) +
         R"(  - name: strict
    match: {path_prefix: /strict}
    backend: echo
    allowed_origins: ["https://good.example"]
  - name: dead
    match: {path_prefix: /dead}
    backend: dead
  - name: status
    match: {path_prefix: /status}
    backend: echo
  - name: headers
    match: {path: /headers}
    backend: echo
  - name: echo
    match: {path_prefix: /echo}
    backend: echo
backends:
  - name: echo
    endpoints: [)" +
         echo_address + R"(]
  - name: dead
    endpoints: [127.0.0.1:)" +
         std::to_string(closed_port()) + R"(]
    connect_timeout: 1s
)" + std::string(extra_backends);
}

// One wsgate-echo and one wsgate per test, over the transport of the parameter.
template <typename Param = Transport>
class GatewayH2Fixture : public ::testing::TestWithParam<Param> {
 protected:
  virtual Transport transport() const = 0;

  // Starts the echo backend and the gateway (call from the test body, or SetUp).
  void start(std::string_view extra_yaml = {}, std::string_view extra_routes = {},
             std::string_view extra_backends = {}) {
    // TLS writes go through write(2): a gateway closing first must not SIGPIPE the test binary.
    ::signal(SIGPIPE, SIG_IGN);
    echo_ = std::make_unique<EchoBackend>();
    gateway_ = std::make_unique<Gateway>(
        gateway_config(transport(), echo_->address(), extra_yaml, extra_routes, extra_backends));
  }

  Gateway& gateway() { return *gateway_; }
  EchoBackend& echo() { return *echo_; }
  bool tls() const { return transport() == Transport::kH2Tls; }

  ::testing::AssertionResult connect(H2Client& client) {
    if (!client.connect("127.0.0.1", gateway_->port("main"), tls())) {
      return ::testing::AssertionFailure()
             << "connect (" << transport_name(transport()) << "): " << client.last_error();
    }
    return ::testing::AssertionSuccess();
  }

  // Opens a WebSocket on `path` and waits for its 200; the stream id, or -1 (with a test failure).
  std::int32_t open_echo(H2Client& client, std::string_view path = "/echo",
                         std::chrono::milliseconds timeout = kDefaultTimeout) {
    const std::int32_t stream = client.open_websocket(path);
    EXPECT_GT(stream, 0) << client.last_error();
    if (stream <= 0) return -1;
    const std::optional<H2Response> response = client.wait_response(stream, timeout);
    EXPECT_TRUE(response) << "stream " << stream << ": " << client.last_error();
    if (!response) return -1;
    EXPECT_EQ(response->status, 200) << "stream " << stream;
    return response->status == 200 ? stream : -1;
  }

  // One message round trip on an open stream.
  ::testing::AssertionResult echo_once(H2Client& client, std::int32_t stream, const std::string& payload,
                                       std::chrono::milliseconds timeout = kDefaultTimeout) {
    if (!client.send_message(stream, ws::Opcode::kText, payload, 0, timeout)) {
      return ::testing::AssertionFailure() << "send on stream " << stream << ": " << client.last_error();
    }
    const std::optional<Message> message = client.recv_message(stream, timeout);
    if (!message) {
      return ::testing::AssertionFailure() << "no echo on stream " << stream << ": " << client.last_error();
    }
    if (message->payload != payload || message->opcode != ws::Opcode::kText) {
      return ::testing::AssertionFailure()
             << "stream " << stream << " echoed " << message->payload.size() << " bytes (opcode "
             << static_cast<int>(message->opcode) << ") instead of " << payload.size();
    }
    return ::testing::AssertionSuccess();
  }

  // A fresh WebSocket on the same connection still echoes.
  ::testing::AssertionResult still_usable(H2Client& client, std::string_view what) {
    const std::int32_t stream = open_echo(client);
    if (stream <= 0) return ::testing::AssertionFailure() << "after " << what << ": no new WebSocket";
    if (auto echoed = echo_once(client, stream, "still usable after " + std::string(what)); !echoed) {
      return echoed;
    }
    client.reset(stream);
    return ::testing::AssertionSuccess();
  }

  std::unique_ptr<EchoBackend> echo_;
  std::unique_ptr<Gateway> gateway_;
};

// The fixture for tests parameterised by transport only.
class GatewayH2Test : public GatewayH2Fixture<Transport> {
 protected:
  Transport transport() const override { return GetParam(); }
};

}  // namespace wsgate::test::h2_gateway
