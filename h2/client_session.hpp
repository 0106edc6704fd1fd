// The client end of an HTTP/2 connection carrying WebSockets (RFC 8441): waits for the server's
// SETTINGS_ENABLE_CONNECT_PROTOCOL, opens streams with extended CONNECT, surfaces the response head
// and streams DATA both ways. Used by the test client and the load generator.
#pragma once

#include <functional>
#include <string_view>

#include "h2/session.hpp"

namespace wsgate::h2 {

struct ClientEvents : StreamEvents {
  // The final (non-1xx) response head for a stream; a 2xx means the WebSocket is open.
  std::function<void(std::int32_t stream_id, ResponseHeaders&& response)> on_response;
  // The server's SETTINGS frame was processed; connect_protocol_enabled() is now meaningful.
  std::function<void()> on_settings;
};

struct SubmitResult {
  std::int32_t stream_id = -1;  // the new stream, valid when error == kNone
  Error error = Error::kNone;
};

class ClientSession final : public Session {
 public:
  // Queues the connection preface and our SETTINGS (ENABLE_PUSH = 0 and `settings`) for the first
  // produce(). Throws std::bad_alloc if nghttp2 cannot allocate the session (start-up only).
  ClientSession(const Settings& settings, ClientEvents events);

  // The server sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3).
  bool connect_protocol_enabled() const;

  // Opens a WebSocket stream (RFC 8441 §4, §5): :method CONNECT, :protocol websocket, :scheme, :authority,
  // :path, sec-websocket-version: 13, then `extra` (lower-case regular fields, e.g. origin,
  // sec-websocket-protocol). DATA follows from send_data()/end_data().
  // Errors: kConnectProtocolNotEnabled, kInvalidArgument (empty authority/path/scheme, a bad or
  // connection-specific header), kGoingAway, kStreamIdsExhausted, kNoMemory.
  SubmitResult submit_connect(std::string_view authority, std::string_view path,
                              std::string_view scheme = "https", std::span<const Header> extra = {});

  // Sends `headers` exactly as given, pseudo-headers included and unchecked: for tests and tools that
  // need malformed or non-WebSocket requests. Without end_stream, DATA follows from send_data().
  // Errors: kInvalidArgument (empty list), kGoingAway, kStreamIdsExhausted, kNoMemory.
  SubmitResult submit_request(std::span<const Header> headers, bool end_stream);

 private:
  void on_head(std::int32_t stream_id, Stream& stream, bool end_stream) override;
  bool is_head_category(nghttp2_headers_category category, const Stream& stream) const override;
  void on_remote_settings() override;
  SubmitResult submit(std::span<const Header> headers, bool end_stream);

  std::function<void(std::int32_t, ResponseHeaders&&)> on_response_;
  std::function<void()> on_settings_;
};

}  // namespace wsgate::h2
