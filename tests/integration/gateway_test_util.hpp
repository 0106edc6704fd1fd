// Helpers shared by the gateway end-to-end tests (gateway_*_test.cpp): the client transport
// parameter (cleartext or TLS), a self-signed certificate made once per test binary, the listener
// block of a gateway config, and a tiny TCP server run by a thread of the test process for backends
// that misbehave in ways wsgate-echo cannot (silent, a wrong answer, recording the frames it gets).
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/integration/harness.hpp"
#include "tests/integration/ws_client.hpp"
#include "ws/handshake.hpp"

namespace wsgate::test {

// ---- client transport: one test body over cleartext and TLS listeners ----

enum class ClientTransport { kPlain, kTls };

inline std::string transport_name(ClientTransport transport) {
  return transport == ClientTransport::kTls ? "Tls" : "Plain";
}

// So that gtest prints "Tls" rather than the enum's bytes.
inline void PrintTo(ClientTransport transport, std::ostream* os) { *os << transport_name(transport); }

inline std::string transport_param_name(const ::testing::TestParamInfo<ClientTransport>& info) {
  return transport_name(info.param);
}

// A self-signed certificate for CN=localhost, made with the openssl CLI once per test binary.
struct TestCertificate {
  std::string cert_path;
  std::string key_path;
};

inline const TestCertificate& test_certificate() {
  static const TempDir dir("wsgate-it-cert");
  static const TestCertificate certificate = [] {
    TestCertificate c{(dir.path() / "cert.pem").string(), (dir.path() / "key.pem").string()};
    Process openssl({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                     "/CN=localhost", "-days", "1", "-keyout", c.key_path, "-out", c.cert_path},
                    dir.path() / "openssl.log");
    if (openssl.wait_exit(std::chrono::seconds(30)) != 0) {
      throw std::runtime_error("openssl req failed:\n" + openssl.log_text());
    }
    return c;
  }();
  return certificate;
}

// The `listeners:` entries of a config: one listener "main" on 127.0.0.1:0, TLS or not.
inline std::string listener_yaml(ClientTransport transport) {
  std::string yaml =
      "  - name: main\n"
      "    address: 127.0.0.1:0\n"
      "    protocols: [http/1.1]\n";
  if (transport == ClientTransport::kTls) {
    const TestCertificate& c = test_certificate();
    yaml += "    tls: {cert: \"" + c.cert_path + "\", key: \"" + c.key_path + "\"}\n";
  }
  return yaml;
}

inline std::optional<TlsOptions> client_tls(ClientTransport transport) {
  if (transport == ClientTransport::kTls) return TlsOptions{};
  return std::nullopt;
}

// Connects `client` to 127.0.0.1:port over `transport`.
inline ::testing::AssertionResult connect_client(WsClient& client, std::uint16_t port,
                                                 ClientTransport transport,
                                                 std::chrono::milliseconds timeout = kDefaultTimeout) {
  if (!client.connect("127.0.0.1", port, timeout, client_tls(transport))) {
    return ::testing::AssertionFailure()
           << "connect (" << transport_name(transport) << "): " << client.last_error();
  }
  return ::testing::AssertionSuccess();
}

// Connects and upgrades on `path`.
inline ::testing::AssertionResult upgrade_client(WsClient& client, std::uint16_t port,
                                                 ClientTransport transport, std::string_view path = "/",
                                                 const HeaderList& headers = {}) {
  if (auto connected = connect_client(client, port, transport); !connected) return connected;
  const HandshakeResult result = client.handshake(path, "", headers);
  if (!result.upgraded()) {
    return ::testing::AssertionFailure()
           << "handshake on " << path << ": status " << result.status << ", accept_ok " << result.accept_ok
           << ", " << result.error << ", body: " << result.body;
  }
  return ::testing::AssertionSuccess();
}

// A port on 127.0.0.1 with nothing listening (bound, then closed; another process could take it in
// between, which is unlikely in the ephemeral range).
inline std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("closed_port: bind failed");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// ---- raw socket I/O for the tiny server, every call bounded ----

namespace raw {

inline bool wait_fd(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, static_cast<int>(left.count())) > 0;
}

inline bool write_all(int fd, std::string_view bytes, std::chrono::milliseconds timeout = kDefaultTimeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!bytes.empty()) {
    if (!wait_fd(fd, POLLOUT, deadline)) return false;
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Exactly `size` bytes, or nullopt on timeout / EOF / error.
inline std::optional<std::string> read_exact(int fd, std::size_t size,
                                             std::chrono::steady_clock::time_point deadline) {
  std::string out(size, '\0');
  std::size_t have = 0;
  while (have < size) {
    if (!wait_fd(fd, POLLIN, deadline)) return std::nullopt;
    const ssize_t n = ::recv(fd, out.data() + have, size - have, 0);
    if (n <= 0) return std::nullopt;
    have += static_cast<std::size_t>(n);
  }
  return out;
}

// An HTTP head up to and including the blank line (read byte by byte: nothing after it is taken).
inline std::optional<std::string> read_head(int fd, std::chrono::milliseconds timeout = kDefaultTimeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string head;
  while (head.size() < 65536) {
    auto byte = read_exact(fd, 1, deadline);
    if (!byte) return std::nullopt;
    head += *byte;
    if (head.ends_with("\r\n\r\n")) return head;
  }
  return std::nullopt;
}

// The value of header `name` (case-insensitive) in a raw head.
inline std::optional<std::string> header_value(std::string_view head, std::string_view name) {
  std::size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    const std::size_t start = pos + 2;
    const std::size_t end = head.find("\r\n", start);
    if (end == std::string_view::npos) break;
    const std::string_view line = head.substr(start, end - start);
    const std::size_t colon = line.find(':');
    if (colon == name.size() && std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
      return std::string(value);
    }
    pos = end;
  }
  return std::nullopt;
}

// One frame as a server reads it: unmasked payload, and whether it was masked.
struct RawFrame {
  bool fin = false;
  std::uint8_t opcode = 0;
  bool masked = false;
  std::string payload;
};

inline std::optional<RawFrame> read_frame(int fd, std::chrono::milliseconds timeout = kDefaultTimeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto head = read_exact(fd, 2, deadline);
  if (!head) return std::nullopt;
  RawFrame frame;
  const auto b0 = static_cast<std::uint8_t>((*head)[0]);
  const auto b1 = static_cast<std::uint8_t>((*head)[1]);
  frame.fin = (b0 & 0x80) != 0;
  frame.opcode = b0 & 0x0F;
  frame.masked = (b1 & 0x80) != 0;
  std::uint64_t length = b1 & 0x7F;
  if (length >= 126) {
    auto ext = read_exact(fd, length == 126 ? 2 : 8, deadline);
    if (!ext) return std::nullopt;
    length = 0;
    for (char c : *ext) length = (length << 8) | static_cast<std::uint8_t>(c);
  }
  if (length > (16u << 20)) return std::nullopt;
  std::string mask(4, '\0');
  if (frame.masked) {
    auto key = read_exact(fd, 4, deadline);
    if (!key) return std::nullopt;
    mask = *key;
  }
  auto payload = read_exact(fd, static_cast<std::size_t>(length), deadline);
  if (!payload) return std::nullopt;
  for (std::size_t i = 0; i < payload->size(); ++i)
    (*payload)[i] = static_cast<char>((*payload)[i] ^ mask[i % 4]);
  frame.payload = std::move(*payload);
  return frame;
}

// An unmasked server frame (payload up to 125 bytes).
inline std::string server_frame(std::uint8_t opcode, std::string_view payload) {
  std::string out;
  out += static_cast<char>(0x80 | opcode);
  out += static_cast<char>(payload.size());
  out += payload;
  return out;
}

}  // namespace raw

