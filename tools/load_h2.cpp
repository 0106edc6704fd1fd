// The load generator's HTTP/2 connection: many WebSockets per connection over h2c or TLS (ALPN h2),
// RFC 8441 extended CONNECT through h2::ClientSession; the session's frames for all streams are
// coalesced into one write while the previous one is in flight.
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <optional>
#include <string>
#include <unordered_map>

#include "h2/client_session.hpp"
#include "tools/load_worker.hpp"

namespace wsgate::tools {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr std::size_t kReadBufferBytes = 64 * 1024;
// Bytes of frames produced per write: many streams' messages coalesced.
constexpr std::size_t kWriteChunkBytes = 256 * 1024;

// TCP or TLS, chosen at construction; the same async calls either way.
class Transport {
 public:
  Transport(asio::io_context& io, asio::ssl::context* tls) : socket_(io) {
    if (tls != nullptr) tls_.emplace(io, *tls);
  }
  tcp::socket& socket() { return tls_ ? tls_->next_layer() : socket_; }
  bool is_tls() const { return tls_.has_value(); }
  SSL* ssl() { return tls_->native_handle(); }

  template <typename Handler>
  void handshake(Handler&& handler) {
    tls_->async_handshake(asio::ssl::stream_base::client, std::forward<Handler>(handler));
  }
  template <typename Handler>
  void read_some(asio::mutable_buffer buffer, Handler&& handler) {
    if (tls_) return tls_->async_read_some(buffer, std::forward<Handler>(handler));
    socket_.async_read_some(buffer, std::forward<Handler>(handler));
  }
  template <typename Handler>
  void write(asio::const_buffer buffer, Handler&& handler) {
    if (tls_) return asio::async_write(*tls_, buffer, std::forward<Handler>(handler));
    asio::async_write(socket_, buffer, std::forward<Handler>(handler));
  }
  void close() {
    error_code ignored;
    socket().close(ignored);
  }

 private:
  tcp::socket socket_;                                 // the connection when cleartext
  std::optional<asio::ssl::stream<tcp::socket>> tls_;  // the connection when TLS (owns its socket)
};

h2::Settings client_settings(const LoadOptions& options) {
  h2::Settings settings;
  // Room for every stream's echo in flight, and more than the server may open.
  settings.max_concurrent_streams = 100;
  settings.max_outgoing_bytes_per_stream = std::max<std::size_t>(256 * 1024, 4 * (options.size_bytes + 14));
  settings.initial_window_bytes = static_cast<std::uint32_t>(std::max<std::size_t>(256 * 1024, 4 * (options.size_bytes + 14)));
  settings.connection_window_bytes = 64 * 1024 * 1024;
  return settings;
}

class H2Connection final : public LoadConnection {
 public:
  H2Connection(LoadWorker& worker, std::uint32_t first_stream_number)
      : worker_(worker),
        transport_(worker.io(), worker.tls_context()),
        writer_(worker.pattern(), random_mask_key()),
        streams_(worker.options().streams),
        read_buffer_(kReadBufferBytes) {
    for (std::size_t i = 0; i < streams_.size(); ++i) {
      streams_[i].owner = this;
      streams_[i].number = first_stream_number + static_cast<std::uint32_t>(i);
    }
    by_id_.reserve(streams_.size() * 2);
    scratch_.reserve(worker.pattern().size_bytes() + ws::kMaxHeaderBytes);
  }

  void start() override {
    const LoadClock::time_point now = LoadClock::now();
    for (EchoStream& stream : streams_) stream.opened_at = now;
    transport_.socket().async_connect(worker_.target(), [this](error_code ec) {
      if (stopped_) return;
      if (ec) return fail("connect: " + ec.message());
      error_code ignored;
      transport_.socket().set_option(tcp::no_delay(true), ignored);
      if (!transport_.is_tls()) return begin_session();
      transport_.handshake([this](error_code handshake_ec) {
        if (stopped_) return;
        if (handshake_ec) return fail("TLS handshake: " + handshake_ec.message());
        const unsigned char* alpn = nullptr;
        unsigned alpn_bytes = 0;
        SSL_get0_alpn_selected(transport_.ssl(), &alpn, &alpn_bytes);
        if (std::string_view(reinterpret_cast<const char*>(alpn), alpn_bytes) != "h2") {
          return fail("the server did not select ALPN h2");
        }
        begin_session();
      });
    });
  }

  bool send_message(EchoStream& stream) override {
    scratch_.clear();
    writer_.append_message(scratch_, stream.next_send_seq, stream.number);
    if (session_->outgoing_space(stream.h2_stream_id) < scratch_.size()) {
      owed_ = true;
      return false;
    }
    if (const h2::Error error = session_->send_data(stream.h2_stream_id, scratch_); error != h2::Error::kNone) {
      fail("send_data: " + std::string(h2::to_string(error)));
      return false;
    }
    ++stream.next_send_seq;
    worker_.note_sent(stream, LoadClock::now());
    if (!in_receive_) flush();
    return true;
  }

  void send_close(EchoStream& stream) override {
    stream.close_sent = true;
    scratch_.clear();
    writer_.append_close(scratch_);
    if (session_->send_data(stream.h2_stream_id, scratch_) != h2::Error::kNone) return fail("send_data (close)");
    if (!in_receive_) flush();
  }

  void on_close_handshake_done(EchoStream& stream) override {
    // RFC 8441 §5: the WebSocket is over; end our side, the stream closes when the server ends its.
    if (session_->end_data(stream.h2_stream_id) != h2::Error::kNone) fail("end_data");
  }

