// End-to-end tests of an HTTP/2 connection's life in wsgate (RFC 9113 §6.8, RFC 8441): GOAWAY from
// the client, SIGTERM drain (GOAWAY + close 1001 on every stream), abuse that must end in a bounded
// answer (rapid reset, SETTINGS and PING floods), and Node's stock http2 client. Over h2c and h2/TLS.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "tests/integration/gateway_h2_test_util.hpp"

namespace wsgate::test::h2_gateway {
namespace {

using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point start) {
  return static_cast<long long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

// An HTTP/2 frame header (RFC 9113 §4.1) followed by its payload.
std::string h2_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, std::string_view payload) {
  std::string frame;
  const auto length = static_cast<std::uint32_t>(payload.size());
  frame += static_cast<char>(length >> 16);
  frame += static_cast<char>(length >> 8);
  frame += static_cast<char>(length);
  frame += static_cast<char>(type);
  frame += static_cast<char>(flags);
  frame += static_cast<char>(stream >> 24);
  frame += static_cast<char>(stream >> 16);
  frame += static_cast<char>(stream >> 8);
  frame += static_cast<char>(stream);
  frame += payload;
  return frame;
}

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr std::uint8_t kSettings = 0x4;
constexpr std::uint8_t kPing = 0x6;

using GatewayH2Lifecycle = GatewayH2Test;

TEST_P(GatewayH2Lifecycle, ClientGoawayLetsOpenStreamsFinishGracefully) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(open_echo(client));
    ASSERT_GT(ids.back(), 0);
  }
  ASSERT_TRUE(client.goaway(h2::ErrorCode::kNoError)) << client.last_error();
  // RFC 9113 §6.8: streams up to the last one the server processed go on.
  for (const std::int32_t id : ids) ASSERT_TRUE(echo_once(client, id, "after our GOAWAY"));
  for (const std::int32_t id : ids) {
    const auto peer_close = client.close_and_wait(id, 1000, "goodbye");
    ASSERT_TRUE(peer_close) << "stream " << id << ": " << client.last_error();
    EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(1000));
    ASSERT_TRUE(client.run_until([&] { return client.stream_ended_by_peer(id); }, 5s)) << client.last_error();
    ASSERT_TRUE(client.end_stream(id)) << client.last_error();
    ASSERT_TRUE(client.wait_stream_closed(id, 5s)) << client.last_error();
    EXPECT_EQ(client.stream_closed(id), std::optional<h2::ErrorCode>(h2::ErrorCode::kNoError));
  }
  // Both sides are done: the gateway may close the connection now.
  const bool closed = client.wait_connection_closed(2s);
  std::printf("  connection %s after the last stream closed\n",
              closed ? "closed by the gateway" : "left open");
  EXPECT_TRUE(gateway().process().running());
}

TEST_P(GatewayH2Lifecycle, LosingTheConnectionReleasesEveryBackend) {
  start();
  const std::optional<std::size_t> fds_idle = gateway().process().open_fd_count();
  ASSERT_TRUE(fds_idle);
  {
    H2Client client;
    ASSERT_TRUE(connect(client));
    for (int i = 0; i < 20; ++i) {
      const std::int32_t id = open_echo(client);
      ASSERT_GT(id, 0);
      client.queue_message(id, ws::Opcode::kBinary, std::string(100'000, 'x'));  // some mid-flight
    }
    client.run_for(10ms);
    EXPECT_GE(gateway().process().open_fd_count().value_or(0), *fds_idle + 20);
    client.transport().abort();  // TCP RST with 20 WebSockets open
  }
  EXPECT_TRUE(wait_until([&] { return gateway().process().open_fd_count() == fds_idle; }, 5s))
      << gateway().process().open_fd_count().value_or(0) << " descriptors open, " << *fds_idle
      << " when idle";
  H2Client fresh;
  ASSERT_TRUE(connect(fresh));
  ASSERT_TRUE(still_usable(fresh, "a lost connection"));
}

TEST_P(GatewayH2Lifecycle, SigtermSendsGoawayAndClose1001OnEveryStreamThenExits0) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(open_echo(client));
    ASSERT_GT(ids.back(), 0);
    ASSERT_TRUE(echo_once(client, ids.back(), "before the drain"));
  }
  const auto signalled = Clock::now();
  ASSERT_TRUE(gateway().process().send_signal(SIGTERM));
  ASSERT_TRUE(client.wait_goaway(3s)) << "no GOAWAY after SIGTERM: " << client.last_error();
  EXPECT_EQ(client.goaway_received()->code, h2::ErrorCode::kNoError);
  EXPECT_GE(client.goaway_received()->last_stream_id, ids.back()) << "GOAWAY disowned open streams";
  for (const std::int32_t id : ids) {
    const auto peer_close = client.expect_close(id, 3s);
    ASSERT_TRUE(peer_close) << "stream " << id << ": " << client.last_error();
    EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(1001)) << "stream " << id;
  }
  // Complete each close handshake, and the stream with it.
  for (const std::int32_t id : ids) ASSERT_TRUE(client.close(id, 1001)) << client.last_error();
  for (const std::int32_t id : ids) {
    ASSERT_TRUE(
        client.run_until([&] { return client.stream_ended_by_peer(id) || client.stream_closed(id); }, 3s))
        << "stream " << id << " not ended after the close handshake: " << client.last_error();
    if (!client.stream_closed(id)) client.end_stream(id);
  }
  const std::optional<int> status = gateway().process().wait_exit(6s);
  ASSERT_TRUE(status) << "wsgate still running " << ms_since(signalled) << " ms after SIGTERM";
  EXPECT_EQ(*status, 0);
  std::printf("  wsgate exited %lld ms after SIGTERM\n", ms_since(signalled));
  EXPECT_EQ(gateway().process().count_lines(std::regex("drain timeout")), 0u)
      << "the drain waited for its timeout although every WebSocket had closed";
  EXPECT_TRUE(client.wait_connection_closed(2s));
}

