// Blocking WebSocket test client (RFC 6455 over HTTP/1.1), plain TCP or TLS, every call bounded by
// a poll() timeout. Built on the sans-I/O cores (ws/frame, ws/close, ws/handshake, h1/head_parser).
//
//   WsClient client;
//   ASSERT_TRUE(client.connect("127.0.0.1", port));
//   auto hs = client.handshake("/chat");
//   ASSERT_TRUE(hs.upgraded()) << hs.status << " " << hs.error;
//   ASSERT_TRUE(client.send_message(ws::Opcode::kText, "hello"));
//   auto msg = client.recv_message();                // nullopt on timeout/error: see last_error()
//   ASSERT_TRUE(msg); EXPECT_EQ(msg->payload, "hello");
//   auto peer_close = client.close_and_wait(1000, "bye");
//
// Payloads are std::string (bytes; binary is fine). The socket is non-blocking underneath; fd() is
// there for a test that wants to poll it itself. A client that simply stops calling recv_* is a
// slow reader: the kernel buffers fill (set_recv_buffer() makes that happen sooner).
//
// Reading: bytes that arrive are kept in an internal buffer, so frames sent right after the 101 are
// not lost and a partial frame survives a recv_* timeout. Sends keep draining the socket into that
// buffer while the peer is not accepting bytes (an echo of a large message cannot deadlock the
// send); turn that off with set_read_while_sending(false).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "h1/message.hpp"
#include "tests/integration/harness.hpp"
#include "ws/close.hpp"
#include "ws/frame.hpp"

namespace wsgate::test {

// TLS client settings. Test certificates are self-signed, so verification is off by default.
struct TlsOptions {
  bool verify_peer = false;
  std::string ca_file;                        // trust anchors when verify_peer (empty: system default)
  std::string server_name;                    // SNI and, with verify_peer, the name checked; empty: the host
  std::vector<std::string> alpn{"http/1.1"};  // offered protocols, in order; empty: no ALPN extension
};

// Request headers for handshake(): each entry is added to the request. An entry whose name matches
// a default header (Host, Upgrade, Connection, Sec-WebSocket-Key, Sec-WebSocket-Version) replaces
// it; a std::nullopt value removes that default instead:
//   {{"Origin", "https://a.example"}, {"Sec-WebSocket-Version", "8"}, {"Sec-WebSocket-Key", std::nullopt}}
using HeaderList = std::vector<std::pair<std::string, std::optional<std::string>>>;

// An HTTP/1.1 response: head plus the body, read per Content-Length, chunked, or until the peer
// closes (bounded by the timeout and kMaxBodyBytes). No body for 101, 1xx, 204, 304.
struct HttpResponse {
  int status = 0;      // 0: no complete response head arrived (see error)
  std::string reason;  // as sent
  h1::Headers headers;
  std::string body;
  std::string error;  // empty when a head was parsed and its body read completely
};

struct HandshakeResult : HttpResponse {
  // Sec-WebSocket-Accept matched the key sent (only meaningful with status 101).
  bool accept_ok = false;
  // 101 with a valid accept: the connection now carries WebSocket frames.
  bool upgraded() const { return status == 101 && accept_ok; }
};

// One frame as received; payload unmasked.
struct Frame {
  ws::FrameHeader header;
  std::string payload;
  ws::Opcode opcode() const { return static_cast<ws::Opcode>(header.opcode); }
};

// One message: a reassembled data message, a control frame, or the peer's close.
struct Message {
  ws::Opcode opcode = ws::Opcode::kText;  // kText/kBinary, or kPing/kPong/kClose
  std::string payload;                    // reassembled; for a close, the raw close payload
  std::size_t frame_count = 0;            // frames it arrived in (1 for control frames)
  std::uint8_t rsv = 0;                   // RSV bits of the first frame
  // kClose only: the status code (absent for an empty close payload, i.e. 1005) and reason.
  std::optional<std::uint16_t> close_code;
  std::string close_reason;
  bool is_close() const { return opcode == ws::Opcode::kClose; }
};

struct RecvOptions {
  bool return_pings = false;  // default: skip pings (after answering them if auto_pong)
  bool return_pongs = false;  // default: skip pongs
};
inline constexpr RecvOptions kReturnPings{true, false};
inline constexpr RecvOptions kReturnPongs{false, true};
inline constexpr RecvOptions kReturnControl{true, true};

class WsClient {
 public:
  static constexpr std::size_t kMaxBodyBytes = 4 * 1024 * 1024;

