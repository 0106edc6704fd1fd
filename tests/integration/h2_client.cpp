// Blocking HTTP/2 WebSocket test client: h2::ClientSession pumped by a poll() loop over a WsClient
// transport, per-stream ws::FrameParser (Sender::kServer) for what comes back.
#include "tests/integration/h2_client.hpp"

#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <numeric>
#include <random>
#include <span>
#include <utility>

#include "ws/close.hpp"

namespace wsgate::test {
namespace {

// Frames produced per write: large enough to coalesce many streams, small enough to interleave reads.
constexpr std::size_t kWriteChunkBytes = 256 * 1024;
// Bytes of a parsed prefix kept in a stream's receive buffer before it is compacted.
constexpr std::size_t kCompactBytes = 1 << 20;

std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1'000'000));
}

ws::MaskKey random_mask_key() {
  thread_local std::mt19937 engine{std::random_device{}()};
  const std::uint32_t bits = engine();
  return {static_cast<std::uint8_t>(bits), static_cast<std::uint8_t>(bits >> 8),
          static_cast<std::uint8_t>(bits >> 16), static_cast<std::uint8_t>(bits >> 24)};
}

Message first_frame_of(Frame& frame) {
  Message message;
  message.opcode = frame.opcode();
  message.payload = std::move(frame.payload);
  message.frame_count = 1;
  message.rsv = frame.header.rsv;
  return message;
}

}  // namespace

std::string H2Response::header(std::string_view name) const {
  for (const h2::Header& field : headers) {
    if (field.name == name) return field.value;
  }
  return {};
}

struct H2Client::StreamState {
  std::optional<H2Response> response;   // final response head, once received
  std::string rx;                       // DATA received; rx[rx_pos..] not yet parsed
  std::size_t rx_pos = 0;               // parsed prefix of rx
  std::size_t received_bytes = 0;       // all DATA bytes received on the stream
  std::size_t unconsumed_bytes = 0;     // received while paused: window credit still owed
  bool paused = false;                  // do not consume (no WINDOW_UPDATE)
  std::deque<std::string> tx;           // bytes queued by the test, waiting for session queue space
  std::size_t tx_pos = 0;               // bytes of tx.front() already handed to the session
  bool end_requested = false;           // end_stream() called: END_STREAM once tx is empty
  bool end_submitted = false;           // end_data() was called on the session
  bool remote_ended = false;            // END_STREAM from the server
  std::optional<h2::ErrorCode> closed;  // the stream is gone (RST code or kNoError)
  std::string ws_error;                 // a framing error in the server's bytes
  // RSV1 is accepted (permessage-deflate tests check Message::rsv themselves).
  ws::FrameParser parser{ws::FrameParserOptions{.sender = ws::Sender::kServer, .allowed_rsv = ws::kRsv1}};
  std::optional<Frame> partial_frame;      // frame being assembled
  std::optional<Message> partial_message;  // fragmented message being assembled
  std::size_t queued_bytes() const {
    const auto add = [](std::size_t total, const std::string& chunk) { return total + chunk.size(); };
    return std::accumulate(tx.begin(), tx.end(), std::size_t{0}, add) - tx_pos;
  }
};

H2Client::H2Client(h2::Settings settings) : settings_(settings) {}

H2Client::~H2Client() = default;

// ---- connection ----

