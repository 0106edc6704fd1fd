// Tests of the test client itself where wsgate-echo cannot show it: TLS (against `openssl s_server`),
// header overrides, plain HTTP requests, and hand-made raw frames.
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/client_helpers.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/ws_client.hpp"

namespace wsgate::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kOpenssl = "/usr/bin/openssl";

// A fresh self-signed certificate (cert.pem, key.pem) in `dir`.
void make_certificate(const TempDir& dir) {
  Process keygen(
      {kOpenssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
       "-keyout", (dir.path() / "key.pem").string(), "-out", (dir.path() / "cert.pem").string()},
      dir.path() / "keygen.log");
  if (keygen.wait_exit() != 0) throw std::runtime_error("openssl req failed: " + keygen.log_text());
}

// `openssl s_server -www` with a fresh self-signed certificate: answers any GET with a status page
// over HTTP/1.0 and closes.
class TlsServer {
 public:
  explicit TlsServer(const std::vector<std::string>& extra_args = {}) {
    Process keygen(
        {kOpenssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", (dir_.path() / "key.pem").string(), "-out", (dir_.path() / "cert.pem").string()},
        dir_.path() / "keygen.log");
    if (keygen.wait_exit() != 0) throw std::runtime_error("openssl req failed: " + keygen.log_text());
    std::vector<std::string> argv{kOpenssl,
                                  "s_server",
                                  "-accept",
                                  "127.0.0.1:0",
                                  "-www",
                                  "-cert",
                                  (dir_.path() / "cert.pem").string(),
                                  "-key",
                                  (dir_.path() / "key.pem").string()};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    server_.emplace(argv, dir_.path() / "s_server.log");
    const auto match = server_->wait_for_line(std::regex(R"(ACCEPT [0-9.]+:([0-9]+))"));
    if (!match) throw std::runtime_error("s_server did not start: " + server_->log_text());
    port_ = static_cast<std::uint16_t>(std::stoul((*match)[1]));
  }
  std::uint16_t port() const { return port_; }

 private:
  TempDir dir_;
  std::optional<Process> server_;
  std::uint16_t port_ = 0;
};

TEST(WsClientTlsTest, HttpRequestOverTlsWithoutVerification) {
  if (!std::filesystem::exists(kOpenssl)) GTEST_SKIP() << "no openssl binary";
  TlsServer server;
  const HttpResponse response =
      http_request("127.0.0.1", server.port(), "GET", "/", {}, {}, kDefaultTimeout, TlsOptions{});
  EXPECT_EQ(response.status, 200) << response.error;
  EXPECT_NE(response.body.find("s_server"), std::string::npos);
}

TEST(WsClientTlsTest, NegotiatesAlpn) {
  if (!std::filesystem::exists(kOpenssl)) GTEST_SKIP() << "no openssl binary";
  TlsServer server({"-alpn", "http/1.1"});
  WsClient client;
  ASSERT_TRUE(client.connect_tls("127.0.0.1", server.port())) << client.last_error();
  EXPECT_EQ(client.negotiated_alpn(), "http/1.1");
}

TEST(WsClientTlsTest, VerificationRejectsSelfSignedCertificate) {
  if (!std::filesystem::exists(kOpenssl)) GTEST_SKIP() << "no openssl binary";
  TlsServer server;
  TlsOptions verify;
  verify.verify_peer = true;
  WsClient client;
  EXPECT_FALSE(client.connect("127.0.0.1", server.port(), kDefaultTimeout, verify));
  EXPECT_NE(client.last_error().find("TLS handshake failed"), std::string::npos) << client.last_error();
}

// One TLS connection on a thread: every byte read is written back (blocking SSL calls), so a client
// that sent a lot without reading would deadlock against it.
class TlsByteEcho {
 public:
  TlsByteEcho() {
    make_certificate(dir_);
    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate_chain_file(ctx_, (dir_.path() / "cert.pem").c_str());
    SSL_CTX_use_PrivateKey_file(ctx_, (dir_.path() / "key.pem").c_str(), SSL_FILETYPE_PEM);
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), length);
    ::listen(listen_fd_, 1);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsByteEcho() {
    ::shutdown(listen_fd_, SHUT_RDWR);  // unblocks accept() if no client came
    thread_.join();
    ::close(listen_fd_);
    SSL_CTX_free(ctx_);
  }
  std::uint16_t port() const { return port_; }

 private:
  void serve() {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      std::array<char, 16 * 1024> buffer{};
      int n;
      while ((n = SSL_read(ssl, buffer.data(), static_cast<int>(buffer.size()))) > 0) {
        if (SSL_write(ssl, buffer.data(), n) != n) break;
      }
    }
    SSL_free(ssl);
    ::close(fd);
  }

  TempDir dir_;
  SSL_CTX* ctx_ = nullptr;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

