// The load generator's HTTP/1.1 connection: one WebSocket per TCP connection (RFC 6455 §4.1
// opening handshake, §5 framing, §7 close), writes batched into one buffer while a write is in flight.
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <optional>
#include <string>

#include "h1/head_parser.hpp"
#include "tools/load_worker.hpp"
#include "ws/handshake.hpp"

namespace wsgate::tools {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr std::size_t kReadBufferBytes = 64 * 1024;
// Open loop: messages beyond this much unwritten data stay owed instead of queued.
constexpr std::size_t kMaxPendingBytes = 1024 * 1024;

class H1Connection final : public LoadConnection {
 public:
  H1Connection(LoadWorker& worker, std::uint32_t stream_number)
      : worker_(worker),
        socket_(worker.io()),
        writer_(worker.pattern(), random_mask_key()),
        read_buffer_(kReadBufferBytes) {
    stream_.owner = this;
    stream_.number = stream_number;
    const std::size_t frame_bytes = worker.pattern().size_bytes() + ws::kMaxHeaderBytes;
    pending_.reserve(frame_bytes * 4);
    in_flight_.reserve(frame_bytes * 4);
  }

  void start() override {
    stream_.reset_for_reopen();
    stream_.opened_at = LoadClock::now();
    socket_.async_connect(worker_.target(), [this](error_code ec) {
      if (stopped_) return;
      if (ec) return fail("connect: " + ec.message());
      error_code ignored;
      socket_.set_option(tcp::no_delay(true), ignored);
      send_handshake();
    });
  }

  bool send_message(EchoStream& stream) override {
    if (pending_.size() >= kMaxPendingBytes) {
      owed_ = true;
      return false;
    }
    writer_.append_message(pending_, stream.next_send_seq++, stream.number);
    worker_.note_sent(stream, LoadClock::now());
    if (!in_receive_) flush();
    return true;
  }

  void send_close(EchoStream& stream) override {
    stream.close_sent = true;
    writer_.append_close(pending_);
    if (!in_receive_) flush();
  }

  void on_close_handshake_done(EchoStream&) override {
    // RFC 6455 §7.1.1: the server closes TCP first; wait for its FIN so TIME_WAIT stays there.
    closing_ = true;
  }

  void flush() override {
    if (writing_ || pending_.empty() || stopped_) return;
    writing_ = true;
    in_flight_.swap(pending_);
    asio::async_write(socket_, asio::buffer(in_flight_), [this](error_code ec, std::size_t) {
      writing_ = false;
      if (stopped_) return;
      if (ec) return fail("write: " + ec.message());
      in_flight_.clear();
      if (restart_after_write_) return restart();
      if (owed_) {
        owed_ = false;
        worker_.catch_up(*this);
      }
      flush();
    });
  }

  void stop() override {
    stopped_ = true;
    error_code ignored;
    socket_.close(ignored);
  }

  std::span<EchoStream> streams() override { return std::span(&stream_, 1); }

 private:
  void send_handshake() {
    key_ = ws::generate_key();
    const std::string& authority = worker_.options().authority;
    std::string request = "GET " + worker_.options().path + " HTTP/1.1\r\nHost: " + authority +
                          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key_ +
                          "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    pending_.assign(request.begin(), request.end());
    head_parser_.emplace();
    flush();
    read_head();
  }

  void read_head() {
    socket_.async_read_some(asio::buffer(read_buffer_), [this](error_code ec, std::size_t bytes) {
      if (stopped_) return;
      if (ec) return fail("reading the handshake response: " + ec.message());
      const h1::ParseResult result =
          head_parser_->feed(std::string_view(reinterpret_cast<const char*>(read_buffer_.data()), bytes));
      if (result.status == h1::ParseStatus::kNeedMore) return read_head();
      if (result.status == h1::ParseStatus::kError) return fail("malformed handshake response");
      const h1::ResponseHead& head = head_parser_->head();
      if (head.status != 101) return fail("handshake answered " + std::to_string(head.status));
      const auto accept = head.headers.get("sec-websocket-accept");
      if (!accept || *accept != ws::compute_accept(key_)) return fail("wrong Sec-WebSocket-Accept");
      const LoadClock::time_point now = LoadClock::now();
      worker_.on_established(*this, stream_, now);
      on_frames(std::span(read_buffer_).subspan(result.consumed, bytes - result.consumed), now);
    });
  }

  void read_frames() {
    socket_.async_read_some(asio::buffer(read_buffer_), [this](error_code ec, std::size_t bytes) {
      if (stopped_) return;
      if (ec == asio::error::eof && closing_) return writing_ ? void(restart_after_write_ = true) : restart();
      if (ec) return fail(ec == asio::error::eof ? "the server closed the connection" : "read: " + ec.message());
      on_frames(std::span(read_buffer_).first(bytes), LoadClock::now());
    });
  }

  void on_frames(std::span<const std::uint8_t> bytes, LoadClock::time_point now) {
    if (!bytes.empty()) {
      in_receive_ = true;
      const bool ok = worker_.receive(*this, stream_, bytes, now);
      in_receive_ = false;
      if (!ok) return drop();
      flush();
    }
    read_frames();
  }

  // Churn: the close handshake is done and the server closed; open the next WebSocket.
  void restart() {
    error_code ignored;
    socket_.close(ignored);
    stream_.open = false;
    closing_ = false;
    restart_after_write_ = false;
    pending_.clear();
    if (worker_.stopping()) return;
    start();
  }

  void fail(const std::string& what) {
    worker_.error(what);
    drop();
  }

  void drop() {
    stopped_ = true;
    error_code ignored;
    socket_.close(ignored);
    worker_.on_connection_failed(*this);
  }

  LoadWorker& worker_;
  tcp::socket socket_;
  FrameWriter writer_;
  EchoStream stream_;
  std::vector<std::uint8_t> read_buffer_;
  std::vector<std::uint8_t> pending_;    // queued while a write is in flight
  std::vector<std::uint8_t> in_flight_;  // being written
  std::optional<h1::ResponseHeadParser> head_parser_;
  std::string key_;                      // Sec-WebSocket-Key of the current handshake
  bool writing_ = false;
  bool in_receive_ = false;              // inside receive(): sends are flushed once afterwards
  bool owed_ = false;                    // open loop: a send was refused on a full buffer
  bool closing_ = false;                 // churn: close handshake done, waiting for the server's FIN
  bool restart_after_write_ = false;
  bool stopped_ = false;
};

}  // namespace

std::unique_ptr<LoadConnection> make_h1_connection(LoadWorker& worker, std::uint32_t first_stream_number) {
  return std::make_unique<H1Connection>(worker, first_stream_number);
}

}  // namespace wsgate::tools
