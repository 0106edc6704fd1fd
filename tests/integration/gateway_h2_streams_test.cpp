// End-to-end tests of WebSockets over HTTP/2 (RFC 8441) through wsgate to wsgate-echo: many streams on
// one connection, message sizes across the frame-length encodings and well past the flow-control
// windows, fragmentation, and per-stream close and reset. Each runs over h2c and h2 over TLS.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "tests/integration/client_helpers.hpp"
#include "tests/integration/gateway_h2_test_util.hpp"
#include "ws/handshake.hpp"

namespace wsgate::test::h2_gateway {
namespace {

using GatewayH2Streams = GatewayH2Test;

TEST_P(GatewayH2Streams, TwoHundredConcurrentStreamsEachEchoItsOwnPayload) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  constexpr std::size_t kStreams = 200;
  std::vector<std::int32_t> ids;
  for (std::size_t i = 0; i < kStreams; ++i) {
    const std::int32_t id = client.open_websocket("/echo");
    ASSERT_GT(id, 0) << client.last_error();
    ids.push_back(id);
  }
  for (std::size_t i = 0; i < kStreams; ++i) {
    const auto response = client.wait_response(ids[i]);
    ASSERT_TRUE(response) << "stream #" << i << ": " << client.last_error();
    ASSERT_EQ(response->status, 200) << "stream #" << i;
  }
  // All payloads in flight at once, then every echo checked against its own stream.
  for (std::size_t i = 0; i < kStreams; ++i) {
    client.queue_message(ids[i], ws::Opcode::kBinary, binary_payload(1000 + i * 37, i));
  }
  ASSERT_TRUE(client.flush()) << client.last_error();
  for (std::size_t i = 0; i < kStreams; ++i) {
    const auto message = client.recv_message(ids[i]);
    ASSERT_TRUE(message) << "stream #" << i << ": " << client.last_error();
    EXPECT_EQ(message->opcode, ws::Opcode::kBinary);
    EXPECT_TRUE(message->payload == binary_payload(1000 + i * 37, i))
        << "stream #" << i << " got another payload";
  }
  for (std::size_t i = 0; i < kStreams; ++i)
    client.queue_frame(ids[i], ws::Opcode::kClose, std::string("\x03\xe8", 2));
  ASSERT_TRUE(client.flush()) << client.last_error();
  for (std::size_t i = 0; i < kStreams; ++i) {
    const auto peer_close = client.expect_close(ids[i]);
    ASSERT_TRUE(peer_close) << "stream #" << i << ": " << client.last_error();
    EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(1000));
  }
}

TEST_P(GatewayH2Streams, EveryLaterWebSocketUpgradesExactlyLikeTheFirst) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  std::optional<H2Response> first;
  for (int i = 0; i < 200; ++i) {
    const std::int32_t id = client.open_websocket("/echo", "localhost", {{"sec-websocket-protocol", "chat"}});
    ASSERT_GT(id, 0) << "websocket #" << i + 1 << ": " << client.last_error();
    const auto response = client.wait_response(id);
    ASSERT_TRUE(response) << "websocket #" << i + 1 << ": " << client.last_error();
    ASSERT_EQ(response->status, 200) << "websocket #" << i + 1;
    if (!first) {
      first = response;
    } else {
      ASSERT_EQ(response->headers.size(), first->headers.size()) << "websocket #" << i + 1;
      for (std::size_t h = 0; h < first->headers.size(); ++h) {
        EXPECT_EQ(response->headers[h].name, first->headers[h].name) << "websocket #" << i + 1;
        EXPECT_EQ(response->headers[h].value, first->headers[h].value) << "websocket #" << i + 1;
      }
    }
    ASSERT_TRUE(echo_once(client, id, "websocket #" + std::to_string(i + 1)));
    const auto peer_close = client.close_and_wait(id, 1000, "done");
    ASSERT_TRUE(peer_close) << "websocket #" << i + 1 << ": " << client.last_error();
    ASSERT_TRUE(client.end_stream(id)) << client.last_error();
    ASSERT_TRUE(client.wait_stream_closed(id, 5s)) << "websocket #" << i + 1 << ": " << client.last_error();
    EXPECT_EQ(client.stream_closed(id), std::optional<h2::ErrorCode>(h2::ErrorCode::kNoError));
  }
}