TEST_P(GatewayH2Lifecycle, StreamEndedByTheCloseTimerIsFreedAndTheExitIsClean) {
  start("limits:\n  close_timeout: 300ms\n");
  H2Client client;
  ASSERT_TRUE(connect(client));
  // The backend closes; the client never answers: the relay's close timer ends the stream.
  const std::int32_t silent = open_echo(client, "/echo?close_after_ms=10");
  ASSERT_GT(silent, 0);
  const auto backend_close = client.expect_close(silent, 3s);
  ASSERT_TRUE(backend_close) << client.last_error();
  ASSERT_TRUE(client.run_until(
      [&] { return client.stream_closed(silent) || client.stream_ended_by_peer(silent); }, 3s))
      << "the close timer did not end the stream: " << client.last_error();
  const std::int32_t live = open_echo(client);
  ASSERT_GT(live, 0);
  ASSERT_TRUE(echo_once(client, live, "after the close timer"));
  ASSERT_TRUE(client.close_and_wait(live, 1000)) << client.last_error();
  client.end_stream(live);
  client.run_for(100ms);
  ASSERT_TRUE(gateway().process().send_signal(SIGTERM));
  const std::optional<int> status = gateway().process().wait_exit(5s);
  ASSERT_TRUE(status);
  // In a sanitizer build a leak makes the exit status non-zero and LeakSanitizer names it in the log.
  EXPECT_EQ(*status, 0);
  EXPECT_EQ(gateway().process().count_lines(std::regex("LeakSanitizer")), 0u)
      << "a relay (and its stream channel) outlived the stream the close timer ended";
}

TEST_P(GatewayH2Lifecycle, SigtermWithAStalledStreamExitsAtTheDrainTimeout) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  // A stream nobody reads: its close 1001 is stuck behind flood data the client never takes.
  const std::int32_t stalled = client.open_websocket("/echo?flood=33554432");
  client.pause(stalled);
  ASSERT_TRUE(client.wait_response(stalled)) << client.last_error();
  const std::int32_t live = open_echo(client);
  ASSERT_GT(live, 0);
  client.run_for(200ms);
  const auto signalled = Clock::now();
  ASSERT_TRUE(gateway().process().send_signal(SIGTERM));
  ASSERT_TRUE(client.wait_goaway(3s)) << client.last_error();
  const auto peer_close = client.expect_close(live, 3s);
  ASSERT_TRUE(peer_close) << client.last_error();
  EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(1001));
  ASSERT_TRUE(client.close(live, 1001));
  // drain_timeout is 3 s: the stalled stream holds the drain until then, not longer.
  client.run_until([&] { return client.connection_closed(); }, 5s);
  const std::optional<int> status = gateway().process().wait_exit(3s);
  ASSERT_TRUE(status) << "wsgate still running " << ms_since(signalled) << " ms after SIGTERM";
  EXPECT_EQ(*status, 0);
  std::printf("  wsgate exited %lld ms after SIGTERM (drain_timeout 3 s)\n", ms_since(signalled));
  EXPECT_LT(Clock::now() - signalled, 5s);
  EXPECT_EQ(gateway().process().count_lines(std::regex("LeakSanitizer")), 0u)
      << "the streams closed at the drain timeout were not freed";
}

TEST_P(GatewayH2Lifecycle, RapidResetIsCutOffAndAFreshConnectionWorks) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  const auto started = Clock::now();
  int reset_count = 0;
  for (int batch = 0; batch < 20 && !client.goaway_received() && !client.connection_closed(); ++batch) {
    std::vector<std::int32_t> ids;
    for (int i = 0; i < 100; ++i) {
      const std::int32_t id = client.open_websocket("/echo");
      if (id <= 0) break;
      ids.push_back(id);
    }
    if (!client.flush(0, 5s)) break;  // HEADERS on the wire, then the resets
    for (const std::int32_t id : ids) {
      if (client.reset(id, h2::ErrorCode::kCancel)) ++reset_count;
    }
    if (!client.flush(0, 5s)) break;
  }
  client.run_until([&] { return client.goaway_received().has_value() || client.connection_closed(); }, 5s);
  std::printf("  %d streams opened and reset in %lld ms; %s\n", reset_count, ms_since(started),
              client.goaway_received()
                  ? ("GOAWAY " + std::string(h2::to_string(client.goaway_received()->code))).c_str()
                  : (client.connection_closed() ? "connection closed without GOAWAY" : "nothing"));
  ASSERT_TRUE(client.goaway_received() || client.connection_closed())
      << reset_count << " rapid resets went unanswered (CVE-2023-44487 guard)";
  if (client.goaway_received()) {
    EXPECT_NE(client.goaway_received()->code, h2::ErrorCode::kNoError);
  }
  ASSERT_TRUE(gateway().process().running());
  H2Client fresh;
  ASSERT_TRUE(connect(fresh));
  ASSERT_TRUE(still_usable(fresh, "a rapid-reset attack on another connection"));
}

