// One HTTP/1.1 connection of the echo backend (RFC 6455 §4.2, §5, §7 over a TCP socket).
#include "tools/echo_h1_session.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "h1/head_parser.hpp"
#include "tools/echo_engine.hpp"
#include "tools/echo_handshake.hpp"
#include "tools/echo_hooks.hpp"
#include "ws/close.hpp"
#include "ws/frame.hpp"

namespace wsgate::tools {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// The echoes of the frames found in one read, written with one gathered write. Headers (and control
// frames) are copied into a small arena because the engine reuses its storage; payloads point into
// the read buffer, which is not read into again until the write is done.
class WriteBatch {
 public:
  void clear() {
    count_ = 0;
    arena_used_ = 0;
    full_ = false;
  }
  bool empty() const { return count_ == 0; }
  std::span<const boost::asio::const_buffer> buffers() const { return std::span(buffers_).first(count_); }

  // Adds an output; false if the batch must be written before the engine runs again.
  bool add(const EchoEngine::Output& output) {
    if (!output.head.empty()) {
      if (arena_used_ + output.head.size() <= arena_.size()) {
        std::copy(output.head.begin(), output.head.end(),
                  arena_.begin() + static_cast<std::ptrdiff_t>(arena_used_));
        buffers_[count_++] = boost::asio::buffer(arena_.data() + arena_used_, output.head.size());
        arena_used_ += output.head.size();
      } else {
        buffers_[count_++] = boost::asio::buffer(output.head.data(), output.head.size());
        full_ = true;  // points at the engine's storage: valid only until its next call
      }
    }
    if (!output.payload.empty())
      buffers_[count_++] = boost::asio::buffer(output.payload.data(), output.payload.size());
    if (count_ + 2 > buffers_.size()) full_ = true;
    return !full_;
  }

 private:
  static constexpr std::size_t kMaxBuffers = 64;  // an iovec per header and per payload chunk
  std::array<boost::asio::const_buffer, kMaxBuffers> buffers_{};
  std::size_t count_ = 0;
  std::array<std::uint8_t, 2048> arena_{};  // copied headers and control frames
  std::size_t arena_used_ = 0;
  bool full_ = false;
};

// The session is a small state machine driven by completions; at most one read and one write are in
// flight. Reading pauses while an echo write is pending: the payload being written lives in the read
// buffer, which is what bounds memory per connection to that buffer.
class H1EchoSession : public std::enable_shared_from_this<H1EchoSession> {
 public:
  H1EchoSession(tcp::socket socket, const EchoOptions& options)
      : socket_(std::move(socket)),
        options_(options),
        deadline_(socket_.get_executor()),
        close_timer_(socket_.get_executor()),
        drop_timer_(socket_.get_executor()),
        read_buffer_(options.read_buffer_bytes),
        head_parser_(std::in_place, h1::HeadLimits{.max_head_bytes = options.max_head_bytes}) {}

  void start() {
    arm_deadline(options_.handshake_timeout);
    read_head();
  }

 private:
  using Continuation = void (H1EchoSession::*)();

  enum class Phase : std::uint8_t {
    kHandshake,  // reading the request head
    kHooks,      // 101 sent; running ?flood before the echo
    kEcho,       // echoing
    kClosing,    // our side is done: write side shut down, reading until the peer's FIN
  };

  // --- opening handshake -------------------------------------------------------------------------

  void read_head() {
    socket_.async_read_some(asio::buffer(read_buffer_),
                            [self = shared_from_this()](error_code ec, std::size_t n) {
                              if (self->closed_) return;
                              if (ec) return self->abort();
                              self->on_head_bytes(n);
                            });
  }

  void on_head_bytes(std::size_t bytes) {
    const h1::ParseResult result =
        head_parser_->feed(std::string_view(reinterpret_cast<const char*>(read_buffer_.data()), bytes));
    if (result.status == h1::ParseStatus::kNeedMore) return read_head();
    deadline_.cancel();
    if (result.status == h1::ParseStatus::kError) return send_answer(answer_bad_head(result.error), {});

    // Bytes after the head in this read are already WebSocket frames: they stay in the buffer.
    read_begin_ = result.consumed;
    read_end_ = bytes;
    const h1::RequestHead& request = head_parser_->head();
    H1HandshakeAnswer answer = answer_h1_handshake(request, options_.subprotocols, options_.deflate);
    std::string first_message;
    if (answer.upgrade && answer.hooks.send_headers) first_message = headers_to_json(request.headers);
    head_parser_.reset();  // the head is no longer needed; free what the parser held
    send_answer(std::move(answer), first_message);
  }

