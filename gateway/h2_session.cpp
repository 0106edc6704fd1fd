// Downstream HTTP/2 session and its stream channels; see h2_session.hpp.
#include "gateway/h2_session.hpp"

#include <algorithm>
#include <bit>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <cctype>
#include <cstring>

#include "gateway/router.hpp"
#include "gateway/static_files.hpp"
#include "ws/handshake.hpp"

namespace wsgate::gw {

namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kWriteChunk = 64 * 1024;  // frames of many streams coalesced per socket write

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

h2::Settings settings_from(const Config& config, const ListenerConfig& listener) {
  h2::Settings s;
  s.max_concurrent_streams =
      listener.max_streams_per_connection.value_or(config.http2.max_concurrent_streams);
  s.initial_window_bytes = config.http2.initial_stream_window;
  s.connection_window_bytes = config.http2.initial_connection_window;
  s.max_header_list_bytes = config.http2.max_header_list_size;
  s.max_frame_bytes = config.http2.max_frame_size;
  s.max_outgoing_bytes_per_stream = std::max<std::size_t>(config.limits.buffer_per_direction, 16 * 1024);
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------
// H2Session

H2Session::H2Session(Worker& worker, ListenerRuntime& listener, std::shared_ptr<Transport> client,
                     std::vector<std::uint8_t> initial)
    : worker_(worker),
      listener_(listener),
      config_(worker.config()),
      client_(std::move(client)),
      initial_(std::move(initial)) {
  listener_.connections.fetch_add(1, std::memory_order_relaxed);
  client_ip_ = client_->client_ip();
}

H2Session::~H2Session() { listener_.connections.fetch_sub(1, std::memory_order_relaxed); }

void H2Session::start() {
  session_id_ = worker_.add_session(weak_from_this());
  if (auto* m = worker_.metrics()) m->connection_opened(listener_.index, Protocol::kH2);
  std::weak_ptr<H2Session> weak = weak_from_this();
  h2::ServerEvents events;
  events.on_request = [this](std::int32_t id, h2::RequestHeaders&& request) {
    on_request(id, std::move(request));
  };
  events.on_data = [this](std::int32_t id, std::span<const std::uint8_t> bytes) {
    auto it = streams_.find(id);
    if (it != streams_.end() && it->second.channel) {
      it->second.channel->on_data(bytes);
    } else {
      h2_->consume(id, bytes.size());  // a stream we answered with an error: nothing to forward
    }
  };
  events.on_stream_end = [this](std::int32_t id) {
    auto it = streams_.find(id);
    if (it != streams_.end() && it->second.channel) it->second.channel->on_end();
  };
  events.on_stream_close = [this](std::int32_t id, h2::ErrorCode code) { on_stream_close(id, code); };
  events.on_goaway = [this](std::int32_t, h2::ErrorCode code) {
    if (auto* m = worker_.metrics()) m->h2_goaway(false, static_cast<std::uint32_t>(code));
    // The client is leaving: its open streams go on until they end (RFC 9113 §6.8).
    going_away_ = true;
  };
  events.on_data_sent = [this](std::int32_t id, std::size_t) {
    if (static_bodies_.count(id) != 0) pump_static(id);
    auto it = streams_.find(id);
    if (it != streams_.end() && it->second.channel) it->second.channel->on_space();
  };
  h2_ = std::make_unique<h2::ServerSession>(settings_from(*config_, *listener_.config), std::move(events));
  read_buffer_.resize(kReadChunk);
  if (!initial_.empty()) {
    auto result = h2_->receive(initial_);
    initial_.clear();
    initial_.shrink_to_fit();
    if (result.error != h2::Error::kNone) read_ended_ = true;
  }
  schedule_flush();
  if (!read_ended_) read_more();
}

void H2Session::read_more() {
  auto self = shared_from_this();
  client_->async_read_into(read_buffer_, [self](const ErrorCode& ec, std::size_t n) {
    if (self->finished_) return;
    if (ec || n == 0) {
      self->connection_lost();
      return;
    }
    self->delivering_ = true;
    auto result = self->h2_->receive({self->read_buffer_.data(), n});
    self->delivering_ = false;
    self->run_woken_readers();
    if (self->finished_) return;
    if (result.error != h2::Error::kNone) {
      self->read_ended_ = true;  // GOAWAY is queued by nghttp2 where it applies; send it, then close
      self->schedule_flush();
      return;
    }
    self->schedule_flush();
    self->read_more();
  });
}

void H2Session::run_woken_readers() {
  // Outside nghttp2 now: the relays may act on the session (consume, send_data) as they read.
  running_.swap(woken_);
  for (auto& channel : running_) channel->run_read_waiter();
  running_.clear();
}

void H2Session::complete_write(Channel::Handler handler) {
  completed_writes_.push_back(std::move(handler));
  if (completions_posted_) return;
  completions_posted_ = true;
  boost::asio::post(worker_.io(), [self = shared_from_this()] {
    self->completions_posted_ = false;
    self->running_writes_.swap(self->completed_writes_);
    for (auto& completion : self->running_writes_) completion({});
    self->running_writes_.clear();
  });
}

void H2Session::on_request(std::int32_t stream_id, h2::RequestHeaders&& request) {
  ++streams_seen_;
  if (request.issue == h2::HeaderIssue::kHeaderListTooLarge) {
    answer(stream_id, 431, "request headers too large\n");
    return;
  }
  // Each stream is routed on the newest config; it keeps that snapshot to its end.
  std::shared_ptr<const Snapshot> snapshot = worker_.snapshot();
  Router router(*snapshot->config);
  if (request.kind() == h2::RequestKind::kPlainConnect) {
    answer(stream_id, 501, "CONNECT tunnels are not offered; use :protocol websocket\n");
    return;
  }
  std::vector<std::string> offered;
  for (const auto& h : request.headers) {
    if (h.name == "sec-websocket-protocol") {
      auto items = ws::split_header_list(h.value);
      offered.insert(offered.end(), items.begin(), items.end());
    }
  }
  const RouteConfig* route = router.match(request.authority, request.path, offered);
  if (request.kind() == h2::RequestKind::kOther) {
    if (route != nullptr && route->static_dir) {
      answer_static(stream_id, *route, request);
    } else if (route == nullptr) {
      answer(stream_id, 404, "no route\n");
    } else {
      answer(stream_id, 400, "this route accepts WebSocket requests only\n");
    }
    return;
  }
  if (lower(request.protocol) != "websocket") {
    answer(stream_id, 501, "unsupported :protocol\n");
    return;
  }
  if (request.issue == h2::HeaderIssue::kContentLengthOnExtendedConnect) {
    answer(stream_id, 400, "an extended CONNECT has no content\n");
    return;
  }
  if (route == nullptr) {
    answer(stream_id, 404, "no route\n");
    return;
  }
  // RFC 8441 §5 requires sec-websocket-version: 13; a missing one (seen from
  // Firefox) is read as 13, any other value gets 426 as over HTTP/1.1.
  auto version = request.header("sec-websocket-version");
  if (!version.empty() && version != "13") {
    answer(stream_id, 426, "unsupported WebSocket version\n", {{"sec-websocket-version", "13"}});
    return;
  }
  if (worker_.draining() || going_away_) {
    answer(stream_id, 503, "shutting down\n");
    return;
  }
  StreamState st;
  st.snapshot = snapshot;
  st.route = route;
  st.observer = std::make_unique<StreamObserver>(worker_, listener_, Protocol::kH2, client_->remote_address(),
                                                 static_cast<std::uint32_t>(stream_id));
  st.observer->set_route(route, *snapshot);
  st.client_request = std::make_unique<ClientRequest>();
  st.client_request->host = request.authority;
  st.client_request->target = request.path;
  for (auto& h : request.headers) st.client_request->headers.add(std::move(h.name), std::move(h.value));
  st.client_request->client_ip = client_ip_;
  st.client_request->tls = client_->is_tls();
  if (!origin_allowed(*route, st.client_request->headers)) {
    answer(stream_id, 403, "origin not allowed\n");
    return;
  }
  if (!subprotocol_requirement_met(*route, st.client_request->headers)) {
    answer(stream_id, 400, "no acceptable subprotocol offered\n");
    return;
  }
  auto slot = acquire_route_slot(*route);
  if (!slot) {
    answer(stream_id, 503, "too many WebSockets on this route\n", {{"retry-after", "1"}});
    return;
  }
  st.slot = std::move(*slot);
  const BackendRuntime* backend = snapshot->backend_for(*route);
  if (backend == nullptr) {
    answer(stream_id, 503, "no backend\n");
    return;
  }
  // The channel exists from now on so that DATA arriving early is held (not
  // consumed) until the backend has answered 101.
  st.channel = std::make_shared<H2StreamChannel>(weak_from_this(), stream_id, worker_.io().get_executor(),
                                                 client_->remote_address() + "#" + std::to_string(stream_id));
  h1::RequestHead up = build_upstream_request(*route, *st.client_request);
  std::weak_ptr<H2Session> weak = weak_from_this();
  st.upstream = std::make_shared<UpstreamHandshake>(worker_.io(), *backend, worker_.picker(), std::move(up),
                                                    config_->limits.max_request_head,
                                                    [weak, stream_id](UpstreamOutcome outcome) {
                                                      if (auto self = weak.lock())
                                                        self->on_upstream(stream_id, std::move(outcome));
                                                    });
  st.upstream->set_metrics(worker_.metrics());
  st.upstream->set_handshake_timeout(st.route->handshake_timeout);
  auto upstream = st.upstream;
  streams_[stream_id] = std::move(st);
  upstream->start();
}

void H2Session::on_upstream(std::int32_t stream_id, UpstreamOutcome outcome) {
  auto it = streams_.find(stream_id);
  if (finished_ || it == streams_.end() || it->second.h2_closed) {
    if (outcome.transport) outcome.transport->close();
    if (it != streams_.end()) {
      it->second.upstream.reset();
      maybe_erase(stream_id);
    }
    return;
  }
  StreamState& st = it->second;
  st.upstream.reset();
  st.observer->set_backend_endpoint(outcome.endpoint);
  switch (outcome.kind) {
    case UpstreamOutcome::kUpgraded:
      break;
    case UpstreamOutcome::kAnswered: {
      std::vector<h2::Header> headers;
      for (const auto& h : passthrough_answer_headers(outcome.response))
        headers.push_back({lower(h.name), h.value});
      std::string body(outcome.pending.begin(), outcome.pending.end());
      if (body.empty()) body = "backend answered " + std::to_string(outcome.response.status) + "\n";
      answer(stream_id, outcome.response.status, body, std::move(headers));
      return;
    }
    case UpstreamOutcome::kNoEndpoint:
      answer(stream_id, 503, "no healthy backend endpoint\n");
      return;
    case UpstreamOutcome::kTimeout:
      answer(stream_id, 504, "backend timeout\n");
      return;
    case UpstreamOutcome::kConnectFailed:
    case UpstreamOutcome::kBadAnswer:
      answer(stream_id, 502, "bad gateway\n");
      return;
  }
  AcceptedUpgrade accepted = accept_backend_upgrade(*st.route, *st.client_request, outcome.response);
  if (!accepted.error.empty()) {
    outcome.transport->abort();
    answer(stream_id, 502, accepted.error + "\n");
    return;
  }
  // RFC 8441 §5: the 101 of HTTP/1.1 becomes a 2xx on the stream.
  std::vector<h2::Header> headers;
  for (const auto& h : accepted.client_headers) headers.push_back({lower(h.name), h.value});
  if (h2_->submit_response(stream_id, 200, headers, false) != h2::Error::kNone) {
    outcome.transport->abort();
    reset_stream(stream_id, h2::ErrorCode::kInternalError);
    schedule_flush();
    return;
  }
  st.observer->upgraded(200);
  RelayOptions options = relay_options(*config_, *st.route, accepted);
  options.metrics = worker_.metrics();
  options.route = st.observer->route_index().value_or(0);
  std::weak_ptr<H2Session> weak = weak_from_this();
  std::vector<std::uint8_t> no_pending;
  auto client_side = terminate_compression(worker_.io().get_executor(), st.channel,
                                           deflate_channel_options(*st.route, accepted, options), no_pending);
  st.relay = std::make_shared<Relay>(worker_.io().get_executor(), client_side, outcome.transport, options,
                                     [weak, stream_id](const RelayResult& result) {
                                       auto self = weak.lock();
                                       if (!self) return;
                                       auto found = self->streams_.find(stream_id);
                                       if (found == self->streams_.end()) return;
                                       found->second.relay_done = true;
                                       found->second.slot.release();
                                       found->second.observer->ended(result);
                                       // Release the relay from its own completion safely.
                                       boost::asio::post(self->worker_.io(),
                                                         [self, stream_id] { self->maybe_erase(stream_id); });
                                     });
  // The request's fields were needed for the upstream request and the answer only: an open
  // WebSocket does not keep them.
  st.client_request.reset();
  auto relay = st.relay;
  relay->start({}, std::move(outcome.pending));
  if (worker_.draining() || going_away_) relay->go_away();
  schedule_flush();
}

void H2Session::answer(std::int32_t stream_id, int status, std::string_view body,
                       std::vector<h2::Header> headers) {
  headers.push_back({"content-type", "text/plain; charset=utf-8"});
  headers.push_back({"content-length", std::to_string(body.size())});
  auto it = streams_.find(stream_id);
  std::string_view error = body.substr(0, std::min<std::size_t>(body.find('\n'), 120));
  if (it != streams_.end() && it->second.observer) {
    it->second.observer->rejected(status, error);
  } else {
    StreamObserver observer(worker_, listener_, Protocol::kH2, client_->remote_address(),
                            static_cast<std::uint32_t>(stream_id));
    observer.rejected(status, error);
  }
  if (it != streams_.end()) {
    it->second.slot.release();
    it->second.relay_done = true;  // no relay will run on this stream
    if (it->second.channel) it->second.channel->on_closed(h2::ErrorCode::kNoError);
    it->second.channel.reset();
  }
  if (h2_->submit_response(stream_id, status, headers, body.empty()) != h2::Error::kNone) {
    reset_stream(stream_id, h2::ErrorCode::kInternalError);
  } else if (!body.empty()) {
    h2_->send_data(stream_id, {reinterpret_cast<const std::uint8_t*>(body.data()), body.size()});
    h2_->end_data(stream_id);
  }
  schedule_flush();
}

// A plain GET/HEAD on a route with `static`: the file (or 301/304/400/404/405) from static_files.
void H2Session::answer_static(std::int32_t stream_id, const RouteConfig& route,
                              const h2::RequestHeaders& request) {
  const std::string& prefix = route.path_prefix ? *route.path_prefix : route.path.value_or("/");
  StaticResponse file =
      serve_static(*route.static_dir, prefix, request.method, request.path, request.header("if-none-match"));
  std::vector<h2::Header> headers;
  if (!file.content_type.empty()) headers.push_back({"content-type", file.content_type});
  for (const auto& [name, value] : file.headers) headers.push_back({lower(name), value});
  if (h2_->submit_response(stream_id, file.status, headers, file.body.empty()) != h2::Error::kNone) {
    reset_stream(stream_id, h2::ErrorCode::kInternalError);
  } else if (!file.body.empty()) {
    static_bodies_[stream_id] = StaticBody{std::move(file.body), 0};
    pump_static(stream_id);
  }
  schedule_flush();
}

void H2Session::pump_static(std::int32_t stream_id) {
  auto it = static_bodies_.find(stream_id);
  if (it == static_bodies_.end()) return;
  StaticBody& body = it->second;
  std::size_t n = std::min(h2_->outgoing_space(stream_id), body.bytes.size() - body.queued);
  if (n > 0) {
    std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(body.bytes.data()),
                                        body.bytes.size());
    if (h2_->send_data(stream_id, bytes.subspan(body.queued, n)) != h2::Error::kNone) {
      static_bodies_.erase(it);
      reset_stream(stream_id, h2::ErrorCode::kInternalError);
      schedule_flush();
      return;
    }
    body.queued += n;
  }
  if (body.queued == body.bytes.size()) {
    h2_->end_data(stream_id);
    static_bodies_.erase(it);
  }
  schedule_flush();
}

void H2Session::reset_stream(std::int32_t stream_id, h2::ErrorCode code) {
  if (h2_->reset_stream(stream_id, code) != h2::Error::kNone) return;
  reset_by_us_[stream_id] = true;
  if (auto* m = worker_.metrics()) m->h2_rst_stream(true, static_cast<std::uint32_t>(code));
}

void H2Session::on_stream_close(std::int32_t stream_id, h2::ErrorCode code) {
  static_bodies_.erase(stream_id);
  if (auto mine = reset_by_us_.find(stream_id); mine != reset_by_us_.end()) {
    reset_by_us_.erase(mine);
  } else if (code != h2::ErrorCode::kNoError && !client_closed_) {
    if (auto* m = worker_.metrics()) m->h2_rst_stream(false, static_cast<std::uint32_t>(code));
  }
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  StreamState& st = it->second;
  st.h2_closed = true;
  if (st.channel) st.channel->on_closed(code);
  if (st.upstream) {
    st.upstream->cancel();  // the client gave up before the backend answered
    st.upstream.reset();
  }
  if (!st.relay) st.relay_done = true;
  maybe_erase(stream_id);
}

void H2Session::maybe_erase(std::int32_t stream_id) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  // A stream whose relay ended was ended or reset by the relay's Channel::close();
  // nghttp2 reports it closed once the last frames went out.
  if (it->second.relay_done && (it->second.h2_closed || finished_)) streams_.erase(it);
  if (read_ended_ && streams_.empty()) finish();
}