TEST_P(GatewayH2Streams, FragmentedMessagesComeBackWithTheirFragments) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::int32_t id = open_echo(client);
  ASSERT_GT(id, 0);
  const std::string text = text_payload(100'000, 7);
  ASSERT_TRUE(client.send_message(id, ws::Opcode::kText, text, 1000)) << client.last_error();
  const auto message = client.recv_message(id);
  ASSERT_TRUE(message) << client.last_error();
  EXPECT_EQ(message->opcode, ws::Opcode::kText);
  EXPECT_EQ(message->frame_count, 100u);
  EXPECT_TRUE(message->payload == text);
  // A ping between fragments is answered without breaking the message apart.
  client.queue_frame(id, ws::Opcode::kBinary, "part one,", false);
  client.queue_frame(id, ws::Opcode::kPing, "between");
  client.queue_frame(id, ws::Opcode::kContinuation, " part two", true);
  ASSERT_TRUE(client.flush(id)) << client.last_error();
  const auto pong = client.recv_message(id, kDefaultTimeout, kReturnPongs);
  ASSERT_TRUE(pong) << client.last_error();
  EXPECT_EQ(pong->opcode, ws::Opcode::kPong);
  EXPECT_EQ(pong->payload, "between");
  const auto joined = client.recv_message(id);
  ASSERT_TRUE(joined) << client.last_error();
  EXPECT_EQ(joined->payload, "part one, part two");
  EXPECT_EQ(joined->frame_count, 2u);
}

TEST_P(GatewayH2Streams, CloseRoundTripOnOneStreamWhileOthersContinue) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::int32_t closing = open_echo(client);
  const std::int32_t a = open_echo(client);
  const std::int32_t b = open_echo(client);
  ASSERT_GT(closing, 0);
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  const auto peer_close = client.close_and_wait(closing, 4001, "one stream only");
  ASSERT_TRUE(peer_close) << client.last_error();
  EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(4001));
  EXPECT_EQ(peer_close->close_reason, "one stream only");
  // RFC 8441 §4: the end of the WebSocket is END_STREAM, like the TCP close over HTTP/1.1.
  ASSERT_TRUE(client.run_until([&] { return client.stream_ended_by_peer(closing); }, 5s))
      << "no END_STREAM after the close handshake: " << client.last_error();
  ASSERT_TRUE(client.end_stream(closing));
  ASSERT_TRUE(client.wait_stream_closed(closing, 5s)) << client.last_error();
  EXPECT_EQ(client.stream_closed(closing), std::optional<h2::ErrorCode>(h2::ErrorCode::kNoError));
  for (int round = 0; round < 10; ++round) {
    ASSERT_TRUE(echo_once(client, a, "a" + std::to_string(round)));
    ASSERT_TRUE(echo_once(client, b, "b" + std::to_string(round)));
  }
  EXPECT_FALSE(client.stream_closed(a));
  EXPECT_FALSE(client.stream_closed(b));
}