TEST(WsClientTlsTest, LargeSendWhilePeerEchoesDoesNotDeadlock) {
  if (!std::filesystem::exists(kOpenssl)) GTEST_SKIP() << "no openssl binary";
  TlsByteEcho server;
  WsClient client;
  ASSERT_TRUE(client.connect_tls("127.0.0.1", server.port())) << client.last_error();
  const std::string data = binary_payload(8 << 20, 5);
  ASSERT_TRUE(client.send_raw(data)) << client.last_error();
  const auto echoed = client.recv_raw(data.size());
  ASSERT_TRUE(echoed) << client.last_error() << " with " << client.buffered_bytes() << " bytes buffered";
  EXPECT_TRUE(*echoed == data);
  client.shutdown_write();
  EXPECT_TRUE(client.wait_eof()) << client.last_error();
}

TEST(WsClientTest, ConnectToClosedPortFailsFast) {
  WsClient client;
  // Port 1 on loopback: nothing listens there in a test container, the kernel answers RST.
  EXPECT_FALSE(client.connect("127.0.0.1", 1, 2s));
  EXPECT_FALSE(client.connected());
  EXPECT_FALSE(client.last_error().empty());
}

class WsClientEchoTest : public ::testing::Test {
 protected:
  EchoBackend echo_;
};

TEST_F(WsClientEchoTest, RemovingTheKeyHeaderGetsARejection) {
  WsClient client;
  ASSERT_TRUE(client.connect("127.0.0.1", echo_.port()));
  const HandshakeResult result = client.handshake("/", "", {{"Sec-WebSocket-Key", std::nullopt}});
  EXPECT_EQ(result.status, 400) << result.error;
  EXPECT_FALSE(result.upgraded());
}

TEST_F(WsClientEchoTest, PlainHttpRequestToStatusHook) {
  // The hook answers upgrade requests only, so send the upgrade headers by hand.
  const HttpResponse response = http_request("127.0.0.1", echo_.port(), "GET", "/status/503",
                                             {{"Upgrade", "websocket"},
                                              {"Connection", "Upgrade"},
                                              {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                                              {"Sec-WebSocket-Version", "13"}});
  EXPECT_EQ(response.status, 503) << response.error;
}

TEST_F(WsClientEchoTest, RawFramesSplitAcrossWritesAndRecvFrameTimeout) {
  WsClient client;
  ASSERT_TRUE(client.connect("127.0.0.1", echo_.port()));
  ASSERT_TRUE(client.handshake().upgraded());
  EXPECT_FALSE(client.recv_frame(50ms));  // nothing to read: a bounded wait, not a hang
  EXPECT_EQ(client.last_error(), "timeout");
  const std::string two_frames = WsClient::build_frame(0x1, "one") + WsClient::build_frame(0x2, "two");
  ASSERT_TRUE(client.send_raw(two_frames.substr(0, 5)));
  ASSERT_TRUE(client.send_raw(two_frames.substr(5)));
  const auto first = client.recv_message();
  const auto second = client.recv_message();
  ASSERT_TRUE(first && second) << client.last_error();
  EXPECT_EQ(first->payload, "one");
  EXPECT_EQ(second->opcode, ws::Opcode::kBinary);
  EXPECT_EQ(second->payload, "two");
}

TEST_F(WsClientEchoTest, AbortResetsWithoutDisturbingOtherConnections) {
  WsClient doomed;
  WsClient survivor;
  ASSERT_TRUE(doomed.connect("127.0.0.1", echo_.port()));
  ASSERT_TRUE(doomed.handshake().upgraded());
  ASSERT_TRUE(survivor.connect("127.0.0.1", echo_.port()));
  ASSERT_TRUE(survivor.handshake().upgraded());
  doomed.abort();
  EXPECT_FALSE(doomed.connected());
  ASSERT_TRUE(survivor.send_text("still fine"));
  const auto message = survivor.recv_message();
  ASSERT_TRUE(message) << survivor.last_error();
  EXPECT_EQ(message->payload, "still fine");
}

TEST_F(WsClientEchoTest, HalfCloseStillReceives) {
  WsClient client;
  ASSERT_TRUE(client.connect("127.0.0.1", echo_.port()));
  ASSERT_TRUE(client.handshake("/?close_after_ms=50").upgraded());
  client.shutdown_write();
  // The server may answer our EOF at once or send its close first; either way the wait is bounded.
  EXPECT_TRUE(client.wait_eof(5s)) << client.last_error();
}

}  // namespace
}  // namespace wsgate::test