void H2Session::schedule_flush() {
  if (flush_posted_ || finished_) return;
  flush_posted_ = true;
  // Coalesce: whatever this turn of the event loop queued goes out in one write.
  boost::asio::post(worker_.io(), [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->flush();
  });
}

void H2Session::flush() {
  if (writing_ || finished_ || client_closed_) return;
  out_.clear();
  auto produced = h2_->produce(out_, kWriteChunk);
  if (produced.error != h2::Error::kNone) {
    finish();
    return;
  }
  if (out_.empty()) {
    if ((!h2_->want_read() && !h2_->want_write()) || (read_ended_ && streams_.empty())) finish();
    return;
  }
  writing_ = true;
  client_->async_write(out_, [self = shared_from_this()](const ErrorCode& ec) {
    self->writing_ = false;
    if (self->finished_) return;
    if (ec) {
      self->connection_lost();
      return;
    }
    self->flush();
  });
}

void H2Session::connection_lost() {
  // Every stream's backend gets close 1001 from its relay (the stream channel
  // reports a reset); the session ends when the last relay has finished.
  read_ended_ = true;
  client_closed_ = true;
  client_->close();
  // No I/O is pending any more to keep this session alive while its relays
  // close their backends (1001): hold it until finish().
  keep_alive_ = shared_from_this();
  std::vector<std::int32_t> ids;
  for (auto& [id, st] : streams_) ids.push_back(id);
  for (auto id : ids) on_stream_close(id, h2::ErrorCode::kCancel);
  if (streams_.empty()) finish();
}