bool H2Client::connect(std::string_view host, std::uint16_t port, bool tls,
                       std::chrono::milliseconds timeout) {
  // OpenSSL writes with write(2): a server closing first must not kill the test with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  const auto deadline = Clock::now() + timeout;
  streams_.clear();
  goaway_.reset();
  settings_received_ = false;
  closed_ = false;
  error_.clear();
  session_.reset();
  std::optional<TlsOptions> tls_options;
  if (tls) {
    tls_options.emplace();
    tls_options->alpn = {"h2"};
  }
  if (!transport_.connect(host, port, timeout, tls_options)) {
    fail("connect: " + transport_.last_error());
    return false;
  }
  // RFC 9113 §3.2: over TLS, HTTP/2 only after ALPN selected "h2".
  if (tls && transport_.negotiated_alpn() != "h2") {
    fail("ALPN: the server selected \"" + transport_.negotiated_alpn() + "\", not h2");
    return false;
  }

  h2::ClientEvents events;
  events.on_response = [this](std::int32_t id, h2::ResponseHeaders&& response) {
    stream_state(id).response = H2Response{response.status, std::move(response.headers), response.end_stream};
  };
  events.on_settings = [this] { settings_received_ = true; };
  events.on_data = [this](std::int32_t id, std::span<const std::uint8_t> bytes) {
    StreamState& state = stream_state(id);
    state.rx.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    state.received_bytes += bytes.size();
    if (state.paused) {
      state.unconsumed_bytes += bytes.size();
    } else {
      session_->consume(id, bytes.size());
    }
  };
  events.on_stream_end = [this](std::int32_t id) { stream_state(id).remote_ended = true; };
  events.on_stream_close = [this](std::int32_t id, h2::ErrorCode code) { stream_state(id).closed = code; };
  events.on_goaway = [this](std::int32_t last_stream_id, h2::ErrorCode code) {
    goaway_ = H2Goaway{last_stream_id, code};
  };
  session_ = std::make_unique<h2::ClientSession>(settings_, std::move(events));

  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  if (!run_until([this] { return settings_received_; }, std::max(left, std::chrono::milliseconds(1)))) {
    fail("no SETTINGS from the server: " + error_);
    return false;
  }
  // RFC 8441 §3: extended CONNECT only once the server enabled it.
  if (!connect_protocol_enabled()) {
    fail("the server's SETTINGS lack SETTINGS_ENABLE_CONNECT_PROTOCOL = 1");
    return false;
  }
  return true;
}

bool H2Client::connect_protocol_enabled() const { return session_ && session_->connect_protocol_enabled(); }

bool H2Client::goaway(h2::ErrorCode code) {
  if (!session_ || session_->goaway(code) != h2::Error::kNone) {
    fail("goaway failed");
    return false;
  }
  return flush(0);
}

bool H2Client::wait_goaway(std::chrono::milliseconds timeout) {
  return run_until([this] { return goaway_.has_value(); }, timeout);
}

bool H2Client::wait_connection_closed(std::chrono::milliseconds timeout) {
  return run_until([this] { return closed_; }, timeout);
}

// ---- streams ----

H2Client::StreamState* H2Client::find(std::int32_t stream) {
  return const_cast<StreamState*>(std::as_const(*this).find(stream));
}

H2Client::StreamState* H2Client::find_or_fail(std::int32_t stream) {
  StreamState* state = find(stream);
  if (state == nullptr) fail("unknown stream " + std::to_string(stream));
  return state;
}

const H2Client::StreamState* H2Client::find(std::int32_t stream) const {
  const auto it = streams_.find(stream);
  return it == streams_.end() ? nullptr : it->second.get();
}

H2Client::StreamState& H2Client::stream_state(std::int32_t stream) {
  std::unique_ptr<StreamState>& state = streams_[stream];
  if (!state) state = std::make_unique<StreamState>();
  return *state;
}

std::int32_t H2Client::opened(const h2::SubmitResult& result, bool end_stream) {
  if (result.error != h2::Error::kNone) {
    fail("cannot open a stream: " + std::string(h2::to_string(result.error)));
    return -1;
  }
  StreamState& state = stream_state(result.stream_id);
  state.end_requested = state.end_submitted = end_stream;
  return result.stream_id;
}

std::int32_t H2Client::open_websocket(std::string_view path, std::string_view authority,
                                      const std::vector<h2::Header>& extra, std::string_view scheme) {
  if (!session_) return opened({-1, h2::Error::kSessionFailed}, false);
  return opened(session_->submit_connect(authority, path, scheme, extra), false);
}

std::int32_t H2Client::submit_request(const std::vector<h2::Header>& headers, bool end_stream) {
  if (!session_) return opened({-1, h2::Error::kSessionFailed}, false);
  return opened(session_->submit_request(headers, end_stream), end_stream);
}

std::optional<H2Response> H2Client::wait_response(std::int32_t stream, std::chrono::milliseconds timeout) {
  StreamState* state = find_or_fail(stream);
  if (state == nullptr) return std::nullopt;
  run_until([&] { return state->response || state->closed || closed_; }, timeout);
  if (!state->response && state->closed) {
    fail("stream " + std::to_string(stream) + " reset (" + std::string(h2::to_string(*state->closed)) +
         ") without a response");
  } else if (!state->response) {
    fail("no response on stream " + std::to_string(stream) + ": " + error_);
  }
  return state->response;
}

