// Downstream HTTP/1.1 session; see h1_session.hpp.
#include "gateway/h1_session.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/ip/address.hpp>
#include <cstring>

#include "gateway/h2_session.hpp"
#include "gateway/proxy_handshake.hpp"
#include "gateway/route_slots.hpp"
#include "gateway/router.hpp"
#include "gateway/static_files.hpp"
#include "h1/upgrade.hpp"
#include "ws/close.hpp"
#include "ws/handshake.hpp"

namespace wsgate::gw {

namespace {

// Request heads are read in pieces of this size (the parser takes them incrementally): every
// connection in its handshake holds one, and the heap keeps their peak (RSS per idle WebSocket).
constexpr std::size_t kReadChunk = 4 * 1024;
constexpr std::chrono::seconds kLinger{2};

}  // namespace

H1Session::H1Session(Worker& worker, ListenerRuntime& listener, std::shared_ptr<Transport> client)
    : worker_(worker),
      listener_(listener),
      snapshot_(worker.snapshot()),
      config_(snapshot_->config),
      client_(std::move(client)),
      timer_(worker.io()),
      parser_(h1::HeadLimits{config_->limits.max_request_head, 256,
                             std::min<std::size_t>(config_->limits.max_request_head, 16 * 1024)}),
      observer_(worker, listener, Protocol::kH1, client_->remote_address()) {
  listener_.connections.fetch_add(1, std::memory_order_relaxed);
}

H1Session::~H1Session() { listener_.connections.fetch_sub(1, std::memory_order_relaxed); }

void H1Session::start() {
  session_id_ = worker_.add_session(weak_from_this());
  auto self = shared_from_this();
  // Slowloris bound: TLS handshake plus request head within header_read_timeout.
  timer_.expires_after(config_->limits.header_read_timeout);
  timer_.async_wait([self](const ErrorCode& ec) {
    if (ec || self->finished_ || self->closing_) return;
    self->answer(408, "request head not received in time\n");
  });
  read_buffer_.resize(kReadChunk);
  sniffing_h2c_ = listener_.h2c;
  if (!listener_.h2 && !listener_.h2c) count_connection();
  if (client_->is_tls()) {
    client_->async_tls_handshake(boost::asio::ssl::stream_base::server, [self](const ErrorCode& ec) {
      if (self->finished_) return;
      if (ec) {
        self->finish();
        return;
      }
      const unsigned char* alpn = nullptr;
      unsigned int alpn_len = 0;
      ::SSL_get0_alpn_selected(self->client_->native_tls(), &alpn, &alpn_len);
      if (std::string_view(reinterpret_cast<const char*>(alpn), alpn_len) == "h2") {
        self->hand_off_to_h2({});
        return;
      }
      self->count_connection();
      self->read_head();
    });
    return;
  }
  read_head();
}

void H1Session::read_head() {
  auto self = shared_from_this();
  client_->async_read_into(read_buffer_, [self](const ErrorCode& ec, std::size_t n) mutable {
    if (self->finished_ || self->closing_) return;
    if (ec || n == 0) {
      self->finish();
      return;
    }
    if (self->sniffing_h2c_) {
      // RFC 9113 §3.3: HTTP/2 with prior knowledge starts with the connection preface.
      constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
      self->sniffed_.insert(self->sniffed_.end(), self->read_buffer_.begin(),
                            self->read_buffer_.begin() + static_cast<std::ptrdiff_t>(n));
      std::size_t check = std::min(self->sniffed_.size(), kPreface.size());
      if (std::memcmp(self->sniffed_.data(), kPreface.data(), check) == 0) {
        if (self->sniffed_.size() >= kPreface.size()) {
          self->hand_off_to_h2(std::move(self->sniffed_));
        } else {
          self->read_head();
        }
        return;
      }
      // HTTP/1.1 after all: parse what was read so far.
      self->sniffing_h2c_ = false;
      self->count_connection();
      if (self->sniffed_.size() > self->read_buffer_.size()) self->read_buffer_.resize(self->sniffed_.size());
      std::memcpy(self->read_buffer_.data(), self->sniffed_.data(), self->sniffed_.size());
      n = self->sniffed_.size();
      self->sniffed_.clear();
      self->sniffed_.shrink_to_fit();
    }
    auto result = self->parser_.feed({reinterpret_cast<const char*>(self->read_buffer_.data()), n});
    switch (result.status) {
      case h1::ParseStatus::kNeedMore:
        self->read_head();
        return;
      case h1::ParseStatus::kError:
        switch (result.error) {
          case h1::ParseError::kHeadTooLarge:
          case h1::ParseError::kTooManyHeaders:
          case h1::ParseError::kLineTooLong:
            self->answer(431, "request head too large\n");
            return;
          case h1::ParseError::kBadVersion:
            self->answer(505, "HTTP/1.x only\n");
            return;
          default:
            self->answer(400, "malformed request\n");
            return;
        }
      case h1::ParseStatus::kComplete:
        self->client_pending_.assign(
            self->read_buffer_.begin() + static_cast<std::ptrdiff_t>(result.consumed),
            self->read_buffer_.begin() + static_cast<std::ptrdiff_t>(n));
        self->on_head();
        return;
    }
  });
}

void H1Session::hand_off_to_h2(std::vector<std::uint8_t> initial) {
  timer_.cancel();
  handed_off_ = true;
  std::make_shared<H2Session>(worker_, listener_, client_, std::move(initial))->start();
  finish();
}

void H1Session::on_head() {
  timer_.cancel();
  request_ = parser_.take_head();
  if (worker_.draining()) {
    answer(503, "shutting down\n");
    return;
  }
  // Routed on the newest config (a reload between accept and head counts).
  snapshot_ = worker_.snapshot();
  config_ = snapshot_->config;
  auto host = request_.headers.get("Host").value_or("");
  Router router(*config_);
  route_ = router.match(host, request_.target, offered_subprotocols(request_.headers));
  observer_.set_route(route_, *snapshot_);
  if (route_ == nullptr) {
    answer(404, "no route\n");
    return;
  }
  auto upgrade = h1::classify_upgrade(request_);
  if (upgrade.check == h1::UpgradeCheck::kNotUpgrade && route_->static_dir) {
    answer_static();
    return;
  }
  if (upgrade.check == h1::UpgradeCheck::kNotUpgrade) {
    // As ASP.NET Core's middleware does: a WebSocket route answers plain requests with 400.
    answer(400, "this route accepts WebSocket requests only\n");
    return;
  }
  if (upgrade.check != h1::UpgradeCheck::kOk) {
    h1::Headers extra;
    if (upgrade.status == 426) extra.add("Sec-WebSocket-Version", "13");
    answer(upgrade.status, std::string(upgrade.reason) + "\n", extra);
    return;
  }
  // A GET upgrade carries no body (RFC 6455 §4.1); smuggled bytes are refused.
  if (request_.headers.contains("Transfer-Encoding") ||
      (request_.headers.contains("Content-Length") && request_.headers.get("Content-Length") != "0")) {
    answer(400, "a WebSocket handshake has no body\n");
    return;
  }
  if (!origin_allowed(*route_, request_.headers)) {
    answer(403, "origin not allowed\n");
    return;
  }
  if (!subprotocol_requirement_met(*route_, request_.headers)) {
    answer(400, "no acceptable subprotocol offered\n");
    return;
  }
  auto slot = acquire_route_slot(*route_);
  if (!slot) {
    h1::Headers extra;
    extra.add("Retry-After", "1");
    answer(503, "too many WebSockets on this route\n", extra);
    return;
  }
  slot_ = std::move(*slot);
  const BackendRuntime* backend = snapshot_->backend_for(*route_);
  if (backend == nullptr) {
    answer(503, "no backend\n");
    return;
  }
  client_request_.host = std::string(host);
  client_request_.target = request_.target;
  client_request_.headers = request_.headers;
  client_request_.client_ip = client_->client_ip();
  client_request_.tls = client_->is_tls();
  h1::RequestHead up = build_upstream_request(*route_, client_request_);

  auto self = shared_from_this();
  upstream_ = std::make_shared<UpstreamHandshake>(
      worker_.io(), *backend, worker_.picker(), std::move(up), config_->limits.max_request_head,
      [self](UpstreamOutcome outcome) { self->on_upstream(std::move(outcome)); });
  upstream_->set_metrics(worker_.metrics());
  upstream_->set_handshake_timeout(route_->handshake_timeout);
  upstream_->start();
}

void H1Session::on_upstream(UpstreamOutcome outcome) {
  upstream_.reset();
  if (finished_ || closing_) {
    if (outcome.transport) outcome.transport->close();
    return;
  }
  observer_.set_backend_endpoint(outcome.endpoint);
  switch (outcome.kind) {
    case UpstreamOutcome::kUpgraded:
      start_relay(std::move(outcome));
      return;
    case UpstreamOutcome::kAnswered: {
      h1::Headers extra = passthrough_answer_headers(outcome.response);
      std::string body(outcome.pending.begin(), outcome.pending.end());
      if (body.empty() && outcome.response.headers.contains("Transfer-Encoding")) {
        body = "backend answered " + std::to_string(outcome.response.status) + "\n";
      }
      answer(outcome.response.status, body, extra);
      return;
    }
    case UpstreamOutcome::kNoEndpoint:
      answer(503, "no healthy backend endpoint\n");
      return;
    case UpstreamOutcome::kTimeout:
      answer(504, "backend timeout\n");
      return;
    case UpstreamOutcome::kConnectFailed:
    case UpstreamOutcome::kBadAnswer:
      answer(502, "bad gateway\n");
      return;
  }
}

void H1Session::start_relay(UpstreamOutcome outcome) {
  AcceptedUpgrade accepted = accept_backend_upgrade(*route_, client_request_, outcome.response);
  if (!accepted.error.empty()) {
    outcome.transport->abort();
    answer(502, accepted.error + "\n");
    return;
  }
  h1::ResponseHead response;
  response.status = 101;
  response.headers.add("Upgrade", "websocket");
  response.headers.add("Connection", "Upgrade");
  response.headers.add("Sec-WebSocket-Accept",
                       ws::compute_accept(request_.headers.get("Sec-WebSocket-Key").value_or("")));
  for (const auto& h : accepted.client_headers) response.headers.add(h.name, h.value);
  response_bytes_ = h1::serialize(response);
  RelayOptions options = relay_options(*config_, *route_, accepted);
  options.metrics = worker_.metrics();
  options.route = observer_.route_index().value_or(0);

  auto self = shared_from_this();
  auto client_side =
      terminate_compression(worker_.io().get_executor(), client_,
                            deflate_channel_options(*route_, accepted, options), client_pending_);
  relay_ = std::make_shared<Relay>(worker_.io().get_executor(), client_side, outcome.transport, options,
                                   [self](const RelayResult& result) {
                                     self->observer_.ended(result);
                                     self->finish();
                                   });
  // Counted as open before the 101 is written: if that write fails, the relay's
  // end counts it closed, so open minus closed stays exact.
  upgraded_ = true;
  observer_.upgraded(101);
  // The head is read: an open WebSocket keeps no read buffer here (the relay
  // allocates its own only while bytes are in flight).
  read_buffer_.clear();
  read_buffer_.shrink_to_fit();
  request_ = h1::RequestHead{};  // nor the request's fields (only the upstream request needed them)
  client_request_ = ClientRequest{};
  auto backend_pending = std::move(outcome.pending);
  client_->async_write(
      {reinterpret_cast<const std::uint8_t*>(response_bytes_.data()), response_bytes_.size()},
      [self, backend_pending = std::move(backend_pending)](const ErrorCode& ec) mutable {
        if (self->finished_) return;
        if (ec) {
          self->relay_->abort();
          return;
        }
        self->response_bytes_.clear();
        self->response_bytes_.shrink_to_fit();

        self->relay_->start(std::move(self->client_pending_), std::move(backend_pending));
        if (self->worker_.draining()) self->relay_->go_away();
      });
}

void H1Session::answer(int status, std::string_view body, const h1::Headers& extra) {
  if (closing_ || finished_) return;
  closing_ = true;
  slot_.release();
  timer_.cancel();
  observer_.rejected(status,
                     body.size() < 120 ? body.substr(0, body.find('\n')) : std::string_view("rejected"));
  h1::ResponseHead response;
  response.status = status;
  bool has_type = false;
  bool has_length = false;  // static answers bring their own (HEAD: the length GET would send)
  for (const auto& h : extra) {
    if (iequals(h.name, "Content-Type")) has_type = true;
    if (iequals(h.name, "Content-Length")) has_length = true;
    response.headers.add(h.name, h.value);
  }
  // RFC 9110 §15.4.5: a 304 has no content; it describes the cached representation.
  if (!has_type && status != 304) response.headers.add("Content-Type", "text/plain; charset=utf-8");
  if (!has_length && status != 304) response.headers.add("Content-Length", std::to_string(body.size()));
  response.headers.add("Connection", "close");
  response_bytes_ = h1::serialize(response);
  if (request_.method != "HEAD") response_bytes_.append(body);
  auto self = shared_from_this();
  client_->async_write(
      {reinterpret_cast<const std::uint8_t*>(response_bytes_.data()), response_bytes_.size()},
      [self](const ErrorCode& ec) {
        if (self->finished_) return;
        if (ec) {
          self->finish();
          return;
        }
        self->linger_then_close();
      });
}

// A plain GET/HEAD on a route with `static`: the file (or 301/304/400/404/405) from static_files.
void H1Session::answer_static() {
  const std::string& prefix = route_->path_prefix ? *route_->path_prefix : route_->path.value_or("/");
  StaticResponse file = serve_static(*route_->static_dir, prefix, request_.method, request_.target,
                                     request_.headers.get("If-None-Match").value_or(""));
  h1::Headers extra;
  // A 304 carries no Content-Type: a browser merges its headers into the cached response.
  if (!file.content_type.empty()) extra.add("Content-Type", file.content_type);
  for (const auto& [name, value] : file.headers) extra.add(name, value);
  answer(file.status, file.body, extra);
}

void H1Session::linger_then_close() {
  // Send FIN, then read and drop what the client still sends for a moment, so
  // that closing does not reset the connection before the answer is read.
  client_->shutdown_write();
  auto self = shared_from_this();
  timer_.expires_after(kLinger);
  timer_.async_wait([self](const ErrorCode& ec) {
    if (ec) return;
    self->finish();
  });
  drain_input();
}

void H1Session::drain_input() {
  auto self = shared_from_this();
  client_->async_read_into(read_buffer_, [self](const ErrorCode& ec, std::size_t n) {
    if (self->finished_) return;
    if (ec || n == 0) {
      self->finish();
      return;
    }
    self->drain_input();
  });
}

void H1Session::go_away() {
  if (finished_) return;
  if (relay_) {
    relay_->go_away();
    return;
  }
  if (upstream_) {
    upstream_->cancel();
    upstream_.reset();
    closing_ = false;
    answer(503, "shutting down\n");
    return;
  }
  if (!closing_) {
    finish();
  }
}

void H1Session::retire_backends(std::uint64_t generation, const std::vector<std::string>& backends) {
  if (!relay_ || finished_ || route_ == nullptr || snapshot_->generation >= generation) return;
  if (std::find(backends.begin(), backends.end(), route_->backend) != backends.end()) relay_->go_away();
}

void H1Session::abort() {
  if (finished_) return;
  if (relay_) relay_->abort();
  if (upstream_) upstream_->cancel();
  client_->abort();
  finish();
}

void H1Session::count_connection() {
  if (counted_) return;
  counted_ = true;
  if (auto* m = worker_.metrics()) m->connection_opened(listener_.index, Protocol::kH1);
}

void H1Session::finish() {
  if (finished_) return;
  slot_.release();
  finished_ = true;
  if (counted_) {
    if (auto* m = worker_.metrics()) m->connection_closed(listener_.index, Protocol::kH1);
  }
  timer_.cancel();
  if (upstream_) {
    upstream_->cancel();
    upstream_.reset();
  }
  if (!handed_off_) client_->close();
  auto relay = std::move(relay_);  // breaks the session <-> relay cycle
  worker_.remove_session(session_id_);
}

}  // namespace wsgate::gw