void H2Session::go_away() {
  if (finished_) return;
  going_away_ = true;
  if (auto* m = worker_.metrics()) m->h2_goaway(true, 0);
  // RFC 9113 §6.8: GOAWAY with the last stream we process; then close 1001 on
  // every WebSocket (the relays end their streams after the close handshake).
  h2_->goaway(h2::ErrorCode::kNoError);
  std::vector<std::shared_ptr<Relay>> relays;
  for (auto& [id, st] : streams_) {
    if (st.relay) relays.push_back(st.relay);
  }
  for (auto& r : relays) r->go_away();
  schedule_flush();
}

void H2Session::retire_backends(std::uint64_t generation, const std::vector<std::string>& backends) {
  if (finished_) return;
  std::vector<std::shared_ptr<Relay>> relays;
  for (auto& [id, st] : streams_) {
    if (!st.relay || st.relay_done || !st.snapshot || st.snapshot->generation >= generation) continue;
    if (std::find(backends.begin(), backends.end(), st.route->backend) != backends.end())
      relays.push_back(st.relay);
  }
  for (auto& r : relays) r->go_away();
  schedule_flush();
}

void H2Session::abort() {
  if (finished_) return;
  std::vector<std::shared_ptr<Relay>> relays;
  for (auto& [id, st] : streams_) {
    if (st.relay) relays.push_back(st.relay);
    if (st.upstream) st.upstream->cancel();
  }
  for (auto& r : relays) r->abort();
  client_->abort();
  finish();
}

