// Blocking HTTP/2 test client for WebSockets over HTTP/2 (RFC 8441): one TCP or TLS (ALPN "h2")
// connection driving the sans-I/O h2::ClientSession, with RFC 6455 framing on top of each stream's DATA.
//
//   H2Client client;
//   ASSERT_TRUE(client.connect("127.0.0.1", port, /*tls=*/false)) << client.last_error();
//   const std::int32_t stream = client.open_websocket("/echo");
//   auto response = client.wait_response(stream);         // status 200: the WebSocket is open
//   ASSERT_TRUE(client.send_message(stream, ws::Opcode::kText, "hello"));
//   auto message = client.recv_message(stream);           // nullopt on timeout/error: see last_error()
//   auto peer_close = client.close_and_wait(stream, 1000);
//
// Single-threaded: every blocking call runs one poll() loop that moves bytes for all streams (sends
// what is queued, reads and dispatches what arrives), so a test can wait on one stream while others
// keep flowing. Received DATA is consumed at once (WINDOW_UPDATE) unless the stream is paused, which
// is how a test makes one stream a slow reader. The transport is a WsClient (sockets, TLS, ALPN).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "h2/client_session.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/ws_client.hpp"
#include "ws/frame.hpp"

namespace wsgate::test {

// The final response head of a stream.
struct H2Response {
  int status = 0;
  std::vector<h2::Header> headers;  // regular fields, names lower-case
  bool end_stream = false;          // the HEADERS frame ended the stream (no body)
  // First value of a field, empty if absent.
  std::string header(std::string_view name) const;
};

// A GOAWAY frame received from the server.
struct H2Goaway {
  std::int32_t last_stream_id = 0;
  h2::ErrorCode code = h2::ErrorCode::kNoError;
};

class H2Client {
 public:
  // `settings` are the client's HTTP/2 settings (receive windows, frame size); the defaults fit tests.
  explicit H2Client(h2::Settings settings = {});
  ~H2Client();
  H2Client(const H2Client&) = delete;
  H2Client& operator=(const H2Client&) = delete;

  // ---- connection ----

  // TCP connect (TLS with ALPN "h2" and no certificate verification when `tls`), sends the
  // preface and waits for the server's SETTINGS with SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
  // False on failure: see last_error().
  bool connect(std::string_view host, std::uint16_t port, bool tls,
               std::chrono::milliseconds timeout = kDefaultTimeout);
  bool connect_protocol_enabled() const;
  const std::string& last_error() const { return error_; }
  h2::ClientSession& session() { return *session_; }
  // The socket underneath, for raw bytes (floods) or a hard abort.
  WsClient& transport() { return transport_; }
  // Sends GOAWAY (RFC 9113 §6.8); streams already open go on.
  bool goaway(h2::ErrorCode code = h2::ErrorCode::kNoError);
  // The server's GOAWAY, if one arrived.
  const std::optional<H2Goaway>& goaway_received() const { return goaway_; }
  bool wait_goaway(std::chrono::milliseconds timeout = kDefaultTimeout);
  // The TCP connection is gone (EOF, reset) or the session failed.
  bool connection_closed() const { return closed_; }
  bool wait_connection_closed(std::chrono::milliseconds timeout = kDefaultTimeout);

  // ---- streams ----

  // Extended CONNECT for a WebSocket (RFC 8441 §4) on `path`; `extra` are lower-case fields
  // (origin, sec-websocket-protocol, or sec-websocket-version to override 13). The stream id, or -1.
  std::int32_t open_websocket(std::string_view path, std::string_view authority = "localhost",
                              const std::vector<h2::Header>& extra = {}, std::string_view scheme = "https");
  // A request with exactly these header fields, pseudo-headers included (for malformed requests).
  std::int32_t submit_request(const std::vector<h2::Header>& headers, bool end_stream = false);
  // Waits for the stream's final response head; nullopt on timeout, reset or connection loss.
  std::optional<H2Response> wait_response(std::int32_t stream,
                                          std::chrono::milliseconds timeout = kDefaultTimeout);
  // Waits until the server ends the stream and returns all DATA it sent (a response body).
  std::optional<std::string> read_body(std::int32_t stream,
                                       std::chrono::milliseconds timeout = kDefaultTimeout);

  // ---- WebSocket frames on a stream (client frames are masked) ----

