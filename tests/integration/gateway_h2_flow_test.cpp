// End-to-end flow-control tests of WebSockets over HTTP/2 (RFC 9113 §5.2, RFC 8441) through wsgate: a
// stream that stops reading or a stalled upload holds back only its own stream, its neighbours on the
// same connection keep their latency, and the gateway's memory stays bounded. Over h2c and h2 over TLS.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/integration/client_helpers.hpp"
#include "tests/integration/gateway_h2_test_util.hpp"

namespace wsgate::test::h2_gateway {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMiB = 1024 * 1024;
constexpr auto kEchoLatencyBound = 1s;

long long ms_since(Clock::time_point start) {
  return static_cast<long long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

using GatewayH2Flow = GatewayH2Test;

TEST_P(GatewayH2Flow, SlowReaderOnOneStreamDoesNotSlowItsNeighbour) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::optional<std::size_t> rss_before = gateway().process().rss_bytes();
  ASSERT_TRUE(rss_before);

  // 32 MiB from the backend onto a stream that is never read.
  const std::int32_t flooded = client.open_websocket("/echo?flood=33554432");
  ASSERT_GT(flooded, 0) << client.last_error();
  client.pause(flooded);
  const auto response = client.wait_response(flooded);
  ASSERT_TRUE(response && response->status == 200) << client.last_error();
  const std::int32_t quick = open_echo(client);
  ASSERT_GT(quick, 0);
  client.run_for(300ms);  // the flood fills every buffer on its way and stalls

  std::vector<long long> latencies_ms;
  for (int i = 0; i < 20; ++i) {
    const auto started = Clock::now();
    ASSERT_TRUE(echo_once(client, quick, text_payload(1024, i), 5s));
    latencies_ms.push_back(ms_since(started));
    EXPECT_LT(Clock::now() - started, kEchoLatencyBound) << "echo #" << i << " next to a stalled stream";
  }
  std::printf("  echo latencies next to a stalled 32 MiB flood (ms):");
  for (const long long ms : latencies_ms) std::printf(" %lld", ms);
  const std::size_t flooded_bytes = client.received_bytes(flooded);
  std::printf("\n  flooded stream received %zu bytes while paused\n", flooded_bytes);
  // The client's stream window (256 KiB) is all the gateway may send on a stream nobody reads.
  EXPECT_LE(flooded_bytes, 256u * 1024u);

  const std::optional<std::size_t> rss_after = gateway().process().rss_bytes();
  ASSERT_TRUE(rss_after);
  std::printf("  gateway RSS %zu KiB -> %zu KiB\n", *rss_before / 1024, *rss_after / 1024);
  EXPECT_LT(*rss_after, *rss_before + kRssGrowthBoundBytes);

  // Reading again resumes the flood where it stopped: the first 4 MiB, byte i = (i * 31 + 7) & 0xFF.
  client.resume(flooded);
  std::size_t offset = 0;
  while (offset < 4 * kMiB) {
    const auto message = client.recv_message(flooded, 5s);
    ASSERT_TRUE(message) << "after resume, at byte " << offset << ": " << client.last_error();
    for (std::size_t i = 0; i < message->payload.size(); ++i, ++offset) {
      ASSERT_EQ(static_cast<std::uint8_t>(message->payload[i]),
                static_cast<std::uint8_t>((offset * 31 + 7) & 0xFF))
          << "flood byte " << offset;
    }
  }
  ASSERT_TRUE(client.reset(flooded));
  EXPECT_TRUE(echo_once(client, quick, "after the flood"));
}

TEST_P(GatewayH2Flow, StalledUploadDoesNotBlockAnotherStream) {
  start();
  H2Client client;
  ASSERT_TRUE(connect(client));
  const std::optional<std::size_t> rss_before = gateway().process().rss_bytes();
  ASSERT_TRUE(rss_before);
  const std::int32_t upload = open_echo(client);
  const std::int32_t quick = open_echo(client);
  ASSERT_GT(upload, 0);
  ASSERT_GT(quick, 0);

  // 64 MiB toward the echo backend on a stream whose echoes are not read: the echo backend stalls
  // once the gateway's buffer toward this stream is full, and so does the upload.
  client.pause(upload);
  const std::string chunk = binary_payload(kMiB, 11);
  for (int i = 0; i < 64; ++i) client.queue_message(upload, ws::Opcode::kBinary, chunk);
  client.run_for(500ms);
  const std::size_t unsent_at_stall = client.unsent_bytes(upload);

  std::vector<long long> latencies_ms;
  for (int i = 0; i < 10; ++i) {
    const auto started = Clock::now();
    ASSERT_TRUE(echo_once(client, quick, text_payload(200, i), 5s));
    latencies_ms.push_back(ms_since(started));
    EXPECT_LT(Clock::now() - started, kEchoLatencyBound) << "echo #" << i << " next to a stalled upload";
  }
  std::printf("  echo latencies next to a stalled 64 MiB upload (ms):");
  for (const long long ms : latencies_ms) std::printf(" %lld", ms);
  const std::size_t unsent = client.unsent_bytes(upload);
  std::printf("\n  upload: %zu of %zu bytes still unsent (%zu after 500 ms), %zu echoed bytes held unread\n",
              unsent, 64 * (kMiB + 14), unsent_at_stall, client.received_bytes(upload));
  // Backpressure reached the uploader: a good part of the 64 MiB is still with the client.
  // What left it sits in kernel socket buffers on the backend path (the backend's receive
  // buffer alone autotunes up to net.ipv4.tcp_rmem's maximum, 32 MiB here) plus at most a
  // stream window and a relay buffer in the gateway.
  EXPECT_GT(unsent, 16 * kMiB);
  EXPECT_LE(client.received_bytes(upload), 256u * 1024u);

  const std::optional<std::size_t> rss_after = gateway().process().rss_bytes();
  ASSERT_TRUE(rss_after);
  std::printf("  gateway RSS %zu KiB -> %zu KiB\n", *rss_before / 1024, *rss_after / 1024);
  EXPECT_LT(*rss_after, *rss_before + kRssGrowthBoundBytes);

  ASSERT_TRUE(client.reset(upload));
  EXPECT_TRUE(echo_once(client, quick, "after the upload was reset"));
  ASSERT_TRUE(still_usable(client, "a reset 64 MiB upload"));
}

INSTANTIATE_TEST_SUITE_P(Rfc8441, GatewayH2Flow, kBothTransports, transport_param_name);

}  // namespace
}  // namespace wsgate::test::h2_gateway