  WsClient();
  ~WsClient();
  WsClient(WsClient&& other) noexcept;
  WsClient& operator=(WsClient&& other) noexcept;
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // ---- transport ----

  // TCP connect (and TLS handshake if `tls`) within `timeout`. False on failure: see last_error().
  bool connect(std::string_view host, std::uint16_t port, std::chrono::milliseconds timeout = kDefaultTimeout,
               std::optional<TlsOptions> tls = std::nullopt);
  // connect() with TLS (defaults: no verification, ALPN http/1.1).
  bool connect_tls(std::string_view host, std::uint16_t port, TlsOptions tls = {},
                   std::chrono::milliseconds timeout = kDefaultTimeout) {
    return connect(host, port, timeout, std::move(tls));
  }
  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // With TLS: the ALPN protocol the server picked (empty if none).
  std::string negotiated_alpn() const;

  // SO_RCVBUF / SO_SNDBUF. Before connect() they are applied to the new socket (which is what
  // makes the TCP window small); after, to the live socket.
  void set_recv_buffer(int bytes);
  void set_send_buffer(int bytes);
  void set_read_while_sending(bool enabled) { read_while_sending_ = enabled; }

  // Writes all bytes within `timeout` (TLS-encrypted if TLS). False on error or timeout.
  bool send_raw(std::string_view bytes, std::chrono::milliseconds timeout = kDefaultTimeout);
  // TCP half-close (after a TLS close_notify when TLS). The peer sees EOF; we can still read.
  void shutdown_write();
  // SO_LINGER 0 + close: the peer gets a RST. The client is unusable afterwards.
  void abort();
  // Closes the socket (FIN). Also done by the destructor.
  void disconnect();
  // Reads until the peer closes the TCP connection (EOF or RST): true; false on timeout. Bytes that
  // arrive meanwhile are kept for recv_*.
  bool wait_eof(std::chrono::milliseconds timeout = kDefaultTimeout);
  bool saw_eof() const { return eof_; }
  bool saw_reset() const { return reset_; }
  // Bytes received and not yet consumed by a recv_* / handshake call.
  std::size_t buffered_bytes() const { return rbuf_.size() - rpos_; }
  // Reads what the socket has right now (no waiting) into the internal buffer; returns the count.
  std::size_t pump();
  // Exactly `bytes` raw bytes (after TLS decryption), waiting up to `timeout` for them; nullopt on
  // timeout or EOF (what did arrive stays buffered). For answers that are not frames.
  std::optional<std::string> recv_raw(std::size_t bytes, std::chrono::milliseconds timeout = kDefaultTimeout);

  // Why the last call failed ("timeout", "connection closed", a parse error, ...).
  const std::string& last_error() const { return error_; }

  // ---- opening handshake ----

  // Sends a WebSocket upgrade request for `path` and reads the answer. host_header empty:
  // "HOST:PORT" of the connection. For a non-101 answer the body is read too.
  HandshakeResult handshake(std::string_view path = "/", std::string_view host_header = "",
                            const HeaderList& extra_headers = {},
                            std::chrono::milliseconds timeout = kDefaultTimeout);
  // The two halves, for pipelining many handshakes or sending a hand-made request:
  // send_handshake_request returns the Sec-WebSocket-Key it sent (empty if it failed or none was
  // sent); read_response checks Sec-WebSocket-Accept against `key` when the status is 101.
  std::string send_handshake_request(std::string_view path = "/", std::string_view host_header = "",
                                     const HeaderList& extra_headers = {},
                                     std::chrono::milliseconds timeout = kDefaultTimeout);
  HandshakeResult read_response(std::string_view key = {},
                                std::chrono::milliseconds timeout = kDefaultTimeout);

  // ---- plain HTTP ----

  // Sends one HTTP/1.1 request on this connection (Host and, with a body, Content-Length added;
  // `headers` override them as for handshake) and reads the response. Keep-alive is up to the
  // caller: add {"Connection", "close"} for a one-shot request.
  HttpResponse request(std::string_view method, std::string_view target, const HeaderList& headers = {},
                       std::string_view body = {}, std::chrono::milliseconds timeout = kDefaultTimeout);

  // ---- frames and messages ----