std::optional<std::string> H2Client::read_body(std::int32_t stream, std::chrono::milliseconds timeout) {
  StreamState* state = find_or_fail(stream);
  if (state == nullptr) return std::nullopt;
  run_until([&] { return state->remote_ended || state->closed.has_value() || closed_; }, timeout);
  if (!state->remote_ended) {
    fail("stream " + std::to_string(stream) + " did not end: " + error_);
    return std::nullopt;
  }
  std::string body = state->rx.substr(state->rx_pos);
  state->rx.clear();
  state->rx_pos = 0;
  return body;
}

// ---- WebSocket frames ----

void H2Client::queue_data(std::int32_t stream, std::string_view bytes) {
  if (bytes.empty()) return;
  stream_state(stream).tx.emplace_back(bytes);
}

void H2Client::queue_frame(std::int32_t stream, ws::Opcode opcode, std::string_view payload, bool fin) {
  stream_state(stream).tx.push_back(
      WsClient::build_frame(static_cast<std::uint8_t>(opcode), payload, fin, random_mask_key()));
}

void H2Client::queue_message(std::int32_t stream, ws::Opcode opcode, std::string_view payload,
                             std::size_t fragment_size) {
  if (fragment_size == 0 || payload.size() <= fragment_size) {
    queue_frame(stream, opcode, payload, true);
    return;
  }
  ws::Opcode frame_opcode = opcode;
  for (std::size_t offset = 0; offset < payload.size(); offset += fragment_size) {
    const std::string_view part = payload.substr(offset, fragment_size);
    queue_frame(stream, frame_opcode, part, offset + part.size() == payload.size());
    frame_opcode = ws::Opcode::kContinuation;
  }
}

bool H2Client::send_message(std::int32_t stream, ws::Opcode opcode, std::string_view payload,
                            std::size_t fragment_size, std::chrono::milliseconds timeout) {
  queue_message(stream, opcode, payload, fragment_size);
  return flush(stream, timeout);
}

bool H2Client::flush(std::int32_t stream, std::chrono::milliseconds timeout) {
  const bool done = run_until(
      [&] {
        if (stream != 0) return unsent_bytes(stream) == 0;
        for (const auto& [id, state] : streams_) {
          if (unsent_bytes(id) != 0) return false;
        }
        return !session_->want_write();
      },
      timeout);
  if (!done) fail("flush: " + error_);
  return done;
}

std::optional<Frame> H2Client::next_frame(StreamState& state) {
  while (true) {
    const ws::FrameEvent event = state.parser.next(as_bytes(std::string_view(state.rx).substr(state.rx_pos)));
    std::optional<Frame> complete;
    switch (event.kind) {
      case ws::FrameEvent::kHeader:
        state.partial_frame.emplace();
        state.partial_frame->header = event.header;
        state.partial_frame->payload.reserve(
            static_cast<std::size_t>(std::min<std::uint64_t>(event.header.payload_length, 64 << 20)));
        break;
      case ws::FrameEvent::kPayload:
        if (!state.partial_frame) state.partial_frame.emplace(Frame{event.header, {}});
        state.partial_frame->payload.append(reinterpret_cast<const char*>(event.payload.data()),
                                            event.payload.size());
        break;
      case ws::FrameEvent::kFrameEnd:
        complete = state.partial_frame ? std::move(*state.partial_frame) : Frame{event.header, {}};
        state.partial_frame.reset();
        break;
      case ws::FrameEvent::kError:
        state.ws_error = "bad frame from the server: " + std::string(ws::to_string(event.error));
        break;
      case ws::FrameEvent::kNeedMore:
        break;
    }
    state.rx_pos += event.consumed;
    if (state.rx_pos == state.rx.size()) {
      state.rx.clear();
      state.rx_pos = 0;
    } else if (state.rx_pos > kCompactBytes && state.rx_pos > state.rx.size() / 2) {
      state.rx.erase(0, state.rx_pos);
      state.rx_pos = 0;
    }
    if (complete) return complete;
    if (event.kind == ws::FrameEvent::kError || event.kind == ws::FrameEvent::kNeedMore) return std::nullopt;
  }
}