  // Writes the response (and, for /headers, the first text message in the same write).
  void send_answer(H1HandshakeAnswer answer, std::string_view text_message) {
    owned_bytes_ = std::move(answer.response);
    if (answer.upgrade && answer.hooks.send_headers) {
      std::array<std::uint8_t, ws::kMaxHeaderBytes> header{};
      const std::size_t header_bytes = ws::write_frame_header(
          header, true, static_cast<std::uint8_t>(ws::Opcode::kText), text_message.size());
      owned_bytes_.append(reinterpret_cast<const char*>(header.data()), header_bytes);
      owned_bytes_.append(text_message);
    }
    hooks_ = answer.hooks;
    if (answer.upgrade && answer.deflate) engine_.enable_deflate(*answer.deflate);
    write_buffers({asio::buffer(owned_bytes_), asio::const_buffer{}},
                  answer.upgrade ? &H1EchoSession::start_hooks : &H1EchoSession::finish);
  }

  // --- test hooks --------------------------------------------------------------------------------

  void start_hooks() {
    owned_bytes_ = std::string();
    phase_ = Phase::kHooks;
    if (hooks_.close_after) {
      close_timer_.expires_after(*hooks_.close_after);
      close_timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (ec || self->closed_) return;
        self->close_requested_ = true;
        self->pump();  // the flood and pending writes pick the request up when they complete
      });
    }
    if (hooks_.drop_after) {
      drop_timer_.expires_after(*hooks_.drop_after);
      drop_timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec) self->abort();  // backend death: no close frame, just the transport going away
      });
    }
    flood_left_bytes_ = hooks_.flood_bytes;
    send_flood();
  }

  // ?flood: one 64 KiB binary message per write, so the socket's backpressure paces it. It runs before
  // the echo because an echoed fragmented message must not be interleaved with other messages.
  void send_flood() {
    if (flood_left_bytes_ == 0 || close_requested_) {
      phase_ = Phase::kEcho;
      return pump();
    }
    const std::size_t bytes =
        static_cast<std::size_t>(std::min<std::uint64_t>(flood_left_bytes_, kFloodMessageBytes));
    const std::size_t header_bytes =
        ws::write_frame_header(flood_head_, true, static_cast<std::uint8_t>(ws::Opcode::kBinary), bytes);
    flood_left_bytes_ -= bytes;
    write_buffers(
        {asio::buffer(flood_head_.data(), header_bytes), asio::buffer(flood_message().data(), bytes)},
        &H1EchoSession::send_flood);
  }

  // --- echo --------------------------------------------------------------------------------------

  // Runs the engine over the unread bytes, gathering the echoes of everything already read (many
  // small frames in one read) into one write, then reads more once that write is done.
  void pump() {
    if (closed_ || writing_ || phase_ != Phase::kEcho) return;
    if (close_requested_ && engine_.can_begin_close()) {
      close_requested_ = false;
      arm_deadline(options_.close_timeout);  // RFC 6455 §7.1.1: do not wait for the client forever
      batch_.clear();
      batch_.add(engine_.begin_close(ws::close_code::kNormal, "bye"));
      return write_batch(&H1EchoSession::pump);
    }
    batch_.clear();
    while (read_begin_ != read_end_) {
      const EchoEngine::Step step =
          engine_.on_input(std::span(read_buffer_).subspan(read_begin_, read_end_ - read_begin_));
      read_begin_ += step.consumed;
      switch (step.action) {
        case EchoEngine::Action::kNeedMore:
          break;
        case EchoEngine::Action::kWrite:
          // The engine reuses its header storage on the next call: flush if the batch cannot copy it.
          if (!batch_.add(step.output)) return write_batch(&H1EchoSession::pump);
          continue;
        case EchoEngine::Action::kWriteThenClose:
          batch_.add(step.output);
          return write_batch(&H1EchoSession::finish);
        case EchoEngine::Action::kClose:
          if (batch_.empty()) return finish();
          return write_batch(&H1EchoSession::finish);
      }
      break;
    }
    if (batch_.empty()) return read_more();
    write_batch(&H1EchoSession::pump);
  }

  void read_more() {
    read_begin_ = 0;
    read_end_ = 0;
    if (reading_) return;  // a read is already in flight (a timer-driven close was written meanwhile)
    reading_ = true;
    socket_.async_read_some(
        asio::buffer(read_buffer_), [self = shared_from_this()](error_code ec, std::size_t n) {
          self->reading_ = false;
          if (self->closed_) return;
          if (ec) return self->abort();  // EOF without a close frame, or a reset: nothing left to say
          if (self->phase_ == Phase::kClosing) return self->read_more();  // draining to the peer's FIN
          self->read_end_ = n;
          self->pump();
        });
  }

  void write_batch(Continuation next) {
    writing_ = true;
    asio::async_write(socket_, batch_.buffers(),
                      [self = shared_from_this(), next](error_code ec, std::size_t) {
                        self->writing_ = false;
                        if (self->closed_) return;
                        if (ec) return self->abort();
                        ((*self).*next)();
                      });
  }

  void write_buffers(std::array<asio::const_buffer, 2> buffers, Continuation next) {
    writing_ = true;
    asio::async_write(socket_, buffers, [self = shared_from_this(), next](error_code ec, std::size_t) {
      self->writing_ = false;
      if (self->closed_) return;
      if (ec) return self->abort();
      ((*self).*next)();
    });
  }

  // --- closing -----------------------------------------------------------------------------------

  // Our last bytes are written: send FIN, then read (and discard) until the peer's FIN so that unread
  // bytes do not turn our close into a reset that could destroy the close frame in flight.
  void finish() {
    if (closed_) return;
    phase_ = Phase::kClosing;
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    close_timer_.cancel();
    drop_timer_.cancel();
    arm_deadline(options_.close_timeout);
    read_more();
  }

  // Closes the socket now; pending operations complete with operation_aborted and release the session.
  void abort() {
    if (closed_) return;
    closed_ = true;
    error_code ignored;
    socket_.close(ignored);
    deadline_.cancel();
    close_timer_.cancel();
    drop_timer_.cancel();
  }

  void arm_deadline(std::chrono::milliseconds timeout) {
    deadline_.expires_after(timeout);
    deadline_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->abort();
    });
  }

  tcp::socket socket_;
  const EchoOptions& options_;
  asio::steady_timer deadline_;            // handshake timeout, then the close-handshake timeout
  asio::steady_timer close_timer_;         // ?close_after_ms
  asio::steady_timer drop_timer_;          // ?drop_after_ms
  std::vector<std::uint8_t> read_buffer_;  // options.read_buffer_bytes, allocated once
  std::size_t read_begin_ = 0;             // unprocessed bytes are read_buffer_[read_begin_, read_end_)
  std::size_t read_end_ = 0;
  std::optional<h1::RequestHeadParser> head_parser_;  // only during the handshake
  std::string owned_bytes_;                           // the handshake response while it is written
  EchoHooks hooks_;
  EchoEngine engine_;
  WriteBatch batch_;  // the echo write in flight, or being gathered
  std::uint64_t flood_left_bytes_ = 0;
  std::array<std::uint8_t, ws::kMaxHeaderBytes> flood_head_{};  // header of the flood message in flight
  Phase phase_ = Phase::kHandshake;
  bool reading_ = false;          // an async read is in flight
  bool writing_ = false;          // an async write is in flight
  bool close_requested_ = false;  // ?close_after_ms fired; close at the next frame boundary
  bool closed_ = false;           // the socket is closed; completions only release the session
};

}  // namespace

void start_h1_echo_session(tcp::socket socket, const EchoOptions& options) {
  std::make_shared<H1EchoSession>(std::move(socket), options)->start();
}

}  // namespace wsgate::tools