TEST_P(GatewayH2Streams, ResetOfOneStreamLeavesTheOthersIntact) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::int32_t a = open_echo(client);
  const std::int32_t reset = open_echo(client);
  const std::int32_t b = open_echo(client);
  ASSERT_GT(reset, 0);
  const std::optional<std::size_t> fds_before = gateway().process().open_fd_count();
  ASSERT_TRUE(fds_before);
  // Reset in the middle of a large message, so the backend is left inside a frame.
  client.queue_message(reset, ws::Opcode::kBinary, binary_payload(1 << 20, 3));
  client.run_for(20ms);
  ASSERT_TRUE(client.reset(reset, h2::ErrorCode::kCancel)) << client.last_error();
  ASSERT_TRUE(client.wait_stream_closed(reset, 5s)) << client.last_error();
  // The reset stream's backend connection is closed: one descriptor fewer in the gateway.
  EXPECT_TRUE(wait_until([&] { return gateway().process().open_fd_count() < fds_before; }, 3s))
      << "the gateway still holds " << gateway().process().open_fd_count().value_or(0) << " descriptors (had "
      << *fds_before << " with the reset stream's backend open)";
  for (int round = 0; round < 10; ++round) {
    ASSERT_TRUE(echo_once(client, a, "a" + std::to_string(round)));
    ASSERT_TRUE(echo_once(client, b, "b" + std::to_string(round)));
  }
  ASSERT_TRUE(still_usable(client, "RST_STREAM"));
  EXPECT_FALSE(client.goaway_received()) << "GOAWAY after a single RST_STREAM";
}

TEST_P(GatewayH2Streams, ResetOfAStreamStalledBothWaysReleasesItsBackendAtOnce) {
  start("limits:\n  close_timeout: 2s\n");
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::optional<std::size_t> fds_idle = gateway().process().open_fd_count();
  // Toward the client: a flood nobody reads, so the gateway's write to the stream is pending.
  // Toward the backend: the start of a 64 MiB frame the backend does not read (it is busy
  // flooding), so the gateway is inside a frame with its buffer full and no read pending.
  const std::int32_t id = client.open_websocket("/echo?flood=33554432");
  ASSERT_GT(id, 0) << client.last_error();
  client.pause(id);
  ASSERT_TRUE(client.wait_response(id)) << client.last_error();
  const std::string frame = WsClient::build_frame(0x2, binary_payload(64 << 20, 1));
  client.queue_data(id, frame);
  client.run_for(500ms);
  ASSERT_GT(client.unsent_bytes(id), 0u) << "the upload did not stall";
  const auto reset_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(client.reset(id, h2::ErrorCode::kCancel));
  ASSERT_TRUE(client.flush(0));
  // The backend connection goes at once: there is no one left to finish a close handshake with.
  const bool released = wait_until([&] { return gateway().process().open_fd_count() == fds_idle; }, 5s);
  const auto released_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - reset_at)
          .count();
  std::printf("  backend connection released %lld ms after RST_STREAM\n",
              static_cast<long long>(released_ms));
  EXPECT_TRUE(released) << "backend connection of the reset stream still open after 5 s";
  EXPECT_LT(released_ms, 1000) << "released only by the relay's close timer (limits.close_timeout: 2s)";
  ASSERT_TRUE(still_usable(client, "a reset stalled stream"));
}

TEST_P(GatewayH2Streams, BackendCloseAndBackendDropReachOnlyTheirOwnStream) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::int32_t closing = open_echo(client, "/echo?close_after_ms=50");
  const std::int32_t dropping = open_echo(client, "/echo?drop_after_ms=50");
  const std::int32_t bystander = open_echo(client);
  ASSERT_GT(closing, 0);
  ASSERT_GT(dropping, 0);
  ASSERT_GT(bystander, 0);
  // The backend's close handshake passes through; we answer and the stream ends cleanly.
  const auto backend_close = client.expect_close(closing, 5s);
  ASSERT_TRUE(backend_close) << client.last_error();
  EXPECT_EQ(backend_close->close_code, std::optional<std::uint16_t>(1000));
  EXPECT_EQ(backend_close->close_reason, "bye");
  ASSERT_TRUE(client.close(closing, 1000, "bye"));
  ASSERT_TRUE(client.end_stream(closing));
  ASSERT_TRUE(client.wait_stream_closed(closing, 5s)) << client.last_error();
  EXPECT_EQ(client.stream_closed(closing), std::optional<h2::ErrorCode>(h2::ErrorCode::kNoError));
  // A backend that vanishes without a close frame: the gateway closes the WebSocket with 1011.
  const auto dropped = client.expect_close(dropping, 5s);
  ASSERT_TRUE(dropped) << client.last_error();
  EXPECT_EQ(dropped->close_code, std::optional<std::uint16_t>(1011));
  ASSERT_TRUE(client.close(dropping, 1011));
  ASSERT_TRUE(client.run_until(
      [&] { return client.stream_ended_by_peer(dropping) || client.stream_closed(dropping); }, 5s))
      << client.last_error();
  EXPECT_TRUE(echo_once(client, bystander, "unaffected by its neighbours' ends"));
  EXPECT_FALSE(client.stream_closed(bystander));
}