void H2Session::finish() {
  if (finished_) return;
  finished_ = true;
  if (auto* m = worker_.metrics()) {
    m->connection_closed(listener_.index, Protocol::kH2);
    m->h2_connection_streams(streams_seen_);
  }
  std::vector<std::shared_ptr<Relay>> relays;
  for (auto& [id, st] : streams_) {
    if (st.relay && !st.relay_done) relays.push_back(st.relay);
    if (st.upstream) st.upstream->cancel();
    if (st.channel) st.channel->on_closed(h2::ErrorCode::kCancel);
  }
  for (auto& r : relays) r->abort();
  streams_.clear();
  client_->close();
  worker_.remove_session(session_id_);
  // Released last, from a posted call: this may be the final reference.
  if (keep_alive_) boost::asio::post(worker_.io(), [self = std::move(keep_alive_)] {});
}

// ---------------------------------------------------------------------------
// H2StreamChannel

H2StreamChannel::H2StreamChannel(std::weak_ptr<H2Session> session, std::int32_t stream_id,
                                 boost::asio::any_io_executor executor, std::string remote)
    : session_(std::move(session)),
      stream_id_(stream_id),
      executor_(std::move(executor)),
      remote_(std::move(remote)) {}

void H2StreamChannel::on_data(std::span<const std::uint8_t> bytes) {
  if (closed_ || bytes.empty()) return;
  if (rx_.size() - rx_end_ < bytes.size()) {
    // Bounded by the stream's receive window, which reopens only as the relay forwards.
    const std::size_t queued = rx_end_ - rx_begin_;
    if (rx_ && rx_.size() >= queued + bytes.size()) {
      std::memmove(rx_.get(), rx_.get() + rx_begin_, queued);
    } else {
      PooledBuffer bigger(std::bit_ceil(std::max(queued + bytes.size(), BufferPool::kSmallestBytes)));
      if (queued > 0) std::memcpy(bigger.get(), rx_.get() + rx_begin_, queued);
      rx_ = std::move(bigger);
    }
    rx_begin_ = 0;
    rx_end_ = queued;
  }
  std::memcpy(rx_.get() + rx_end_, bytes.data(), bytes.size());
  rx_end_ += bytes.size();
  wake_reader();
}