  // Queues a data message (one frame, or frames of at most fragment_size bytes) and waits until it
  // is written to the socket (flow control permitting).
  bool send_message(std::int32_t stream, ws::Opcode opcode, std::string_view payload,
                    std::size_t fragment_size = 0, std::chrono::milliseconds timeout = kDefaultTimeout);
  // Queues without waiting: the bytes go out from later calls' I/O loops (e.g. an upload on one
  // stream while the test works with another).
  void queue_message(std::int32_t stream, ws::Opcode opcode, std::string_view payload,
                     std::size_t fragment_size = 0);
  void queue_frame(std::int32_t stream, ws::Opcode opcode, std::string_view payload, bool fin = true);
  // Queues raw DATA bytes (hand-made frames).
  void queue_data(std::int32_t stream, std::string_view bytes);
  // Runs the loop until everything queued on `stream` (all streams if 0) is on the wire.
  bool flush(std::int32_t stream = 0, std::chrono::milliseconds timeout = kDefaultTimeout);
  // The next message on the stream (control frames handled like WsClient::recv_message).
  std::optional<Message> recv_message(std::int32_t stream,
                                      std::chrono::milliseconds timeout = kDefaultTimeout,
                                      RecvOptions options = {});
  // Answer PINGs with PONGs inside recv_message (default true).
  void set_auto_pong(bool enabled) { auto_pong_ = enabled; }
  // Queues a close frame (empty payload if code is nullopt).
  bool close(std::int32_t stream, std::optional<std::uint16_t> code = 1000, std::string_view reason = {});
  // Receives until the peer's close frame; data messages before it are discarded.
  std::optional<Message> expect_close(std::int32_t stream,
                                      std::chrono::milliseconds timeout = kDefaultTimeout);
  std::optional<Message> close_and_wait(std::int32_t stream, std::optional<std::uint16_t> code = 1000,
                                        std::string_view reason = {},
                                        std::chrono::milliseconds timeout = kDefaultTimeout);
  // Ends our side of the stream (END_STREAM after what is queued).
  bool end_stream(std::int32_t stream);
  // RST_STREAM; what is still queued on the stream is dropped.
  bool reset(std::int32_t stream, h2::ErrorCode code = h2::ErrorCode::kCancel);

  // ---- flow control and observation ----

  // Stop / restart consuming the stream's DATA: while paused no WINDOW_UPDATE goes out for it, so
  // the server stalls once the stream window is used up (a slow reader).
  void pause(std::int32_t stream);
  void resume(std::int32_t stream);
  // The stream is gone: nullopt while open, else the RST_STREAM code (kNoError for a clean close).
  std::optional<h2::ErrorCode> stream_closed(std::int32_t stream) const;
  bool wait_stream_closed(std::int32_t stream, std::chrono::milliseconds timeout = kDefaultTimeout);
  // The server sent END_STREAM on the stream.
  bool stream_ended_by_peer(std::int32_t stream) const;
  // DATA bytes received on the stream so far.
  std::size_t received_bytes(std::int32_t stream) const;
  // Bytes queued on the stream and not yet written to the socket.
  std::size_t unsent_bytes(std::int32_t stream) const;

  // Runs the I/O loop until `done` returns true (checked after every pass) or `timeout` passes.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = kDefaultTimeout);
  // Runs the I/O loop for `duration` (no condition).
  void run_for(std::chrono::milliseconds duration);

 private:
  using Clock = std::chrono::steady_clock;
  struct StreamState;

  StreamState* find(std::int32_t stream);
  const StreamState* find(std::int32_t stream) const;
  StreamState* find_or_fail(std::int32_t stream);  // sets last_error() for an unknown stream
  StreamState& stream_state(std::int32_t stream);
  std::int32_t opened(const h2::SubmitResult& result, bool end_stream);  // records a submitted stream
  bool io_pass();  // one round of feed / write / read; false if nothing moved
  void feed_session();
  bool write_out();
  bool read_in();
  void fail(std::string message) { error_ = std::move(message); }
  std::optional<Frame> next_frame(StreamState& state);
  std::optional<Message> next_message(std::int32_t stream, StreamState& state, RecvOptions options);

  h2::Settings settings_;
  WsClient transport_;
  std::unique_ptr<h2::ClientSession> session_;
  std::map<std::int32_t, std::unique_ptr<StreamState>> streams_;  // every stream opened, closed ones too
  std::vector<std::uint8_t> out_;                                 // frames produced, being written
  std::optional<H2Goaway> goaway_;
  Clock::time_point deadline_{};  // of the run_until in progress: bounds blocking writes
  bool settings_received_ = false;
  bool closed_ = false;
  std::string error_;
  bool auto_pong_ = true;
};

}  // namespace wsgate::test
