// The part of an HTTP/2 session both ends share: one RAII nghttp2_session fed bytes in and asked for
// bytes out (sans-I/O), per-stream outgoing queues behind deferred data providers, and flow control
// under the application's control (RFC 9113 §5.2, §6.9): the connection window is credited on
// receipt, a stream window only when the app calls consume() after forwarding the bytes.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "h2/byte_queue.hpp"
#include "h2/error.hpp"
#include "h2/headers.hpp"
#include "h2/settings.hpp"

namespace wsgate::h2 {

struct ReceiveResult {
  std::size_t consumed = 0;  // bytes of the input processed (all of it unless error != kNone)
  Error error = Error::kNone;
};

struct ProduceResult {
  std::size_t bytes = 0;  // bytes appended to the output buffer
  Error error = Error::kNone;
};

// Events common to both ends. Any may be empty. They fire from inside receive() and produce();
// from an event the app may call any action on the session but must not destroy it, and must not throw.
struct StreamEvents {
  // DATA payload for a stream; pass it on, then call consume(stream_id, bytes.size()).
  std::function<void(std::int32_t stream_id, std::span<const std::uint8_t> bytes)> on_data;
  // The peer ended its side of the stream (END_STREAM).
  std::function<void(std::int32_t stream_id)> on_stream_end;
  // The stream is gone (both sides ended, RST_STREAM either way, or the session failed); its id is
  // unknown to every action afterwards. code is the RST_STREAM code, or kNoError on a clean close.
  std::function<void(std::int32_t stream_id, ErrorCode code)> on_stream_close;
  // The peer sent GOAWAY: streams above last_stream_id were not processed and will close.
  std::function<void(std::int32_t last_stream_id, ErrorCode code)> on_goaway;
  // Queued outgoing bytes of a stream were written into produce()'s buffer; outgoing_bytes is what
  // is left queued. Use it to resume reading a backend paused on a full queue.
  std::function<void(std::int32_t stream_id, std::size_t outgoing_bytes)> on_data_sent;
};

class Session {
 public:
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  virtual ~Session();

  // Feeds bytes read from the transport (wraps nghttp2_session_mem_recv). Events fire from inside.
  // Errors: kBadPreface, kFlooded, kCallbackFailure, kNoMemory (fatal: the session is failed);
  // kConnectionError (the session already sent or queued GOAWAY with an error code);
  // kSessionFailed (an earlier fatal error). On any error consumed is 0.
  ReceiveResult receive(std::span<const std::uint8_t> bytes);

  // Appends frames to send to `out`, many frames coalesced, at most max(max_bytes, one DATA frame)
  // bytes; what did not fit stays queued for the next call. Events (on_stream_close, on_data_sent)
  // may fire from inside. Errors: kCallbackFailure, kNoMemory (fatal), kSessionFailed.
  ProduceResult produce(std::vector<std::uint8_t>& out, std::size_t max_bytes);

  // When both are false the connection is done: close it.
  bool want_read() const;
  bool want_write() const;

  // Copies bytes into the stream's outgoing queue; they go out as DATA frames as the peer's flow
  // control window allows. All or nothing. Errors: kNoSuchStream, kDataEnded, kBufferFull (more than
  // Settings::max_outgoing_bytes_per_stream would be queued), kNoMemory.
  Error send_data(std::int32_t stream_id, std::span<const std::uint8_t> bytes);
  // Ends the stream's outgoing side: END_STREAM goes out after the queued bytes.
  // Errors: kNoSuchStream, kDataEnded, kNoMemory.
  Error end_data(std::int32_t stream_id);
  // Bytes queued and not yet produced; 0 for an unknown stream.
  std::size_t outgoing_bytes(std::int32_t stream_id) const;
  // How many more bytes send_data() accepts now; 0 for an unknown or ended stream.
  std::size_t outgoing_space(std::int32_t stream_id) const;

  // Reopens the stream's receive window by `bytes` delivered in on_data and now forwarded
  // (nghttp2_session_consume_stream). Consuming on a closed stream is a no-op.
  // Errors: kInvalidArgument (stream id <= 0), kNoMemory.
  Error consume(std::int32_t stream_id, std::size_t bytes);

  // Sends RST_STREAM with `code`; on_stream_close follows from produce().
  // Errors: kNoSuchStream, kInvalidArgument (stream id <= 0), kNoMemory.
  Error reset_stream(std::int32_t stream_id, ErrorCode code);