TEST_P(GatewayH2Streams, UpgradeRequestToTheBackendCarriesTheStreamsHeaders) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::int32_t id = client.open_websocket("/headers", "ws.example:8443",
                                                {{"x-trace", "h2-test"}, {"origin", "https://a.example"}});
  ASSERT_GT(id, 0) << client.last_error();
  const auto response = client.wait_response(id);
  ASSERT_TRUE(response && response->status == 200) << client.last_error();
  const auto json = client.recv_message(id);
  ASSERT_TRUE(json) << client.last_error();
  // RFC 8441 §5: the backend sees an ordinary HTTP/1.1 upgrade built from the stream's fields.
  for (const std::string& expected :
       {std::string(R"("host":"ws.example:8443")"), std::string(R"("upgrade":"websocket")"),
        std::string(R"("sec-websocket-version":"13")"), std::string(R"("x-trace":"h2-test")"),
        std::string(R"("origin":"https://a.example")"),
        std::string(R"("x-forwarded-proto":")") + (tls() ? "https" : "http") + "\"",
        std::string(R"("x-forwarded-for":"127.0.0.1")")}) {
    EXPECT_NE(json->payload.find(expected), std::string::npos)
        << "missing " << expected << " in " << json->payload;
  }
  EXPECT_EQ(json->payload.find(":protocol"), std::string::npos) << json->payload;
}

TEST_P(GatewayH2Streams, CloseFrameInTheDataThatEndsTheStreamReachesTheBackend) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::int32_t id = open_echo(client);
  ASSERT_GT(id, 0);
  // close frame and END_STREAM leave in one DATA frame (queued together, one produce()).
  client.queue_frame(id, ws::Opcode::kClose, std::string("\x0f\xa1", 2) + "last words");
  ASSERT_TRUE(client.end_stream(id)) << client.last_error();
  const auto peer_close = client.expect_close(id, 5s);
  ASSERT_TRUE(peer_close) << "the backend's close echo did not arrive: " << client.last_error();
  EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(4001));
  EXPECT_EQ(peer_close->close_reason, "last words");
  ASSERT_TRUE(client.wait_stream_closed(id, 5s)) << client.last_error();
  EXPECT_EQ(client.stream_closed(id), std::optional<h2::ErrorCode>(h2::ErrorCode::kNoError));
}