  void flush() override {
    if (writing_ || stopped_ || !session_) return;
    out_.clear();
    const h2::ProduceResult produced = session_->produce(out_, kWriteChunkBytes);
    if (produced.error != h2::Error::kNone) return fail("produce: " + std::string(h2::to_string(produced.error)));
    if (out_.empty()) {
      if (!session_->want_read() && !session_->want_write()) fail("the server ended the HTTP/2 connection");
      return;
    }
    writing_ = true;
    transport_.write(asio::buffer(out_), [this](error_code ec, std::size_t) {
      writing_ = false;
      if (stopped_) return;
      if (ec) return fail("write: " + ec.message());
      if (owed_) {
        owed_ = false;
        in_receive_ = true;
        worker_.catch_up(*this);
        in_receive_ = false;
      }
      flush();
    });
  }

  void stop() override {
    stopped_ = true;
    transport_.close();
  }

  std::span<EchoStream> streams() override { return streams_; }

 private:
  void begin_session() {
    h2::ClientEvents events;
    events.on_settings = [this] { on_settings(); };
    events.on_response = [this](std::int32_t id, h2::ResponseHeaders&& response) { on_response(id, response); };
    events.on_data = [this](std::int32_t id, std::span<const std::uint8_t> bytes) { on_data(id, bytes); };
    events.on_stream_close = [this](std::int32_t id, h2::ErrorCode code) { on_stream_close(id, code); };
    events.on_goaway = [this](std::int32_t, h2::ErrorCode code) {
      if (!worker_.stopping()) worker_.error("GOAWAY from the server: " + std::string(h2::to_string(code)));
    };
    session_.emplace(client_settings(worker_.options()), std::move(events));
    flush();
    read();
  }

  void read() {
    transport_.read_some(asio::buffer(read_buffer_), [this](error_code ec, std::size_t bytes) {
      if (stopped_) return;
      if (ec) return fail(ec == asio::error::eof ? "the server closed the connection" : "read: " + ec.message());
      now_ = LoadClock::now();
      in_receive_ = true;
      const h2::ReceiveResult result = session_->receive(std::span(read_buffer_).first(bytes));
      in_receive_ = false;
      if (stopped_) return;
      if (result.error != h2::Error::kNone) return fail("HTTP/2: " + std::string(h2::to_string(result.error)));
      flush();
      read();
    });
  }

  void on_settings() {
    if (settings_seen_) return;
    settings_seen_ = true;
    if (!session_->connect_protocol_enabled()) return fail("the server did not enable extended CONNECT (RFC 8441)");
    for (EchoStream& stream : streams_) open_stream(stream);
  }

  void open_stream(EchoStream& stream) {
    stream.reset_for_reopen();
    stream.opened_at = LoadClock::now();
    const std::string_view scheme = transport_.is_tls() ? "https" : "http";
    const h2::SubmitResult submitted =
        session_->submit_connect(worker_.options().authority, worker_.options().path, scheme);
    if (submitted.error != h2::Error::kNone) {
      return fail("submit_connect: " + std::string(h2::to_string(submitted.error)));
    }
    stream.h2_stream_id = submitted.stream_id;
    by_id_[submitted.stream_id] = &stream;
  }

  EchoStream* find(std::int32_t id) {
    const auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
  }

  void on_response(std::int32_t id, const h2::ResponseHeaders& response) {
    EchoStream* stream = find(id);
    if (stream == nullptr) return;
    if (response.status != 200) {
      worker_.error("extended CONNECT answered " + std::to_string(response.status));
      by_id_.erase(id);
      session_->reset_stream(id, h2::ErrorCode::kCancel);
      return;
    }
    worker_.on_established(*this, *stream, LoadClock::now());
  }

  void on_data(std::int32_t id, std::span<const std::uint8_t> bytes) {
    session_->consume(id, bytes.size());
    EchoStream* stream = find(id);
    if (stream == nullptr) return;
    if (!worker_.receive(*this, *stream, bytes, now_)) {
      stream->open = false;
      by_id_.erase(id);
      session_->reset_stream(id, h2::ErrorCode::kCancel);
    }
  }

  void on_stream_close(std::int32_t id, h2::ErrorCode code) {
    EchoStream* stream = find(id);
    if (stream == nullptr) return;
    by_id_.erase(id);
    const bool churn_done = stream->close_sent && stream->close_received;
    stream->open = false;
    if (worker_.stopping()) return;
    if (!churn_done) {
      worker_.error("stream closed during the run (" + std::string(h2::to_string(code)) + ")");
      return;
    }
    open_stream(*stream);  // churn: the next WebSocket on the same connection
  }

  void fail(const std::string& what) {
    if (stopped_) return;
    worker_.error(what);
    stopped_ = true;
    transport_.close();
    worker_.on_connection_failed(*this);
  }

  LoadWorker& worker_;
  Transport transport_;
  FrameWriter writer_;
  std::vector<EchoStream> streams_;
  std::unordered_map<std::int32_t, EchoStream*> by_id_;  // open HTTP/2 streams
  std::optional<h2::ClientSession> session_;
  std::vector<std::uint8_t> read_buffer_;
  std::vector<std::uint8_t> out_;      // frames being written
  std::vector<std::uint8_t> scratch_;  // one frame on its way into the session's stream queue
  LoadClock::time_point now_{};        // arrival time of the bytes being processed
  bool writing_ = false;
  bool in_receive_ = false;
  bool owed_ = false;
  bool settings_seen_ = false;
  bool stopped_ = false;
};

}  // namespace

std::unique_ptr<LoadConnection> make_h2_connection(LoadWorker& worker, std::uint32_t first_stream_number) {
  return std::make_unique<H2Connection>(worker, first_stream_number);
}

}  // namespace wsgate::tools