std::optional<Message> H2Client::next_message(std::int32_t stream, StreamState& state, RecvOptions options) {
  while (true) {
    std::optional<Frame> frame = next_frame(state);
    if (!frame) return std::nullopt;
    const ws::Opcode opcode = frame->opcode();
    if (ws::is_control(frame->header.opcode)) {
      Message control = first_frame_of(*frame);
      if (opcode == ws::Opcode::kClose) {
        if (control.payload.size() >= 2) {
          control.close_code =
              static_cast<std::uint16_t>((static_cast<std::uint8_t>(control.payload[0]) << 8) |
                                         static_cast<std::uint8_t>(control.payload[1]));
          control.close_reason = control.payload.substr(2);
        }
        return control;
      }
      if (opcode == ws::Opcode::kPing) {
        if (auto_pong_) queue_frame(stream, ws::Opcode::kPong, control.payload);
        if (options.return_pings) return control;
        continue;
      }
      if (opcode == ws::Opcode::kPong && !options.return_pongs) continue;
      return control;
    }
    if (opcode == ws::Opcode::kContinuation) {
      if (!state.partial_message) {
        state.ws_error = "continuation frame with no message in progress";
        return std::nullopt;
      }
      state.partial_message->payload += frame->payload;
      ++state.partial_message->frame_count;
    } else {
      if (state.partial_message) {
        state.ws_error = "new data frame while a fragmented message is in progress";
        return std::nullopt;
      }
      state.partial_message = first_frame_of(*frame);
    }
    if (frame->header.fin) {
      Message message = std::move(*state.partial_message);
      state.partial_message.reset();
      return message;
    }
  }
}

std::optional<Message> H2Client::recv_message(std::int32_t stream, std::chrono::milliseconds timeout,
                                              RecvOptions options) {
  StreamState* state = find_or_fail(stream);
  if (state == nullptr) return std::nullopt;
  std::optional<Message> message;
  // A stream that ended or closed can still hold complete messages: those are returned first.
  run_until(
      [&] {
        message = next_message(stream, *state, options);
        return message || !state->ws_error.empty() || state->remote_ended || state->closed.has_value() ||
               closed_;
      },
      timeout);
  if (message) return message;
  if (!state->ws_error.empty()) {
    fail(state->ws_error);
  } else if (state->closed) {
    fail("stream " + std::to_string(stream) + " closed (" + std::string(h2::to_string(*state->closed)) +
         ") with no further message");
  } else if (state->remote_ended) {
    fail("stream " + std::to_string(stream) + " ended by the server with no further message");
  } else if (!closed_) {
    fail("timeout waiting for a message on stream " + std::to_string(stream));
  }
  return std::nullopt;
}

bool H2Client::close(std::int32_t stream, std::optional<std::uint16_t> code, std::string_view reason) {
  const std::vector<std::uint8_t> frame = ws::build_close_frame(code, reason, random_mask_key());
  queue_data(stream, {reinterpret_cast<const char*>(frame.data()), frame.size()});
  return flush(stream);
}

std::optional<Message> H2Client::expect_close(std::int32_t stream, std::chrono::milliseconds timeout) {
  for (const auto deadline = Clock::now() + timeout;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    std::optional<Message> message = recv_message(stream, std::max(left, std::chrono::milliseconds(0)));
    if (!message) return std::nullopt;
    if (message->is_close()) return message;
  }
}

std::optional<Message> H2Client::close_and_wait(std::int32_t stream, std::optional<std::uint16_t> code,
                                                std::string_view reason, std::chrono::milliseconds timeout) {
  return close(stream, code, reason) ? expect_close(stream, timeout) : std::nullopt;
}

bool H2Client::end_stream(std::int32_t stream) {
  StreamState* state = find(stream);
  if (state == nullptr || state->closed) {
    fail("end_stream: stream " + std::to_string(stream) + " is not open");
    return false;
  }
  state->end_requested = true;
  return flush(stream);
}

bool H2Client::reset(std::int32_t stream, h2::ErrorCode code) {
  if (StreamState* state = find(stream); state != nullptr) {
    state->tx.clear();
    state->tx_pos = 0;
  }
  if (!session_ || session_->reset_stream(stream, code) != h2::Error::kNone) {
    fail("reset_stream failed on stream " + std::to_string(stream));
    return false;
  }
  return true;
}

// ---- flow control and observation ----

void H2Client::pause(std::int32_t stream) { stream_state(stream).paused = true; }

void H2Client::resume(std::int32_t stream) {
  StreamState& state = stream_state(stream);
  state.paused = false;
  if (state.unconsumed_bytes > 0 && session_) session_->consume(stream, state.unconsumed_bytes);
  state.unconsumed_bytes = 0;
}

std::optional<h2::ErrorCode> H2Client::stream_closed(std::int32_t stream) const {
  const StreamState* state = find(stream);
  return state == nullptr ? std::nullopt : state->closed;
}