// A one-shot WebSocket backend run by a thread of the test: it reads the upgrade request, then watches
// for `hold` whether any byte follows it before it has answered 101 (none may: RFC 8441 §5 and the
// HTTP/1.1 upgrade, the backend speaks WebSocket only after its 101), then answers 101 and counts the
// bytes that arrive within a second.
class HoldingBackend {
 public:
  explicit HoldingBackend(std::chrono::milliseconds hold) : hold_(hold) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 4) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("HoldingBackend: cannot listen");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~HoldingBackend() {
    if (thread_.joinable()) thread_.join();
    ::close(listen_fd_);
  }
  std::uint16_t port() const { return port_; }
  // Waits for the thread; then the results below are final.
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  bool upgraded() const { return upgraded_; }
  std::size_t early_bytes() const { return early_bytes_; }
  std::size_t bytes_after_101() const { return bytes_after_101_; }

 private:
  static bool readable(int fd, std::chrono::milliseconds timeout) {
    pollfd pfd{fd, POLLIN, 0};
    return ::poll(&pfd, 1, static_cast<int>(timeout.count())) > 0;
  }

  void serve() {
    if (!readable(listen_fd_, 5s)) return;
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    std::string head;
    char byte = 0;
    while (!head.ends_with("\r\n\r\n") && head.size() < 65536 && readable(fd, 5s) &&
           ::recv(fd, &byte, 1, 0) == 1) {
      head += byte;
    }
    std::string lower = head;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::size_t at = lower.find("sec-websocket-key:");
    if (at != std::string::npos) {
      const std::size_t start = head.find_first_not_of(' ', at + 18);
      const std::string key = head.substr(start, head.find("\r\n", start) - start);
      if (readable(fd, hold_)) {
        char peek[65536];
        const ssize_t n = ::recv(fd, peek, sizeof peek, MSG_PEEK | MSG_DONTWAIT);
        early_bytes_ = n > 0 ? static_cast<std::size_t>(n) : 0;
      }
      const std::string answer =
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Accept: " +
          ws::compute_accept(key) + "\r\n\r\n";
      upgraded_ =
          ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(answer.size());
      const auto until = std::chrono::steady_clock::now() + 1s;
      char buffer[65536];
      while (std::chrono::steady_clock::now() < until && readable(fd, 100ms)) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        bytes_after_101_ += static_cast<std::size_t>(n);
      }
    }
    ::close(fd);
  }

  std::chrono::milliseconds hold_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> upgraded_{false};
  std::atomic<std::size_t> early_bytes_{0};
  std::atomic<std::size_t> bytes_after_101_{0};
};

TEST_P(GatewayH2Streams, NoClientByteReachesTheBackendBeforeIts101) {
  HoldingBackend backend(300ms);
  start({}, "  - name: holding\n    match: {path: /hold}\n    backend: holding\n",
        "  - name: holding\n    endpoints: [127.0.0.1:" + std::to_string(backend.port()) + "]\n");
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::int32_t id = client.open_websocket("/hold");
  ASSERT_GT(id, 0) << client.last_error();
  const std::string payload = text_payload(1000, 5);
  ASSERT_TRUE(client.send_message(id, ws::Opcode::kText, payload)) << client.last_error();
  const auto response = client.wait_response(id);
  ASSERT_TRUE(response) << client.last_error();
  EXPECT_EQ(response->status, 200);
  backend.join();
  EXPECT_TRUE(backend.upgraded());
  EXPECT_EQ(backend.early_bytes(), 0u) << "client DATA was forwarded before the backend's 101";
  EXPECT_EQ(backend.bytes_after_101(), payload.size() + 8)
      << "the held frame (1000 bytes + 8 header) after the 101";
}

TEST_P(GatewayH2Streams, ResetWhileTheBackendHandshakeIsPendingCancelsIt) {
  HoldingBackend backend(300ms);
  start({}, "  - name: holding\n    match: {path: /hold}\n    backend: holding\n",
        "  - name: holding\n    endpoints: [127.0.0.1:" + std::to_string(backend.port()) + "]\n");
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::optional<std::size_t> fds_idle = gateway().process().open_fd_count();
  const std::int32_t id = client.open_websocket("/hold");
  ASSERT_GT(id, 0) << client.last_error();
  client.queue_message(id, ws::Opcode::kText, "never delivered");
  ASSERT_TRUE(client.flush(id));
  client.run_for(50ms);  // the gateway is now waiting for the backend's 101
  ASSERT_TRUE(client.reset(id, h2::ErrorCode::kCancel));
  ASSERT_TRUE(client.wait_stream_closed(id, 2s)) << client.last_error();
  backend.join();
  EXPECT_EQ(backend.bytes_after_101(), 0u) << "DATA of a reset stream reached the backend";
  EXPECT_TRUE(wait_until([&] { return gateway().process().open_fd_count() == fds_idle; }, 3s))
      << "backend connection of the reset stream still open";
  ASSERT_TRUE(still_usable(client, "a reset during the backend handshake"));
}