// A TCP server on 127.0.0.1:0 whose thread accepts connections one at a time and hands each to
// `handler` (which must bound its own waits); the socket is closed when the handler returns.
// With accept_connections = false it listens but never accepts: the kernel still completes the
// TCP handshakes, so a connect succeeds and nothing ever answers.
class TinyServer {
 public:
  using Handler = std::function<void(int fd)>;

  explicit TinyServer(Handler handler, bool accept_connections = true) : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 64) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error(std::string("TinyServer: ") + std::strerror(errno));
    }
    port_ = ntohs(addr.sin_port);
    if (accept_connections) thread_ = std::thread([this] { run(); });
  }
  ~TinyServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  TinyServer(const TinyServer&) = delete;
  TinyServer& operator=(const TinyServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::size_t accepted() const { return accepted_; }
  std::size_t handled() const { return handled_; }
  // For handlers that wait for the peer: true once the server is being destroyed.
  bool stopping() const { return stop_; }

 private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int conn = ::accept(fd_, nullptr, nullptr);
      if (conn < 0) continue;
      ++accepted_;
      handler_(conn);
      ::close(conn);
      ++handled_;
    }
  }

  Handler handler_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> accepted_{0};
  std::atomic<std::size_t> handled_{0};
  std::thread thread_;
};

