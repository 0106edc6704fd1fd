// Downstream HTTP/1.1 session; see h1_session.hpp.
#include "gateway/h1_session.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/ip/address.hpp>

#include "gateway/router.hpp"
#include "h1/upgrade.hpp"
#include "ws/close.hpp"
#include "ws/handshake.hpp"

namespace wsgate::gw {

namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::chrono::seconds kLinger{2};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// RFC 9110 §7.6.1 hop-by-hop fields, plus the handshake fields the gateway
// regenerates for its own upstream handshake.
constexpr std::array<std::string_view, 16> kNotForwarded = {
    "connection",         "keep-alive",          "proxy-connection",    "te",
    "trailer",            "transfer-encoding",   "upgrade",             "proxy-authorization",
    "sec-websocket-key",  "sec-websocket-version", "sec-websocket-accept", "x-forwarded-for",
    "x-forwarded-proto",  "x-forwarded-host",    "forwarded",           "content-length",
};

// Fields of the backend's 101 that the gateway writes itself.
constexpr std::array<std::string_view, 9> kNotForwardedBack = {
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    "sec-websocket-accept", "content-length",
};

template <std::size_t N>
bool in_list(const std::array<std::string_view, N>& list, std::string_view name) {
  return std::any_of(list.begin(), list.end(), [&](std::string_view n) { return iequals(n, name); });
}

std::string client_ip(Transport& transport) {
  ErrorCode ec;
  auto endpoint = transport.socket().remote_endpoint(ec);
  if (ec) return "unknown";
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

// Offers the route allows: subprotocol allow-list, permessage-deflate stripped for compression: off.
std::optional<std::string> filtered_subprotocols(const RouteConfig& route, const h1::Headers& headers) {
  auto offered = headers.get_joined("Sec-WebSocket-Protocol");
  if (!offered) return std::nullopt;
  if (route.subprotocols.empty()) return offered;
  std::string out;
  for (const std::string& p : ws::split_header_list(*offered)) {
    if (std::find(route.subprotocols.begin(), route.subprotocols.end(), p) == route.subprotocols.end()) continue;
    if (!out.empty()) out += ", ";
    out += p;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::optional<std::string> filtered_extensions(const RouteConfig& route, const h1::Headers& headers) {
  auto offered = headers.get_joined("Sec-WebSocket-Extensions");
  if (!offered) return std::nullopt;
  if (route.compression == Compression::kPassthrough) return offered;
  auto parsed = ws::parse_extensions(*offered);
  if (!parsed) return std::nullopt;  // a malformed offer is not forwarded
  std::vector<ws::Extension> kept;
  for (auto& e : *parsed) {
    if (!iequals(e.name, "permessage-deflate")) kept.push_back(std::move(e));
  }
  if (kept.empty()) return std::nullopt;
  return ws::format_extensions(kept);
}

}  // namespace

H1Session::H1Session(Worker& worker, ListenerRuntime& listener, std::shared_ptr<Transport> client)
    : worker_(worker),
      listener_(listener),
      config_(worker.config()),
      client_(std::move(client)),
      timer_(worker.io()),
      parser_(h1::HeadLimits{config_->limits.max_request_head, 256,
                             std::min<std::size_t>(config_->limits.max_request_head, 16 * 1024)}) {
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
  if (client_->is_tls()) {
    client_->async_tls_handshake(boost::asio::ssl::stream_base::server, [self](const ErrorCode& ec) {
      if (self->finished_) return;
      if (ec) {
        self->finish();
        return;
      }
      self->read_head();
    });
    return;
  }
  read_head();
}

void H1Session::read_head() {
  auto self = shared_from_this();
  client_->async_read_into(read_buffer_, [self](const ErrorCode& ec, std::size_t n) {
    if (self->finished_ || self->closing_) return;
    if (ec || n == 0) {
      self->finish();
      return;
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
        self->client_pending_.assign(self->read_buffer_.begin() + static_cast<std::ptrdiff_t>(result.consumed),
                                     self->read_buffer_.begin() + static_cast<std::ptrdiff_t>(n));
        self->on_head();
        return;
    }
  });
}

void H1Session::on_head() {
  timer_.cancel();
  request_ = parser_.take_head();
  if (worker_.draining()) {
    answer(503, "shutting down\n");
    return;
  }
  auto host = request_.headers.get("Host").value_or("");
  Router router(*config_);
  route_ = router.match(host, request_.target);
  if (route_ == nullptr) {
    answer(404, "no route\n");
    return;
  }
  auto upgrade = h1::classify_upgrade(request_);
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
  if (!route_->allowed_origins.empty()) {
    // Like ASP.NET Core's AllowedOrigins: a request without Origin (not a browser) passes.
    if (auto origin = request_.headers.get("Origin")) {
      bool allowed = std::any_of(route_->allowed_origins.begin(), route_->allowed_origins.end(),
                                 [&](const std::string& o) { return o == "*" || iequals(o, *origin); });
      if (!allowed) {
        answer(403, "origin not allowed\n");
        return;
      }
    }
  }
  const BackendConfig* backend_config = config_->find_backend(route_->backend);
  if (backend_config == nullptr) {
    answer(503, "no backend\n");
    return;
  }
  const BackendRuntime& backend = worker_.backends()[static_cast<std::size_t>(backend_config - config_->backends.data())];

  // The upstream handshake: the client's end-to-end fields, our own key.
  h1::RequestHead up;
  up.method = "GET";
  up.target = request_.target;
  std::vector<std::string> connection_tokens;
  for (std::string_view v : request_.headers.get_all("Connection")) {
    for (auto& t : ws::split_header_list(v)) connection_tokens.push_back(t);
  }
  for (const auto& h : request_.headers) {
    if (in_list(kNotForwarded, h.name)) continue;
    if (iequals(h.name, "Sec-WebSocket-Protocol") || iequals(h.name, "Sec-WebSocket-Extensions")) continue;
    if (std::any_of(connection_tokens.begin(), connection_tokens.end(),
                    [&](const std::string& t) { return iequals(t, h.name); })) {
      continue;  // RFC 9110 §7.6.1: fields named in Connection are hop-by-hop
    }
    up.headers.add(h.name, h.value);
  }
  up.headers.add("Upgrade", "websocket");
  up.headers.add("Connection", "Upgrade");
  up.headers.add("Sec-WebSocket-Key", ws::generate_key());
  up.headers.add("Sec-WebSocket-Version", "13");
  if (auto protocols = filtered_subprotocols(*route_, request_.headers)) {
    up.headers.add("Sec-WebSocket-Protocol", *protocols);
  }
  if (auto extensions = filtered_extensions(*route_, request_.headers)) {
    up.headers.add("Sec-WebSocket-Extensions", *extensions);
  }
  const std::string ip = client_ip(*client_);
  const std::string proto = client_->is_tls() ? "https" : "http";
  auto xff = request_.headers.get_joined("X-Forwarded-For");
  up.headers.add("X-Forwarded-For", xff ? *xff + ", " + ip : ip);
  up.headers.add("X-Forwarded-Proto", proto);
  if (!host.empty()) up.headers.add("X-Forwarded-Host", std::string(host));
  // RFC 7239 §4-§6: IPv6 nodes are quoted and bracketed.
  std::string node = ip.find(':') != std::string::npos ? "\"[" + ip + "]\"" : ip;
  std::string forwarded = "for=" + node + ";proto=" + proto;
  if (!host.empty()) forwarded += ";host=\"" + std::string(host) + "\"";
  auto prior = request_.headers.get_joined("Forwarded");
  up.headers.add("Forwarded", prior ? *prior + ", " + forwarded : forwarded);

  auto self = shared_from_this();
  upstream_ = std::make_shared<UpstreamHandshake>(
      worker_.io(), backend, worker_.picker(), std::move(up), config_->limits.max_request_head,
      [self](UpstreamOutcome outcome) { self->on_upstream(std::move(outcome)); });
  upstream_->start();
}

void H1Session::on_upstream(UpstreamOutcome outcome) {
  upstream_.reset();
  if (finished_ || closing_) {
    if (outcome.transport) outcome.transport->close();
    return;
  }
  switch (outcome.kind) {
    case UpstreamOutcome::kUpgraded:
      start_relay(std::move(outcome));
      return;
    case UpstreamOutcome::kAnswered: {
      h1::Headers extra;
      for (const auto& h : outcome.response.headers) {
        if (in_list(kNotForwardedBack, h.name)) continue;
        extra.add(h.name, h.value);
      }
      std::string body(outcome.pending.begin(), outcome.pending.end());
      if (body.empty() && outcome.response.headers.contains("Transfer-Encoding")) {
        body = "backend answered " + std::to_string(outcome.response.status) + "\n";
      }
      extra.remove("Content-Type");
      if (auto ct = outcome.response.headers.get("Content-Type")) extra.add("Content-Type", std::string(*ct));
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
  const h1::ResponseHead& backend_answer = outcome.response;
  // RFC 6455 §4.1: a subprotocol or extension the client did not offer fails the handshake.
  auto chosen_protocol = backend_answer.headers.get("Sec-WebSocket-Protocol");
  if (chosen_protocol) {
    auto offered = filtered_subprotocols(*route_, request_.headers);
    auto list = offered ? ws::split_header_list(*offered) : std::vector<std::string>{};
    if (std::find(list.begin(), list.end(), std::string(*chosen_protocol)) == list.end()) {
      outcome.transport->abort();
      answer(502, "backend chose a subprotocol that was not offered\n");
      return;
    }
  }
  std::uint8_t allowed_rsv = 0;
  bool deflate = false;
  auto chosen_extensions = backend_answer.headers.get_joined("Sec-WebSocket-Extensions");
  if (chosen_extensions) {
    auto accepted = ws::parse_extensions(*chosen_extensions);
    auto offered_text = filtered_extensions(*route_, request_.headers);
    auto offered = offered_text ? ws::parse_extensions(*offered_text) : std::nullopt;
    bool ok = accepted.has_value();
    if (ok) {
      for (const auto& e : *accepted) {
        bool was_offered = offered && std::any_of(offered->begin(), offered->end(),
                                                  [&](const ws::Extension& o) { return iequals(o.name, e.name); });
        if (!was_offered) ok = false;
        if (iequals(e.name, "permessage-deflate")) {
          deflate = true;
          allowed_rsv |= ws::kRsv1;  // RFC 7692 §6: RSV1 marks a compressed message
        } else {
          allowed_rsv |= ws::kRsv1 | ws::kRsv2 | ws::kRsv3;  // unknown extension: its bits pass through
        }
      }
    }
    if (!ok) {
      outcome.transport->abort();
      answer(502, "backend accepted an extension that was not offered\n");
      return;
    }
  }

  h1::ResponseHead response;
  response.status = 101;
  response.headers.add("Upgrade", "websocket");
  response.headers.add("Connection", "Upgrade");
  response.headers.add("Sec-WebSocket-Accept",
                       ws::compute_accept(request_.headers.get("Sec-WebSocket-Key").value_or("")));
  for (const auto& h : backend_answer.headers) {
    if (in_list(kNotForwardedBack, h.name)) continue;
    response.headers.add(h.name, h.value);
  }
  response_bytes_ = h1::serialize(response);

  RelayOptions options;
  options.buffer_bytes = config_->limits.buffer_per_direction;
  options.close_timeout = config_->limits.close_timeout;
  auto frame_rules = [&](ws::Sender sender) {
    ws::FrameScannerOptions o;
    o.frame.sender = sender;
    o.frame.allowed_rsv = allowed_rsv;
    o.max_message_bytes = route_->max_message_bytes;
    if (route_->validate == Validate::kOff) {
      o.frame.check_mask = false;
      o.frame.strict_lengths = false;
      o.frame.allowed_rsv = ws::kRsv1 | ws::kRsv2 | ws::kRsv3;
      o.check_messages = false;
    }
    // Compressed text cannot be checked without inflating it (compression: terminate does that).
    o.validate_utf8 = route_->validate == Validate::kFull && !deflate;
    return o;
  };
  options.client_frames = frame_rules(ws::Sender::kClient);
  options.backend_frames = frame_rules(ws::Sender::kServer);

  auto self = shared_from_this();
  relay_ = std::make_shared<Relay>(worker_.io().get_executor(), client_, outcome.transport, options,
                                   [self](const RelayResult&) { self->finish(); });
  auto backend_pending = std::move(outcome.pending);
  client_->async_write({reinterpret_cast<const std::uint8_t*>(response_bytes_.data()), response_bytes_.size()},
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
  timer_.cancel();
  h1::ResponseHead response;
  response.status = status;
  bool has_type = false;
  for (const auto& h : extra) {
    if (iequals(h.name, "Content-Type")) has_type = true;
    response.headers.add(h.name, h.value);
  }
  if (!has_type) response.headers.add("Content-Type", "text/plain; charset=utf-8");
  response.headers.add("Content-Length", std::to_string(body.size()));
  response.headers.add("Connection", "close");
  response_bytes_ = h1::serialize(response);
  if (request_.method != "HEAD") response_bytes_.append(body);
  auto self = shared_from_this();
  client_->async_write({reinterpret_cast<const std::uint8_t*>(response_bytes_.data()), response_bytes_.size()},
                       [self](const ErrorCode& ec) {
                         if (self->finished_) return;
                         if (ec) {
                           self->finish();
                           return;
                         }
                         self->linger_then_close();
                       });
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

void H1Session::abort() {
  if (finished_) return;
  if (relay_) relay_->abort();
  if (upstream_) upstream_->cancel();
  client_->abort();
  finish();
}

void H1Session::finish() {
  if (finished_) return;
  finished_ = true;
  timer_.cancel();
  if (upstream_) {
    upstream_->cancel();
    upstream_.reset();
  }
  client_->close();
  auto relay = std::move(relay_);  // breaks the session <-> relay cycle
  worker_.remove_session(session_id_);
}

}  // namespace wsgate::gw
