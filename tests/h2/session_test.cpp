// Tests h2/session.* through a ClientSession and a ServerSession back to back: DATA both ways,
// manual flow control (RFC 9113 §5.2), deferred data, resets, GOAWAY, bad input.
#include "h2/session.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "tests/h2/session_pair.hpp"

namespace wsgate::h2 {
namespace {

using test::as_bytes;
using test::pattern;
using test::SessionPair;

Settings small_windows() {
  Settings settings;
  settings.initial_window_bytes = 65535;  // the RFC default: payloads below cross it
  return settings;
}

class DataBothWaysTest : public ::testing::TestWithParam<std::size_t> {};

TEST_P(DataBothWaysTest, EchoesPayloadsOfEverySize) {
  SessionPair pair(small_windows(), small_windows());
  pair.auto_accept();
  const std::size_t size = GetParam();
  const std::int32_t id = pair.open();
  pair.client_feeds[id] = {pattern(size, 1)};
  pair.server_feeds[id] = {pattern(size, 2)};
  pair.pump();
  ASSERT_EQ(pair.responses.count(id), 1u);
  EXPECT_EQ(pair.responses[id].status, 200);
  EXPECT_EQ(pair.server_record.received[id], pattern(size, 1));
  EXPECT_EQ(pair.client_record.received[id], pattern(size, 2));
  EXPECT_EQ(pair.server_record.ended.count(id), 1u);
  EXPECT_EQ(pair.client_record.ended.count(id), 1u);
  EXPECT_EQ(pair.server_record.closed.at(id), ErrorCode::kNoError);
  EXPECT_EQ(pair.client_record.closed.at(id), ErrorCode::kNoError);
  EXPECT_EQ(pair.server->stream_count(), 0u);
  EXPECT_EQ(pair.client->stream_count(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Sizes, DataBothWaysTest, ::testing::Values(0, 1, 16384, 65535, 65536, 1024 * 1024));

TEST(SessionTest, SplitReadsAtEveryByteGiveTheSameResult) {
  SessionPair pair;
  pair.auto_accept();
  pair.pump(1);
  const std::int32_t id = pair.open();
  pair.client_feeds[id] = {pattern(40000, 3)};
  pair.server_feeds[id] = {pattern(40000, 4)};
  pair.pump(1);
  EXPECT_EQ(pair.server_record.received[id], pattern(40000, 3));
  EXPECT_EQ(pair.client_record.received[id], pattern(40000, 4));
  EXPECT_EQ(pair.client_record.closed.at(id), ErrorCode::kNoError);
}

TEST(SessionTest, SenderStallsAtTheStreamWindowUntilConsume) {
  SessionPair pair(small_windows(), small_windows());
  pair.auto_accept();
  const std::int32_t id = pair.open();
  pair.server_record.no_consume.insert(id);
  const auto payload = pattern(1024 * 1024, 5);
  pair.client_feeds[id] = {payload};
  pair.pump();
  // Without consume() the stream window (65535) is all the client may send.
  EXPECT_EQ(pair.server_record.received[id].size(), 65535u);
  EXPECT_GT(pair.client->outgoing_bytes(id), 0u);
  EXPECT_EQ(pair.client->remote_window_bytes(id), 0);
  EXPECT_EQ(pair.server->local_window_bytes(id), 0);
  // Each consume() reopens the window and the sender continues.
  for (int round = 0; round < 100 && pair.server_record.received[id].size() < payload.size(); ++round) {
    const std::size_t held = pair.server_record.unconsumed[id];
    pair.server_record.unconsumed[id] = 0;
    ASSERT_EQ(pair.server->consume(id, held), Error::kNone);
    const std::size_t before = pair.server_record.received[id].size();
    pair.pump();
    ASSERT_GT(pair.server_record.received[id].size(), before);
  }
  EXPECT_EQ(pair.server_record.received[id], payload);
  EXPECT_EQ(pair.server_record.ended.count(id), 1u);
}

TEST(SessionTest, StalledStreamDoesNotBlockAnother) {
  Settings server_settings = small_windows();
  // Connection window left at the RFC default: were it not credited on receipt, the stalled stream
  // alone would exhaust it and the other stream could never finish.
  server_settings.connection_window_bytes = 65535;
  SessionPair pair(server_settings, small_windows());
  pair.auto_accept();
  const std::int32_t stalled = pair.open("/stalled");
  const std::int32_t flowing = pair.open("/flowing");
  pair.server_record.no_consume.insert(stalled);
  pair.client_feeds[stalled] = {pattern(1024 * 1024, 6)};
  pair.client_feeds[flowing] = {pattern(512 * 1024, 7)};
  pair.pump();
  EXPECT_EQ(pair.server_record.received[stalled].size(), 65535u);
  EXPECT_EQ(pair.server_record.received[flowing], pattern(512 * 1024, 7));
  EXPECT_EQ(pair.server_record.ended.count(flowing), 1u);
}

TEST(SessionTest, ManyConcurrentStreamsKeepTheirOwnData) {
  Settings server_settings;
  server_settings.max_concurrent_streams = 256;
  SessionPair pair(server_settings);
  pair.auto_accept();
  // The server echoes each stream's bytes on the same stream.
  pair.on_server_data = [&pair](std::int32_t id, std::span<const std::uint8_t> bytes) {
    ASSERT_EQ(pair.server->send_data(id, bytes), Error::kNone);
  };
  std::map<std::int32_t, std::vector<std::uint8_t>> sent;
  for (std::uint32_t i = 0; i < 200; ++i) {
    const std::int32_t id = pair.open("/s" + std::to_string(i));
    sent[id] = pattern(1000 + i * 37, i + 100);
    pair.client_feeds[id] = {sent[id], 0, false};
  }
  pair.pump();
  ASSERT_EQ(pair.requests.size(), 200u);
  for (const auto& [id, bytes] : sent) {
    EXPECT_EQ(pair.server_record.received[id], bytes) << "stream " << id;
    EXPECT_EQ(pair.client_record.received[id], bytes) << "stream " << id;
    EXPECT_EQ(pair.requests[id].path, pair.requests[id].path);
  }
  EXPECT_EQ(pair.server->stream_count(), 200u);
}

TEST(SessionTest, DeferredDataIsResumedWhenBytesArrive) {
  SessionPair pair;
  pair.auto_accept();
  const std::int32_t id = pair.open();
  pair.pump();
  ASSERT_EQ(pair.responses[id].status, 200);
  EXPECT_FALSE(pair.server->want_write());  // the data provider is deferred, nothing to send
  EXPECT_TRUE(pair.client_record.received[id].empty());

  ASSERT_EQ(pair.server->send_data(id, as_bytes("hello")), Error::kNone);
  EXPECT_TRUE(pair.server->want_write());
  pair.pump();
  EXPECT_EQ(pair.client_record.received[id],
            std::vector<std::uint8_t>(as_bytes("hello").begin(), as_bytes("hello").end()));

  ASSERT_EQ(pair.server->send_data(id, as_bytes(" world")), Error::kNone);
  pair.pump();
  EXPECT_EQ(pair.client_record.received[id].size(), 11u);
  EXPECT_EQ(pair.client_record.ended.count(id), 0u);

  ASSERT_EQ(pair.server->end_data(id), Error::kNone);
  pair.pump();
  EXPECT_EQ(pair.client_record.ended.count(id), 1u);
}

TEST(SessionTest, SendDataReportsErrorsAsValues) {
  Settings settings;
  settings.max_outgoing_bytes_per_stream = 1000;
  SessionPair pair(settings, settings);
  pair.auto_accept();
  const std::int32_t id = pair.open();
  pair.pump();
  EXPECT_EQ(pair.server->send_data(999, as_bytes("x")), Error::kNoSuchStream);
  EXPECT_EQ(pair.server->end_data(999), Error::kNoSuchStream);
  EXPECT_EQ(pair.server->outgoing_space(id), 1000u);
  EXPECT_EQ(pair.server->send_data(id, pattern(1001, 1)), Error::kBufferFull);
  EXPECT_EQ(pair.server->outgoing_bytes(id), 0u);
  EXPECT_EQ(pair.server->send_data(id, pattern(600, 1)), Error::kNone);
  EXPECT_EQ(pair.server->send_data(id, pattern(600, 1)), Error::kBufferFull);
  EXPECT_EQ(pair.server->outgoing_bytes(id), 600u);
  EXPECT_EQ(pair.server->outgoing_space(id), 400u);
  EXPECT_EQ(pair.server->end_data(id), Error::kNone);
  EXPECT_EQ(pair.server->end_data(id), Error::kDataEnded);
  EXPECT_EQ(pair.server->send_data(id, as_bytes("x")), Error::kDataEnded);
  EXPECT_EQ(pair.server->outgoing_space(id), 0u);
  EXPECT_EQ(pair.server->consume(0, 1), Error::kInvalidArgument);
  EXPECT_EQ(pair.server->consume(999, 1), Error::kNone);  // a closed stream: no-op
  EXPECT_EQ(pair.server->reset_stream(999, ErrorCode::kCancel), Error::kNoSuchStream);
  pair.pump();
  EXPECT_EQ(pair.server->outgoing_bytes(id), 0u);
  EXPECT_EQ(pair.client_record.received[id].size(), 600u);
}

TEST(SessionTest, OnDataSentReportsTheQueueDraining) {
  std::vector<std::size_t> left;
  ServerEvents events;
  std::int32_t stream = 0;
  events.on_request = [&](std::int32_t id, RequestHeaders&&) { stream = id; };
  events.on_data_sent = [&](std::int32_t, std::size_t outgoing) { left.push_back(outgoing); };
  ServerSession server({}, std::move(events));
  ClientSession client({}, {});
  std::vector<std::uint8_t> wire;
  server.produce(wire, 1 << 20);
  ASSERT_EQ(client.receive(wire).error, Error::kNone);
  const std::int32_t id = client.submit_connect("a", "/", "https").stream_id;
  wire.clear();
  client.produce(wire, 1 << 20);
  ASSERT_EQ(server.receive(wire).error, Error::kNone);
  ASSERT_EQ(stream, id);
  ASSERT_EQ(server.submit_response(id, 200, {}, false), Error::kNone);
  ASSERT_EQ(server.send_data(id, pattern(40000, 1)), Error::kNone);
  wire.clear();
  server.produce(wire, 1 << 20);
  ASSERT_FALSE(left.empty());
  EXPECT_EQ(left.back(), 0u);
  EXPECT_EQ(server.outgoing_bytes(id), 0u);
}

TEST(SessionTest, ProduceHonoursMaxBytes) {
  SessionPair pair;
  pair.auto_accept();
  const std::int32_t id = pair.open();
  pair.pump();
  ASSERT_EQ(pair.server->send_data(id, pattern(100000, 9)), Error::kNone);
  std::vector<std::uint8_t> wire;
  std::size_t total = 0;
  for (int i = 0; i < 10000 && pair.server->want_write(); ++i) {
    wire.clear();
    const ProduceResult result = pair.server->produce(wire, 1000);
    ASSERT_EQ(result.error, Error::kNone);
    // A DATA frame is never split: a call may exceed max_bytes by at most one frame when it starts empty.
    EXPECT_LE(result.bytes, std::max<std::size_t>(1000, 16384 + 9));
    total += result.bytes;
    ASSERT_EQ(pair.client->receive(wire).error, Error::kNone);
  }
  EXPECT_GE(total, 100000u);
  pair.pump();
  EXPECT_EQ(pair.client_record.received[id], pattern(100000, 9));
}

TEST(SessionTest, ClientResetSurfacesOnTheServerWithItsCode) {
  SessionPair pair;
  pair.auto_accept();
  const std::int32_t id = pair.open();
  pair.pump();
  ASSERT_EQ(pair.server->stream_count(), 1u);
  ASSERT_EQ(pair.client->reset_stream(id, ErrorCode::kCancel), Error::kNone);
  pair.pump();
  EXPECT_EQ(pair.server_record.closed.at(id), ErrorCode::kCancel);
  EXPECT_EQ(pair.client_record.closed.at(id), ErrorCode::kCancel);
  EXPECT_EQ(pair.server->stream_count(), 0u);
  EXPECT_EQ(pair.server->send_data(id, as_bytes("late")), Error::kNoSuchStream);
}

TEST(SessionTest, ServerResetSurfacesOnTheClient) {
  SessionPair pair;
  pair.auto_accept();
  const std::int32_t id = pair.open();
  pair.pump();
  ASSERT_EQ(pair.server->reset_stream(id, ErrorCode::kInternalError), Error::kNone);
  pair.pump();
  EXPECT_EQ(pair.client_record.closed.at(id), ErrorCode::kInternalError);
}

TEST(SessionTest, GoawayStopsNewStreamsAndLetsOpenOnesFinish) {
  SessionPair pair;
  pair.auto_accept();
  const std::int32_t id = pair.open();
  pair.pump();
  ASSERT_EQ(pair.server->goaway(ErrorCode::kNoError), Error::kNone);
  pair.pump();
  ASSERT_TRUE(pair.client_record.goaway.has_value());
  EXPECT_EQ(pair.client_record.goaway->first, id);
  EXPECT_EQ(pair.client_record.goaway->second, ErrorCode::kNoError);
  EXPECT_EQ(pair.client->submit_connect("example.com", "/late", "https").error, Error::kGoingAway);
  EXPECT_FALSE(pair.server->connection_error().has_value());
  // The open stream still carries data both ways.
  pair.client_feeds[id] = {pattern(1000, 1)};
  pair.server_feeds[id] = {pattern(1000, 2)};
  pair.pump();
  EXPECT_EQ(pair.server_record.received[id], pattern(1000, 1));
  EXPECT_EQ(pair.client_record.received[id], pattern(1000, 2));
  // All streams closed after GOAWAY: both ends are done with the connection.
  EXPECT_FALSE(pair.server->want_read());
  EXPECT_FALSE(pair.server->want_write());
  EXPECT_FALSE(pair.client->want_read());
}

TEST(SessionTest, GracefulShutdownSendsNoticeThenFinalGoaway) {
  SessionPair pair;
  pair.auto_accept();
  const std::int32_t id = pair.open();
  pair.pump();
  ASSERT_EQ(pair.server->shutdown_notice(), Error::kNone);
  pair.pump();
  ASSERT_TRUE(pair.client_record.goaway.has_value());
  EXPECT_EQ(pair.client_record.goaway->first,
            std::numeric_limits<std::int32_t>::max());  // "finish what you started"
  ASSERT_EQ(pair.server->goaway(ErrorCode::kNoError), Error::kNone);
  pair.pump();
  EXPECT_EQ(pair.client_record.goaway->first, id);
}

TEST(SessionTest, GarbageInsteadOfPrefaceIsAConnectionError) {
  ServerSession server({}, {});
  const ReceiveResult result = server.receive(as_bytes("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"));
  EXPECT_EQ(result.error, Error::kBadPreface);
  EXPECT_EQ(server.receive(as_bytes("more")).error, Error::kSessionFailed);
  std::vector<std::uint8_t> wire;
  EXPECT_EQ(server.produce(wire, 1000).error, Error::kSessionFailed);
  EXPECT_FALSE(server.want_read());
  EXPECT_FALSE(server.want_write());
}

TEST(SessionTest, GarbageAfterPrefaceFailsTheConnectionWithGoaway) {
  SessionPair pair;
  pair.pump();
  // A DATA frame on stream 0 is a connection error (RFC 9113 §6.1).
  const std::vector<std::uint8_t> bad{0, 0, 4, 0x0, 0x0, 0, 0, 0, 0, 'j', 'u', 'n', 'k'};
  const ReceiveResult result = pair.server->receive(bad);
  EXPECT_EQ(result.error, Error::kNone);
  EXPECT_EQ(result.consumed, bad.size());
  std::vector<std::uint8_t> wire;
  ASSERT_EQ(pair.server->produce(wire, 1 << 20).error, Error::kNone);
  ASSERT_EQ(pair.server->connection_error(), ErrorCode::kProtocolError);
  EXPECT_EQ(pair.server->receive(bad).error, Error::kConnectionError);
  EXPECT_FALSE(pair.server->want_read());
  EXPECT_FALSE(pair.server->want_write());
  // The client learns it through GOAWAY.
  ASSERT_EQ(pair.client->receive(wire).error, Error::kNone);
  ASSERT_TRUE(pair.client_record.goaway.has_value());
  EXPECT_EQ(pair.client_record.goaway->second, ErrorCode::kProtocolError);
}

TEST(SessionTest, RandomGarbageNeverCrashes) {
  for (std::uint32_t seed = 0; seed < 300; ++seed) {
    SessionPair pair;
    pair.pump();
    const auto junk = pattern(1 + seed * 7 % 500, seed);
    const ReceiveResult result = pair.server->receive(junk);
    if (result.error == Error::kNone) {
      EXPECT_EQ(result.consumed, junk.size());
    }
    std::vector<std::uint8_t> wire;
    pair.server->produce(wire, 1 << 20);
    pair.client->receive(wire);
  }
}

}  // namespace
}  // namespace wsgate::h2