// A backend that accepts upgrades (one at a time) and records every frame it gets until a close
// (which it answers) or 5 s of silence. It never answers PINGs unless `answer_pings`, and can offer
// `subprotocol` in its 101 (the client must have offered it).
class RecordingBackend {
 public:
  // `after_upgrade`: raw bytes it writes right after its 101 (frames a misbehaving backend sends).
  explicit RecordingBackend(bool answer_pings = false, std::string subprotocol = {},
                            std::string after_upgrade = {})
      : answer_pings_(answer_pings),
        subprotocol_(std::move(subprotocol)),
        after_upgrade_(std::move(after_upgrade)),
        server_([this](int fd) { serve(fd); }) {}

  std::string address() const { return server_.address(); }
  bool wait_done(std::chrono::milliseconds timeout) {
    return wait_until([this] { return server_.handled() >= 1; }, timeout);
  }
  std::size_t connections() const { return server_.accepted(); }
  std::vector<raw::RawFrame> frames() {
    std::lock_guard lock(mutex_);
    return frames_;
  }
  std::string request_head() {
    std::lock_guard lock(mutex_);
    return head_;
  }

 private:
  void serve(int fd) {
    auto head = raw::read_head(fd, std::chrono::seconds(5));
    if (!head) return;
    {
      std::lock_guard lock(mutex_);
      head_ = *head;
    }
    const std::string key = raw::header_value(*head, "Sec-WebSocket-Key").value_or("");
    std::string answer =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        ws::compute_accept(key) + "\r\n";
    if (!subprotocol_.empty()) answer += "Sec-WebSocket-Protocol: " + subprotocol_ + "\r\n";
    if (!raw::write_all(fd, answer + "\r\n" + after_upgrade_)) return;
    while (auto frame = raw::read_frame(fd, std::chrono::seconds(5))) {
      {
        std::lock_guard lock(mutex_);
        frames_.push_back(*frame);
      }
      if (frame->opcode == 0x9 && answer_pings_) {
        raw::write_all(fd, raw::server_frame(0xA, frame->payload));
        continue;
      }
      if (frame->opcode == 0x8) {
        raw::write_all(fd, raw::server_frame(0x8, frame->payload.substr(0, 125)));
        break;
      }
    }
  }

  const bool answer_pings_;
  const std::string subprotocol_;
  const std::string after_upgrade_;
  std::mutex mutex_;
  std::string head_;
  std::vector<raw::RawFrame> frames_;
  TinyServer server_;  // last: its thread stops before the members it uses go
};

}  // namespace wsgate::test