void H2StreamChannel::on_end() {
  rx_ended_ = true;
  wake_reader();
}

void H2StreamChannel::on_closed(h2::ErrorCode code) {
  if (closed_) return;
  closed_ = true;
  close_code_ = code;
  wake_reader();
  if (write_handler_) {
    auto handler = std::move(write_handler_);
    write_handler_ = nullptr;
    boost::asio::post(executor_,
                      [handler = std::move(handler)] { handler(boost::asio::error::connection_reset); });
  }
}

void H2StreamChannel::on_space() { push_writes(); }

void H2StreamChannel::run_read_waiter() {
  wake_deferred_ = false;
  if (!read_waiter_) return;
  auto handler = std::move(read_waiter_);
  read_waiter_ = nullptr;
  handler({});
}

void H2StreamChannel::wake_reader() {
  if (!read_waiter_ || wake_deferred_) return;
  if (auto session = session_.lock(); session && session->delivering()) {
    wake_deferred_ = true;
    session->defer_wake(shared_from_this());
    return;
  }
  auto handler = std::move(read_waiter_);
  read_waiter_ = nullptr;
  boost::asio::post(executor_, [handler = std::move(handler)] { handler({}); });
}

void H2StreamChannel::async_wait_readable(Handler handler) {
  if (rx_begin_ < rx_end_ || rx_ended_ || closed_) {
    boost::asio::post(executor_, [handler = std::move(handler)] { handler({}); });
    return;
  }
  read_waiter_ = std::move(handler);
}