  // Sends GOAWAY with `code` and the last peer stream id we processed. Streams up to it go on; once
  // they close, want_read()/want_write() turn false. Errors: kNoMemory, kSessionFailed.
  Error goaway(ErrorCode code);

  // The error code of a GOAWAY this session sent on its own because the peer broke the protocol.
  std::optional<ErrorCode> connection_error() const { return connection_error_; }
  // Streams this session is tracking (open or half-closed).
  std::size_t stream_count() const { return streams_.size(); }
  // Whether the stream is open (or half-closed) here: actions on it are accepted.
  bool has_stream(std::int32_t stream_id) const { return find_stream(stream_id) != nullptr; }
  // Send window left on a stream for DATA (min of stream and connection window); -1 if unknown.
  std::int32_t remote_window_bytes(std::int32_t stream_id) const;
  // Receive window left on a stream before the peer stalls; -1 if unknown.
  std::int32_t local_window_bytes(std::int32_t stream_id) const;

 protected:
  enum class Role { kServer, kClient };

  // A header block being assembled from on_header callbacks.
  struct IncomingHead {
    std::vector<Header> pseudo;  // pseudo-header fields (":method", ...) in arrival order
    std::vector<Header> fields;  // regular fields in arrival order
    std::size_t list_bytes = 0;  // RFC 9113 §6.5.2 size so far
    bool too_large = false;      // list_bytes went over Settings::max_header_list_bytes
  };

  struct Stream {
    ByteQueue outgoing;            // DATA payload the app queued, waiting for window and produce()
    bool data_ended = false;       // end_data() called, or the stream was submitted with END_STREAM
    bool data_deferred = false;    // the data provider returned DEFERRED; send/end must resume it
    bool head_submitted = false;   // our request/response head was submitted on this stream
    bool collecting_head = false;  // the HEADERS block being received is the request/response head
    bool head_delivered = false;   // the final request/response head was surfaced to the app
    IncomingHead head;             // the head being assembled
  };

  Session(Role role, const Settings& settings, StreamEvents events);
  // Sends the SETTINGS frame and opens the connection window; derived constructors call it.
  Error start(std::span<const nghttp2_settings_entry> entries);

  nghttp2_session* handle() const { return session_.get(); }
  const Settings& settings() const { return settings_; }
  Stream* find_stream(std::int32_t stream_id);
  const Stream* find_stream(std::int32_t stream_id) const;
  Stream& add_stream(std::int32_t stream_id) { return streams_[stream_id]; }
  // A data provider reading from the stream's outgoing queue (deferred while it is empty).
  static nghttp2_data_provider queue_data_provider();
  // Converts headers to nghttp2's form; the strings must outlive the returned vector.
  static std::vector<nghttp2_nv> to_nv(std::span<const Header> headers);
  static bool valid_regular_headers(std::span<const Header> headers);
  static Error from_lib_error(int lib_error);

  // A final head (request on the server, response on the client) is complete.
  virtual void on_head(std::int32_t stream_id, Stream& stream, bool end_stream) = 0;
  // Whether a HEADERS block of this category starts the head we surface (not trailers/push).
  virtual bool is_head_category(nghttp2_headers_category category, const Stream& stream) const = 0;
  // A non-ACK SETTINGS frame from the peer was processed.
  virtual void on_remote_settings() {}

  StreamEvents events_;

 private:
  struct SessionDeleter {
    void operator()(nghttp2_session* session) const { nghttp2_session_del(session); }
  };
  struct Callbacks;  // the nghttp2 callback trampolines, in session.cpp

  // Where produce() is writing.
  struct Sink {
    std::vector<std::uint8_t>* out = nullptr;
    std::size_t start = 0;
    std::size_t max_bytes = 0;
    std::size_t room() const { return written() >= max_bytes ? 0 : max_bytes - written(); }
    std::size_t written() const { return out->size() - start; }
  };

  void resume_if_deferred(std::int32_t stream_id, Stream& stream);

  Settings settings_;
  Sink sink_;
  std::unordered_map<std::int32_t, Stream> streams_;
  std::optional<ErrorCode> connection_error_;        // set when we sent GOAWAY(error) on our own
  bool app_goaway_ = false;                          // goaway() was called: its GOAWAY is not a failure
  ErrorCode app_goaway_code_ = ErrorCode::kNoError;  // the code the app asked for
  Error fatal_ = Error::kNone;                       // first fatal error; every later call reports it
  // Last: nghttp2 is torn down first, before the state its callbacks point at.
  std::unique_ptr<nghttp2_session, SessionDeleter> session_;
};

}  // namespace wsgate::h2
