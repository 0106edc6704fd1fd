// The server end of an HTTP/2 connection carrying WebSockets (RFC 8441): advertises
// SETTINGS_ENABLE_CONNECT_PROTOCOL, surfaces each request head, answers with a status and then
// streams DATA from a bounded per-stream queue.
//
// What nghttp2 1.52 already enforces on requests (RST_STREAM PROTOCOL_ERROR, never surfaced):
// :protocol only with :method CONNECT; :scheme and :path required with :protocol (RFC 8441 §4);
// :authority required on any CONNECT; :scheme/:path forbidden on a plain CONNECT (RFC 9113 §8.5);
// connection-specific fields; pseudo-header order and duplicates. What this class adds: a plain
// CONNECT and any other method are surfaced (RequestHeaders::kind()) so the app can answer 405/501;
// content-length on an extended CONNECT and an over-limit header list are flagged (RequestHeaders::issue)
// so the app can answer 400/431.
#pragma once

#include <functional>

#include "h2/session.hpp"

namespace wsgate::h2 {

struct ServerEvents : StreamEvents {
  // A request head is complete (HEADERS + CONTINUATION). Answer it with submit_response().
  std::function<void(std::int32_t stream_id, RequestHeaders&& request)> on_request;
};

class ServerSession final : public Session {
 public:
  // Queues our SETTINGS (ENABLE_CONNECT_PROTOCOL = 1 and `settings`) for the first produce().
  // Throws std::bad_alloc if nghttp2 cannot allocate the session (start-up only).
  ServerSession(const Settings& settings, ServerEvents events);

  // Submits the response head: `:status` then `headers` (lower-case regular fields). With end_stream
  // the HEADERS frame ends the stream (an error answer); otherwise DATA follows from send_data() and
  // end_data(). Errors: kNoSuchStream, kInvalidArgument (status outside 100..999, a bad or
  // connection-specific header), kAlreadyResponded, kNoMemory.
  Error submit_response(std::int32_t stream_id, int status, std::span<const Header> headers, bool end_stream);

  // Graceful shutdown, step one (RFC 9113 §6.8): GOAWAY with the maximum stream id so the client stops
  // opening streams; after a round trip call goaway(ErrorCode::kNoError) for the final one.
  // Errors: kNoMemory, kSessionFailed.
  Error shutdown_notice();

 private:
  void on_head(std::int32_t stream_id, Stream& stream, bool end_stream) override;
  bool is_head_category(nghttp2_headers_category category, const Stream& stream) const override;

  std::function<void(std::int32_t, RequestHeaders&&)> on_request_;
};

}  // namespace wsgate::h2
