// Test harness for h2/: a ClientSession and a ServerSession wired back to back in memory, recording
// every event, with per-stream payload feeders that respect the bounded outgoing queues.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "h2/client_session.hpp"
#include "h2/server_session.hpp"

namespace wsgate::h2::test {

inline std::vector<std::uint8_t> pattern(std::size_t size, std::uint32_t seed) {
  std::vector<std::uint8_t> bytes(size);
  std::uint32_t state = seed * 2654435761u + 1;
  for (auto& b : bytes) {
    state = state * 1664525u + 1013904223u;
    b = static_cast<std::uint8_t>(state >> 24);
  }
  return bytes;
}

inline std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// What one end saw.
struct Record {
  std::map<std::int32_t, std::vector<std::uint8_t>> received;  // DATA per stream
  std::set<std::int32_t> ended;                                // END_STREAM from the peer
  std::map<std::int32_t, ErrorCode> closed;                    // on_stream_close
  std::optional<std::pair<std::int32_t, ErrorCode>> goaway;    // on_goaway
  std::set<std::int32_t> no_consume;                           // streams whose window we hold
  std::map<std::int32_t, std::size_t> unconsumed;              // bytes held back per stream
};

// Payload an end still has to hand to send_data(), then end_data() if `end`.
struct Feed {
  std::vector<std::uint8_t> bytes;
  std::size_t offset = 0;
  bool end = true;
  bool ended = false;
};

class SessionPair {
 public:
  explicit SessionPair(Settings server_settings = {}, Settings client_settings = {}) {
    ServerEvents server_events;
    bind(server_events, server_record, [this] { return server.get(); });
    server_events.on_request = [this](std::int32_t id, RequestHeaders&& request) {
      requests[id] = request;
      if (on_request) on_request(id, requests[id]);
    };
    ClientEvents client_events;
    bind(client_events, client_record, [this] { return client.get(); });
    client_events.on_response = [this](std::int32_t id, ResponseHeaders&& response) {
      responses[id] = response;
    };
    client_events.on_settings = [this] { ++client_settings_seen; };
    server = std::make_unique<ServerSession>(server_settings, std::move(server_events));
    client = std::make_unique<ClientSession>(client_settings, std::move(client_events));
  }

  // Moves bytes both ways until neither end has anything to say; receive() is fed in `chunk_bytes` pieces.
  void pump(std::size_t chunk_bytes = 1 << 20) {
    for (int round = 0; round < 1'000'000; ++round) {
      top_up(*client, client_feeds);
      top_up(*server, server_feeds);
      const bool moved_up = transfer(*client, *server, chunk_bytes);
      const bool moved_down = transfer(*server, *client, chunk_bytes);
      if (!moved_up && !moved_down) return;
    }
    ADD_FAILURE() << "pump did not settle";
  }

  // Opens a WebSocket stream once the server's SETTINGS arrived.
  std::int32_t open(std::string_view path = "/chat", std::span<const Header> extra = {}) {
    if (!client->connect_protocol_enabled()) pump();
    const SubmitResult result = client->submit_connect("example.com", path, "https", extra);
    EXPECT_EQ(result.error, Error::kNone) << to_string(result.error);
    return result.stream_id;
  }

  // Server answers every request 200 and keeps the stream open (default behaviour of tests).
  void auto_accept() {
    on_request = [this](std::int32_t id, const RequestHeaders&) {
      EXPECT_EQ(server->submit_response(id, 200, {}, false), Error::kNone);
    };
  }

  std::unique_ptr<ServerSession> server;
  std::unique_ptr<ClientSession> client;
  Record server_record;
  Record client_record;
  std::map<std::int32_t, Feed> server_feeds;
  std::map<std::int32_t, Feed> client_feeds;
  std::map<std::int32_t, RequestHeaders> requests;
  std::map<std::int32_t, ResponseHeaders> responses;
  std::function<void(std::int32_t, const RequestHeaders&)> on_request;
  std::function<void(std::int32_t, std::span<const std::uint8_t>)> on_server_data;
  int client_settings_seen = 0;

 private:
  template <typename Events, typename GetSession>
  void bind(Events& events, Record& record, GetSession get_session) {
    events.on_data = [this, &record, get_session](std::int32_t id, std::span<const std::uint8_t> bytes) {
      auto& sink = record.received[id];
      sink.insert(sink.end(), bytes.begin(), bytes.end());
      if (&record == &server_record && on_server_data) on_server_data(id, bytes);
      if (record.no_consume.count(id) != 0) {
        record.unconsumed[id] += bytes.size();
      } else {
        EXPECT_EQ(get_session()->consume(id, bytes.size()), Error::kNone);
      }
    };
    events.on_stream_end = [&record](std::int32_t id) { record.ended.insert(id); };
    events.on_stream_close = [&record](std::int32_t id, ErrorCode code) { record.closed[id] = code; };
    events.on_goaway = [&record](std::int32_t last, ErrorCode code) { record.goaway = {last, code}; };
  }

  static void top_up(Session& session, std::map<std::int32_t, Feed>& feeds) {
    for (auto& [id, feed] : feeds) {
      if (feed.ended || !session.has_stream(id)) continue;
      const std::size_t space = session.outgoing_space(id);
      const std::size_t n = std::min(space, feed.bytes.size() - feed.offset);
      if (n > 0) {
        ASSERT_EQ(session.send_data(id, std::span(feed.bytes).subspan(feed.offset, n)), Error::kNone);
        feed.offset += n;
      }
      if (feed.offset == feed.bytes.size() && feed.end) {
        ASSERT_EQ(session.end_data(id), Error::kNone);
        feed.ended = true;
      }
    }
  }

  static bool transfer(Session& from, Session& to, std::size_t chunk_bytes) {
    std::vector<std::uint8_t> wire;
    const ProduceResult produced = from.produce(wire, 64 * 1024);
    EXPECT_EQ(produced.error, Error::kNone) << to_string(produced.error);
    EXPECT_EQ(produced.bytes, wire.size());
    for (std::size_t at = 0; at < wire.size(); at += chunk_bytes) {
      const auto piece = std::span(wire).subspan(at, std::min(chunk_bytes, wire.size() - at));
      const ReceiveResult received = to.receive(piece);
      EXPECT_EQ(received.error, Error::kNone) << to_string(received.error);
      EXPECT_EQ(received.consumed, piece.size());
    }
    return !wire.empty();
  }
};

}  // namespace wsgate::h2::test
