// wsgate end to end: TLS to the backend (backends[].tls) with SNI and certificate verification.
// The TLS backend is a second wsgate with a TLS listener in front of the echo backend, so the
// upstream handshake, verification and relay over TLS are all exercised with real processes.
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/client_helpers.hpp"
#include "tests/integration/gateway_test_util.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/ws_client.hpp"

namespace wsgate::test {
namespace {

using namespace std::chrono_literals;

// The TLS "backend": wsgate terminating TLS in front of wsgate-echo.
constexpr std::string_view kTlsBackend = R"(
workers: 1
drain_timeout: 2s
listeners:
  - name: tls
    address: 127.0.0.1:0
    protocols: [http/1.1]
    tls: {cert: "${CERT}", key: "${KEY}"}
access_log:
  path: off
routes:
  - name: echo
    backend: echo
backends:
  - name: echo
    endpoints: [${ECHO}]
)";

// The gateway under test: plain listener, TLS to the backend.
constexpr std::string_view kFront = R"(
workers: 1
drain_timeout: 2s
listeners:
  - name: main
    address: 127.0.0.1:0
    protocols: [http/1.1]
access_log:
  path: off
routes:
  - name: echo
    backend: secure
backends:
  - name: secure
    endpoints: [127.0.0.1:${PORT}]
    handshake_timeout: 2s
    tls:
${TLS})";

class GatewayUpstreamTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const TestCertificate& c = test_certificate();
    backend_ = std::make_unique<Gateway>(format_template(
        kTlsBackend, {{"CERT", c.cert_path}, {"KEY", c.key_path}, {"ECHO", echo_.address()}}));
  }
  void TearDown() override {
    if (backend_) {
      EXPECT_EQ(backend_->stop(5s), 0);
    }
  }

  std::unique_ptr<Gateway> front(const std::string& tls_yaml) {
    return std::make_unique<Gateway>(
        format_template(kFront, {{"PORT", std::to_string(backend_->port("tls"))}, {"TLS", tls_yaml}}));
  }

  EchoBackend echo_;
  std::unique_ptr<Gateway> backend_;
};

TEST_F(GatewayUpstreamTlsTest, VerifiedTlsToTheBackendEchoes) {
  // The test certificate is self-signed for CN=localhost: trusting it as the CA and naming
  // localhost as SNI makes verification (chain and host name) succeed.
  auto gateway = front("      sni: localhost\n      ca: \"" + test_certificate().cert_path + "\"\n      verify: true\n");
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway->port("main"), ClientTransport::kPlain, "/"));
  ASSERT_TRUE(client.send_text("over tls to the backend"));
  auto echoed = client.recv_message(5s);
  ASSERT_TRUE(echoed) << client.last_error();
  EXPECT_EQ(echoed->payload, "over tls to the backend");
  auto closed = client.close_and_wait(1000);
  ASSERT_TRUE(closed) << client.last_error();
  EXPECT_EQ(closed->close_code, std::optional<std::uint16_t>(1000));
  EXPECT_EQ(gateway->stop(5s), 0);
}

TEST_F(GatewayUpstreamTlsTest, UntrustedBackendCertificateIsRefusedWith502) {
  // Verification on with the system trust store: the self-signed certificate is not trusted.
  auto gateway = front("      sni: localhost\n      verify: true\n");
  WsClient client;
  ASSERT_TRUE(connect_client(client, gateway->port("main"), ClientTransport::kPlain));
  const HandshakeResult result = client.handshake("/", "", {});
  EXPECT_EQ(result.status, 502) << result.error << " " << result.body;
  EXPECT_EQ(gateway->stop(5s), 0);
}

TEST_F(GatewayUpstreamTlsTest, WrongHostNameIsRefusedWith502) {
  // Trusted chain, but the certificate is not for this name (RFC 6125 check on the SNI name).
  auto gateway = front("      sni: other.example\n      ca: \"" + test_certificate().cert_path +
                       "\"\n      verify: true\n");
  WsClient client;
  ASSERT_TRUE(connect_client(client, gateway->port("main"), ClientTransport::kPlain));
  const HandshakeResult result = client.handshake("/", "", {});
  EXPECT_EQ(result.status, 502) << result.error << " " << result.body;
  EXPECT_EQ(gateway->stop(5s), 0);
}

TEST_F(GatewayUpstreamTlsTest, VerificationOffAcceptsTheSelfSignedBackend) {
  auto gateway = front("      verify: false\n");
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, gateway->port("main"), ClientTransport::kPlain, "/"));
  ASSERT_TRUE(client.send_text("unverified"));
  auto echoed = client.recv_message(5s);
  ASSERT_TRUE(echoed) << client.last_error();
  EXPECT_EQ(echoed->payload, "unverified");
  EXPECT_EQ(gateway->stop(5s), 0);
}

}  // namespace
}  // namespace wsgate::test