std::size_t H2StreamChannel::read_some(std::span<std::uint8_t> buffer, ErrorCode& ec) {
  ec = {};
  if (rx_begin_ < rx_end_) {
    std::size_t n = std::min(buffer.size(), rx_end_ - rx_begin_);
    std::memcpy(buffer.data(), rx_.get() + rx_begin_, n);
    rx_begin_ += n;
    if (rx_begin_ == rx_end_) {
      rx_.reset();  // back to the worker's pool: an idle stream keeps no receive buffer
      rx_begin_ = rx_end_ = 0;
    }
    return n;
  }
  if (closed_ && close_code_ != h2::ErrorCode::kNoError) {
    ec = boost::asio::error::connection_reset;  // RST_STREAM from the client
    return 0;
  }
  if (rx_ended_ || closed_) {
    ec = boost::asio::error::eof;
    return 0;
  }
  ec = boost::asio::error::would_block;
  return 0;
}

void H2StreamChannel::async_write(std::span<const std::uint8_t> data, Handler handler) {
  if (closed_ || write_ended_) {
    boost::asio::post(executor_,
                      [handler = std::move(handler)] { handler(boost::asio::error::broken_pipe); });
    return;
  }
  write_data_ = data;
  write_done_ = 0;
  write_handler_ = std::move(handler);
  push_writes();
}