bool H2Client::wait_stream_closed(std::int32_t stream, std::chrono::milliseconds timeout) {
  StreamState* state = find_or_fail(stream);
  return state != nullptr && run_until([&] { return state->closed.has_value(); }, timeout);
}

bool H2Client::stream_ended_by_peer(std::int32_t stream) const {
  const StreamState* state = find(stream);
  return state != nullptr && state->remote_ended;
}

std::size_t H2Client::received_bytes(std::int32_t stream) const {
  const StreamState* state = find(stream);
  return state == nullptr ? 0 : state->received_bytes;
}

std::size_t H2Client::unsent_bytes(std::int32_t stream) const {
  const StreamState* state = find(stream);
  if (state == nullptr) return 0;
  return state->queued_bytes() + (session_ ? session_->outgoing_bytes(stream) : 0);
}

// ---- the I/O loop ----

bool H2Client::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = deadline_ = Clock::now() + timeout;
  while (true) {
    while (io_pass()) {
      if (done()) return true;
      if (Clock::now() >= deadline) break;
    }
    if (done()) return true;
    if (closed_) {
      if (error_.empty()) fail("connection closed");
      return false;
    }
    const int wait_ms = remaining_ms(deadline);
    if (wait_ms <= 0) {
      fail("timeout");
      return false;
    }
    pollfd pfd{transport_.fd(), POLLIN, 0};
    int rc;
    do {
      rc = ::poll(&pfd, 1, wait_ms);
    } while (rc < 0 && errno == EINTR);
  }
}

void H2Client::run_for(std::chrono::milliseconds duration) {
  const std::string error = std::exchange(error_, {});
  run_until([] { return false; }, duration);
  error_ = error;  // running out the time is not an error
}

bool H2Client::io_pass() {
  if (closed_ || !session_) return false;
  feed_session();
  bool moved = write_out();
  moved = read_in() || moved;
  return moved;
}

void H2Client::feed_session() {
  for (auto& [id, state] : streams_) {
    if (state->closed || !session_->has_stream(id)) {
      state->tx.clear();
      state->tx_pos = 0;
      continue;
    }
    while (!state->tx.empty()) {
      const std::string& front = state->tx.front();
      const std::size_t space = session_->outgoing_space(id);
      if (space == 0) break;
      const std::size_t n = std::min(space, front.size() - state->tx_pos);
      if (session_->send_data(id, as_bytes(std::string_view(front).substr(state->tx_pos, n))) !=
          h2::Error::kNone) {
        state->tx.clear();
        state->tx_pos = 0;
        break;
      }
      state->tx_pos += n;
      if (state->tx_pos == front.size()) {
        state->tx.pop_front();
        state->tx_pos = 0;
      }
    }
    if (state->tx.empty() && state->end_requested && !state->end_submitted) {
      session_->end_data(id);
      state->end_submitted = true;
    }
  }
}

bool H2Client::write_out() {
  bool wrote = false;
  while (!closed_) {
    out_.clear();
    const h2::ProduceResult produced = session_->produce(out_, kWriteChunkBytes);
    if (!out_.empty()) {
      const auto left = std::max(remaining_ms(deadline_), 1);
      if (!transport_.send_raw({reinterpret_cast<const char*>(out_.data()), out_.size()},
                               std::chrono::milliseconds(left))) {
        fail("write: " + transport_.last_error());
        closed_ = true;
        return true;
      }
      wrote = true;
    }
    if (produced.error != h2::Error::kNone) {
      fail("session: " + std::string(h2::to_string(produced.error)));
      closed_ = true;
      return true;
    }
    if (out_.empty()) break;
    feed_session();  // sending may have made room in the session's queues
  }
  return wrote;
}

bool H2Client::read_in() {
  transport_.pump();
  bool got = false;
  if (const std::size_t available = transport_.buffered_bytes(); available > 0) {
    const std::optional<std::string> bytes = transport_.recv_raw(available, std::chrono::milliseconds(0));
    if (bytes) {
      got = true;
      const h2::ReceiveResult result = session_->receive(as_bytes(*bytes));
      if (result.error != h2::Error::kNone) {
        fail("receive: " + std::string(h2::to_string(result.error)));
        write_out();  // a GOAWAY the session queued
        closed_ = true;
        return true;
      }
    }
  }
  if (transport_.saw_eof() && !closed_) {
    closed_ = true;
    if (error_.empty() || error_ == "timeout") {
      fail(transport_.saw_reset() ? "connection reset by the server" : "connection closed by the server");
    }
    got = true;
  }
  return got;
}

}  // namespace wsgate::test