class GatewayH2Flood : public GatewayH2Test {
 protected:
  // Sends the preface and `count` copies of `frame` as fast as the socket takes them, then reads until
  // the gateway closes or has answered every frame (an ACK as long as the frame). The gateway must end
  // in one of those within a few seconds, stay up and bounded in memory, and serve a fresh connection.
  void flood(const std::string& frame, int count, std::string_view what) {
    start();
    const std::optional<std::size_t> rss_before = gateway().process().rss_bytes();
    WsClient raw;
    std::optional<TlsOptions> tls_options;
    if (tls()) {
      tls_options.emplace();
      tls_options->alpn = {"h2"};
    }
    ASSERT_TRUE(raw.connect("127.0.0.1", gateway().port("main"), 5s, tls_options)) << raw.last_error();
    ASSERT_TRUE(raw.send_raw(std::string(kPreface) + h2_frame(kSettings, 0, 0, {})));
    std::string frames;
    frames.reserve(frame.size() * static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) frames += frame;
    const auto started = Clock::now();
    const bool all_sent = raw.send_raw(frames, 5s);
    const std::size_t answer_bytes = frame.size() * static_cast<std::size_t>(count);
    while (!raw.saw_eof() && raw.buffered_bytes() < answer_bytes && Clock::now() - started < 5s) {
      pollfd pfd{raw.fd(), POLLIN, 0};
      ::poll(&pfd, 1, 50);
      raw.pump();
    }
    const bool closed = raw.saw_eof();
    std::printf("  %s flood of %d frames: %s, %s, %zu bytes back, %lld ms\n", std::string(what).c_str(),
                count, all_sent ? "all sent" : "sending cut off",
                closed ? "connection closed" : "connection open", raw.buffered_bytes(), ms_since(started));
    EXPECT_TRUE(closed || raw.buffered_bytes() >= answer_bytes)
        << "neither closed nor answered within 5 s (" << raw.buffered_bytes() << " bytes back)";
    ASSERT_TRUE(gateway().process().running());
    const std::optional<std::size_t> rss_after = gateway().process().rss_bytes();
    ASSERT_TRUE(rss_before && rss_after);
    EXPECT_LT(*rss_after, *rss_before + kRssGrowthBoundBytes);
    H2Client fresh;
    ASSERT_TRUE(connect(fresh));
    ASSERT_TRUE(still_usable(fresh, std::string(what) + " flood on another connection"));
  }
};

TEST_P(GatewayH2Flood, SettingsFloodEndsBoundedAndTheGatewayServesOn) {
  flood(h2_frame(kSettings, 0, 0, {}), 20'000, "SETTINGS");
}

TEST_P(GatewayH2Flood, PingFloodEndsBoundedAndTheGatewayServesOn) {
  flood(h2_frame(kPing, 0, 0, "12345678"), 50'000, "PING");
}

// ---- a stock client: Node's http2 module ----

std::optional<std::string> find_in_path(std::string_view program) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path == nullptr ? "/usr/local/bin:/usr/bin:/bin" : path;
  while (!dirs.empty()) {
    const std::size_t colon = dirs.find(':');
    const std::filesystem::path candidate = std::filesystem::path(dirs.substr(0, colon)) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

TEST_P(GatewayH2Lifecycle, NodeHttp2ClientRuns100WebSocketsOverOneConnection) {
  const std::optional<std::string> node = find_in_path("node");
  if (!node) GTEST_SKIP() << "node is not installed";
  start();
  const TempDir dir("wsgate-h2it-node");
  Process script({*node, std::string(WSGATE_SOURCE_DIR) + "/tests/integration/h2_stock_client_test.js",
                  std::to_string(gateway().port("main")), tls() ? "h2" : "h2c", "100"},
                 dir.path() / "node.log");
  const std::optional<int> status = script.wait_exit(20s);
  if (!status) script.kill();
  ASSERT_TRUE(status) << "node did not finish:\n" << script.log_text();
  EXPECT_EQ(*status, 0) << script.log_text();
  EXPECT_TRUE(script.wait_for_line(std::regex("^ok 100 websockets"), 1s)) << script.log_text();
}

INSTANTIATE_TEST_SUITE_P(Rfc8441, GatewayH2Lifecycle, kBothTransports, transport_param_name);
INSTANTIATE_TEST_SUITE_P(Rfc8441, GatewayH2Flood, kBothTransports, transport_param_name);

}  // namespace
}  // namespace wsgate::test::h2_gateway