void H2StreamChannel::push_writes() {
  auto session = session_.lock();
  if (!session || !write_handler_) return;
  auto& h2 = session->h2();
  while (write_done_ < write_data_.size()) {
    std::size_t space = h2.outgoing_space(stream_id_);
    if (space == 0) break;  // resumed by on_space() once nghttp2 sent some (backpressure)
    std::size_t n = std::min(space, write_data_.size() - write_done_);
    if (h2.send_data(stream_id_, write_data_.subspan(write_done_, n)) != h2::Error::kNone) {
      auto handler = std::move(write_handler_);
      write_handler_ = nullptr;
      boost::asio::post(executor_,
                        [handler = std::move(handler)] { handler(boost::asio::error::broken_pipe); });
      return;
    }
    write_done_ += n;
  }
  session->schedule_flush();
  if (write_done_ == write_data_.size()) {
    auto handler = std::move(write_handler_);
    write_handler_ = nullptr;
    session->complete_write(std::move(handler));
  }
}

void H2StreamChannel::shutdown_write() {
  if (write_ended_ || closed_) return;
  write_ended_ = true;
  if (auto session = session_.lock()) {
    session->h2().end_data(stream_id_);  // END_STREAM after the queued bytes
    session->schedule_flush();
  }
}

void H2StreamChannel::fail_waiters() {
  // Pending operations complete (aborted) so nothing holds the relay after the stream is gone.
  if (read_waiter_) {
    auto handler = std::move(read_waiter_);
    read_waiter_ = nullptr;
    boost::asio::post(executor_,
                      [handler = std::move(handler)] { handler(boost::asio::error::operation_aborted); });
  }
  if (write_handler_) {
    auto handler = std::move(write_handler_);
    write_handler_ = nullptr;
    boost::asio::post(executor_,
                      [handler = std::move(handler)] { handler(boost::asio::error::operation_aborted); });
  }
}

void H2StreamChannel::close() {
  if (closed_) return;
  // A relay that is done with a stream the client has not ended yet: end ours,
  // and reset if the client still sends (nghttp2 closes once both sides ended).
  if (auto session = session_.lock()) {
    if (!write_ended_) {
      write_ended_ = true;
      session->h2().end_data(stream_id_);
    }
    if (!rx_ended_) session->reset_stream(stream_id_, h2::ErrorCode::kCancel);
    session->schedule_flush();
  }
  closed_ = true;
  fail_waiters();
}

void H2StreamChannel::abort() {
  if (closed_) return;
  closed_ = true;
  fail_waiters();
  if (auto session = session_.lock()) {
    session->reset_stream(stream_id_, h2::ErrorCode::kInternalError);
    session->schedule_flush();
  }
}

void H2StreamChannel::on_forwarded(std::size_t bytes) {
  if (closed_ || bytes == 0) return;
  if (auto session = session_.lock()) {
    session->h2().consume(stream_id_, bytes);  // reopens the stream window (WINDOW_UPDATE)
    session->schedule_flush();
  }
}

}  // namespace wsgate::gw