  // One frame. Masked with a random key unless masked=false (to provoke a protocol error).
  bool send_frame(ws::Opcode opcode, std::string_view payload, bool fin = true, bool masked = true,
                  std::uint8_t rsv = 0);
  bool send_frame(std::uint8_t raw_opcode, std::string_view payload, bool fin = true, bool masked = true,
                  std::uint8_t rsv = 0);
  // A data message, as one frame, or (fragment_size > 0) as frames of at most fragment_size bytes:
  // the first with `opcode`, the rest continuations, FIN on the last.
  bool send_message(ws::Opcode opcode, std::string_view payload, std::size_t fragment_size = 0);
  bool send_text(std::string_view payload) { return send_message(ws::Opcode::kText, payload); }
  bool send_binary(std::string_view payload) { return send_message(ws::Opcode::kBinary, payload); }
  bool send_ping(std::string_view payload = {}) { return send_frame(ws::Opcode::kPing, payload); }

  // The next frame, whatever it is. nullopt on timeout (a partial frame is kept), EOF, or a
  // protocol error in the server's bytes (unmasked frames required; see set_allowed_rsv).
  std::optional<Frame> recv_frame(std::chrono::milliseconds timeout = kDefaultTimeout);
  // The next message: data frames reassembled across continuations (control frames in between
  // are handled as below), pings answered when auto_pong and skipped unless asked for, pongs
  // skipped unless asked for, a close returned as a Message with opcode kClose.
  std::optional<Message> recv_message(std::chrono::milliseconds timeout = kDefaultTimeout,
                                      RecvOptions options = {});

  // Sends a close frame (empty payload if code is nullopt).
  bool close(std::optional<std::uint16_t> code = ws::close_code::kNormal, std::string_view reason = {});
  // Receives until the peer's close arrives (data messages before it are discarded and counted in
  // discarded_messages()). nullopt on timeout or EOF without a close.
  std::optional<Message> expect_close(std::chrono::milliseconds timeout = kDefaultTimeout);
  // close() + expect_close(): the closing handshake started by the client.
  std::optional<Message> close_and_wait(std::optional<std::uint16_t> code = ws::close_code::kNormal,
                                        std::string_view reason = {},
                                        std::chrono::milliseconds timeout = kDefaultTimeout);
  std::size_t discarded_messages() const { return discarded_messages_; }

  // Answer pings with pongs inside recv_message (default true).
  void set_auto_pong(bool enabled) { auto_pong_ = enabled; }
  // RSV bits the server may set (ws::kRsv1 after negotiating permessage-deflate).
  void set_allowed_rsv(std::uint8_t rsv);

  // Frame bytes as a client would send them (masked with `mask_key` if given), to compose hand-made
  // sequences for send_raw: split across writes, interleaved, or deliberately wrong.
  static std::string build_frame(std::uint8_t opcode, std::string_view payload, bool fin = true,
                                 std::optional<ws::MaskKey> mask_key = ws::MaskKey{0x11, 0x22, 0x33, 0x44},
                                 std::uint8_t rsv = 0);

 private:
  struct Tls;
  enum class IoResult { kOk, kWouldBlock, kEof, kError };

  IoResult read_some(std::size_t* got);
  IoResult write_some(std::string_view bytes, std::size_t* written);
  bool wait_io(bool for_read, std::chrono::steady_clock::time_point deadline);
  bool fill(std::chrono::steady_clock::time_point deadline);
  std::string_view buffered() const { return std::string_view(rbuf_).substr(rpos_); }
  void consume(std::size_t bytes);
  std::optional<Frame> recv_frame_until(std::chrono::steady_clock::time_point deadline);
  std::optional<Message> recv_message_until(std::chrono::steady_clock::time_point deadline,
                                            RecvOptions options);
  bool read_body(HttpResponse& response, std::chrono::steady_clock::time_point deadline);
  void fail(std::string message) { error_ = std::move(message); }

  int fd_ = -1;
  std::unique_ptr<Tls> tls_;
  std::string peer_;      // "host:port" for the default Host header
  std::string rbuf_;      // received bytes; rbuf_[rpos_..] not yet consumed
  std::size_t rpos_ = 0;  // consumed prefix of rbuf_, compacted now and then
  bool eof_ = false;
  bool reset_ = false;
  bool read_while_sending_ = true;
  bool auto_pong_ = true;
  int pending_rcvbuf_ = 0;
  int pending_sndbuf_ = 0;
  bool want_write_ = false;  // TLS: the last read needs the socket writable (and vice versa)
  std::string error_;
  std::size_t discarded_messages_ = 0;

  // Frame parsing state, kept across recv_frame calls so a timeout mid-frame loses nothing.
  std::unique_ptr<ws::FrameParser> parser_;
  std::optional<Frame> partial_frame_;
  // Message reassembly state, kept across recv_message calls likewise.
  std::optional<Message> partial_message_;
};

}  // namespace wsgate::test