TEST_P(GatewayH2Streams, DataSentBeforeTheResponseIsDeliveredAfterTheUpgrade) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  for (int attempt = 0; attempt < 20; ++attempt) {
    const std::int32_t id = client.open_websocket("/echo");
    ASSERT_GT(id, 0) << client.last_error();
    // HEADERS and these frames go out in the same write, long before the backend's 101.
    for (int i = 0; i < 5; ++i) client.queue_message(id, ws::Opcode::kText, "early " + std::to_string(i));
    client.queue_message(id, ws::Opcode::kBinary, binary_payload(100'000, attempt));
    ASSERT_TRUE(client.flush(id)) << client.last_error();
    const auto response = client.wait_response(id);
    ASSERT_TRUE(response) << client.last_error();
    ASSERT_EQ(response->status, 200);
    for (int i = 0; i < 5; ++i) {
      const auto message = client.recv_message(id);
      ASSERT_TRUE(message) << "attempt " << attempt << ": " << client.last_error();
      EXPECT_EQ(message->payload, "early " + std::to_string(i));
    }
    const auto big = client.recv_message(id);
    ASSERT_TRUE(big) << client.last_error();
    EXPECT_TRUE(big->payload == binary_payload(100'000, attempt));
    ASSERT_TRUE(client.reset(id));
  }
}

INSTANTIATE_TEST_SUITE_P(Rfc8441, GatewayH2Streams, kBothTransports, transport_param_name);

// ---- message sizes, with the default and a small stream window ----

class GatewayH2Sizes : public GatewayH2Fixture<std::tuple<Transport, std::uint32_t>> {
 protected:
  Transport transport() const override { return std::get<0>(GetParam()); }
  std::uint32_t window_bytes() const { return std::get<1>(GetParam()); }
};

std::string sizes_param_name(const ::testing::TestParamInfo<std::tuple<Transport, std::uint32_t>>& param) {
  return transport_name(std::get<0>(param.param)) +
         (std::get<1>(param.param) == 0 ? "_DefaultWindow" : "_Window64KiB");
}

TEST_P(GatewayH2Sizes, EchoesEveryLengthEncodingAndMessagesFarLargerThanTheWindows) {
  start(window_bytes() == 0 ? ""
                            : "http2: {initial_stream_window: " + std::to_string(window_bytes()) + "}\n");
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::int32_t id = open_echo(client);
  ASSERT_GT(id, 0);
  for (const std::size_t size : {0ul, 125ul, 126ul, 65535ul, 65536ul, 1ul << 20, 16ul << 20}) {
    const std::string payload = binary_payload(size, size);
    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(client.send_message(id, ws::Opcode::kBinary, payload)) << size << ": " << client.last_error();
    const auto message = client.recv_message(id);
    ASSERT_TRUE(message) << size << " bytes: " << client.last_error();
    EXPECT_EQ(message->payload.size(), size);
    EXPECT_TRUE(message->payload == payload) << size << " bytes: payload differs";
    if (size >= (1u << 20)) {
      std::printf("  %zu bytes echoed in %lld ms\n", size,
                  static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::steady_clock::now() - started)
                                             .count()));
    }
  }
  const auto peer_close = client.close_and_wait(id);
  ASSERT_TRUE(peer_close) << client.last_error();
}

INSTANTIATE_TEST_SUITE_P(Rfc8441, GatewayH2Sizes,
                         ::testing::Combine(kBothTransports, ::testing::Values(0u, 64u * 1024u)),
                         sizes_param_name);

}  // namespace
}  // namespace wsgate::test::h2_gateway
