// Upstream HTTP/1.1 WebSocket handshake; see upstream.hpp.
#include "gateway/upstream.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <charconv>

#include "ws/handshake.hpp"

namespace wsgate::gw {

namespace {
// A backend's 101 head is a few hundred bytes; a longer one takes more reads (the parser keeps what
// it has). Small, because every handshake in flight holds one and the heap keeps their peak (RSS per
// idle WebSocket).
constexpr std::size_t kReadChunk = 512;
constexpr std::size_t kMaxBodyBytes = 64 * 1024;  // a non-101 answer's body passed to the client
constexpr std::size_t kMaxAttempts = 3;

bool is_ip_literal(const std::string& host) {
  ErrorCode ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}
}  // namespace

UpstreamHandshake::UpstreamHandshake(boost::asio::io_context& io, const BackendRuntime& backend,
                                     EndpointPicker& picker, h1::RequestHead request,
                                     std::size_t max_response_head, Handler handler)
    : io_(io),
      backend_(backend),
      picker_(picker),
      handler_(std::move(handler)),
      timer_(io),
      parser_(h1::HeadLimits{max_response_head, 200, max_response_head}),
      handshake_timeout_(backend.config->handshake_timeout) {
  // Only its bytes and key are kept: a handshake in flight holds as little as it can.
  if (auto key = request.headers.get("Sec-WebSocket-Key")) key_ = std::string(*key);
  request_bytes_ = h1::serialize(request);
}

void UpstreamHandshake::start() {
  order_ = picker_.order(backend_, kMaxAttempts);
  if (order_.empty()) {
    UpstreamOutcome out;
    out.kind = UpstreamOutcome::kNoEndpoint;
    out.detail = "no endpoint available for backend " + backend_.config->name;
    complete(std::move(out));
    return;
  }
  attempt_ = 0;
  try_next(UpstreamOutcome::kConnectFailed, "");
}

void UpstreamHandshake::cancel() {
  done_ = true;
  timer_.cancel();
  ErrorCode ec;
  if (connecting_) connecting_->close(ec);
  if (transport_) transport_->close();
}

void UpstreamHandshake::try_next(UpstreamOutcome::Kind failure, std::string detail) {
  if (done_) return;
  if (attempt_ >= order_.size()) {
    UpstreamOutcome out;
    out.kind = failure;
    out.detail = std::move(detail);
    out.endpoint = backend_.endpoints[current_].label;
    complete(std::move(out));
    return;
  }
  current_ = order_[attempt_++];
  const BackendEndpoint& endpoint = backend_.endpoints[current_];
  connecting_ = std::make_unique<tcp::socket>(io_);
  connect_started_ = std::chrono::steady_clock::now();
  auto self = shared_from_this();
  timer_.expires_after(backend_.config->connect_timeout);
  timer_.async_wait([self](const ErrorCode& ec) {
    if (ec || self->done_) return;
    ErrorCode ignored;
    if (self->connecting_) self->connecting_->close(ignored);  // the connect completes with operation_aborted
  });
  connecting_->async_connect(endpoint.address, [self, index = current_](const ErrorCode& ec) {
    if (self->done_) return;
    bool timed_out = self->timer_.expiry() <= std::chrono::steady_clock::now();
    self->timer_.cancel();
    if (ec) {
      self->picker_.report_failure(self->backend_, index);
      if (timed_out || ec == boost::asio::error::operation_aborted) {
        self->try_next(UpstreamOutcome::kTimeout,
                       "connect timeout to " + self->backend_.endpoints[index].label);
      } else {
        self->try_next(UpstreamOutcome::kConnectFailed,
                       "connect to " + self->backend_.endpoints[index].label + ": " + ec.message());
      }
      return;
    }
    if (self->metrics_ != nullptr) {
      self->metrics_->upstream_connect(
          self->backend_.index,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - self->connect_started_).count());
    }
    self->on_connected(index);
  });
}

void UpstreamHandshake::on_connected(std::size_t endpoint_index) {
  const BackendEndpoint& endpoint = backend_.endpoints[endpoint_index];
  auto self = shared_from_this();
  // From here on one deadline covers TLS, request and answer.
  timer_.expires_after(handshake_timeout_);
  timer_.async_wait([self](const ErrorCode& ec) {
    if (ec || self->done_) return;
    UpstreamOutcome out;
    out.kind = UpstreamOutcome::kTimeout;
    out.endpoint = self->backend_.endpoints[self->current_].label;
    out.detail = "backend handshake timeout";
    if (self->transport_) self->transport_->abort();
    self->complete(std::move(out));
  });
  if (backend_.tls) {
    transport_ = std::make_shared<Transport>(std::move(*connecting_), *backend_.tls);
    connecting_.reset();
    const BackendTls& tls = *backend_.config->tls;
    std::string sni = tls.sni.value_or(endpoint.host);
    SSL* ssl = transport_->native_tls();
    if (!is_ip_literal(sni)) ::SSL_set_tlsext_host_name(ssl, sni.c_str());
    if (tls.verify) {
      ::SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
      ::SSL_set1_host(ssl, sni.c_str());  // RFC 6125 name check against the SNI name
    }
    transport_->async_tls_handshake(boost::asio::ssl::stream_base::client, [self](const ErrorCode& ec) {
      if (self->done_) return;
      if (ec) {
        self->timer_.cancel();
        self->picker_.report_failure(self->backend_, self->current_);
        self->transport_->abort();
        self->transport_.reset();
        self->try_next(UpstreamOutcome::kConnectFailed, "TLS to backend: " + ec.message());
        return;
      }
      self->send_request();
    });
    return;
  }
  transport_ = std::make_shared<Transport>(std::move(*connecting_));
  connecting_.reset();
  send_request();
}

void UpstreamHandshake::send_request() {
  auto self = shared_from_this();
  transport_->async_write(
      {reinterpret_cast<const std::uint8_t*>(request_bytes_.data()), request_bytes_.size()},
      [self](const ErrorCode& ec) {
        if (self->done_) return;
        if (ec) {
          UpstreamOutcome out;
          out.kind = UpstreamOutcome::kConnectFailed;
          out.endpoint = self->backend_.endpoints[self->current_].label;
          out.detail = "writing the upgrade request: " + ec.message();
          self->complete(std::move(out));
          return;
        }
        self->read_buffer_.resize(kReadChunk);
        self->read_head();
      });
}

void UpstreamHandshake::read_head() {
  auto self = shared_from_this();
  transport_->async_read_into(read_buffer_, [self](const ErrorCode& ec, std::size_t n) {
    if (self->done_) return;
    if (ec || n == 0) {
      UpstreamOutcome out;
      out.kind = UpstreamOutcome::kBadAnswer;
      out.endpoint = self->backend_.endpoints[self->current_].label;
      out.detail = "backend closed before answering the upgrade";
      self->complete(std::move(out));
      return;
    }
    auto result = self->parser_.feed({reinterpret_cast<const char*>(self->read_buffer_.data()), n});
    if (result.status == h1::ParseStatus::kNeedMore) {
      self->read_head();
      return;
    }
    if (result.status == h1::ParseStatus::kError) {
      UpstreamOutcome out;
      out.kind = UpstreamOutcome::kBadAnswer;
      out.endpoint = self->backend_.endpoints[self->current_].label;
      out.detail = std::string("malformed backend answer: ") + std::string(h1::to_string(result.error));
      self->complete(std::move(out));
      return;
    }
    self->body_.assign(self->read_buffer_.begin() + static_cast<std::ptrdiff_t>(result.consumed),
                       self->read_buffer_.begin() + static_cast<std::ptrdiff_t>(n));
    self->on_head(result.consumed);
  });
}

void UpstreamHandshake::on_head(std::size_t) {
  response_ = parser_.take_head();
  picker_.report_success(backend_, current_);
  UpstreamOutcome out;
  out.endpoint = backend_.endpoints[current_].label;
  if (response_.status == 101) {
    // RFC 6455 §4.1: the client validates the server's answer.
    std::string why;
    if (!response_.headers.has_token("Upgrade", "websocket")) {
      why = "101 without Upgrade: websocket";
    } else if (!response_.headers.has_token("Connection", "upgrade")) {
      why = "101 without Connection: upgrade";
    } else if (response_.headers.get("Sec-WebSocket-Accept") !=
               std::optional<std::string_view>(ws::compute_accept(key_))) {
      why = "wrong Sec-WebSocket-Accept";
    }
    if (!why.empty()) {
      out.kind = UpstreamOutcome::kBadAnswer;
      out.detail = "backend answer: " + why;
      transport_->abort();
      complete(std::move(out));
      return;
    }
    out.kind = UpstreamOutcome::kUpgraded;
    out.transport = transport_;
    out.response = std::move(response_);
    out.pending = std::move(body_);
    complete(std::move(out));
    return;
  }
  if (response_.status < 200) {
    out.kind = UpstreamOutcome::kBadAnswer;
    out.detail = "backend answered " + std::to_string(response_.status) + " to the upgrade";
    transport_->abort();
    complete(std::move(out));
    return;
  }
  if (response_.status >= 200 && response_.status < 300) {
    // RFC 6455 §4.1: anything but 101 fails the handshake; a 2xx means the
    // backend did not speak WebSocket at all, which the client learns as 502.
    out.kind = UpstreamOutcome::kBadAnswer;
    out.detail = "backend answered " + std::to_string(response_.status) + " instead of 101";
    transport_->abort();
    complete(std::move(out));
    return;
  }
  // Another status (401, 403, 404, 5xx...): the client gets it, with a bounded body.
  std::size_t want = 0;
  if (auto cl = response_.headers.get("Content-Length")) {
    std::size_t value = 0;
    auto [ptr, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), value);
    if (ec == std::errc() && ptr == cl->data() + cl->size()) want = std::min(value, kMaxBodyBytes);
  }
  if (response_.headers.contains("Transfer-Encoding")) want = 0;  // not worth de-chunking: send our own body
  read_body(want);
}

void UpstreamHandshake::read_body(std::size_t want) {
  auto finish = [this] {
    UpstreamOutcome out;
    out.kind = UpstreamOutcome::kAnswered;
    out.endpoint = backend_.endpoints[current_].label;
    out.response = std::move(response_);
    out.pending = std::move(body_);
    transport_->close();
    complete(std::move(out));
  };
  if (want == 0 || body_.size() >= want) {
    if (body_.size() > want) body_.resize(want);
    finish();
    return;
  }
  auto self = shared_from_this();
  transport_->async_read_into(read_buffer_, [self, want](const ErrorCode& ec, std::size_t n) {
    if (self->done_) return;
    if (!ec && n > 0)
      self->body_.insert(self->body_.end(), self->read_buffer_.begin(),
                         self->read_buffer_.begin() + static_cast<std::ptrdiff_t>(n));
    self->read_body((ec || n == 0) ? self->body_.size() : want);
  });
}

void UpstreamHandshake::complete(UpstreamOutcome outcome) {
  if (done_) return;
  done_ = true;
  timer_.cancel();
  if (metrics_ != nullptr) {
    switch (outcome.kind) {
      case UpstreamOutcome::kConnectFailed:
        metrics_->upstream_connect_error(backend_.index,
                                         outcome.detail.starts_with("TLS") ? "tls" : "refused");
        break;
      case UpstreamOutcome::kTimeout:
        metrics_->upstream_connect_error(backend_.index, "timeout");
        break;
      case UpstreamOutcome::kBadAnswer:
        metrics_->upstream_connect_error(backend_.index, "bad_answer");
        break;
      case UpstreamOutcome::kNoEndpoint:
        metrics_->upstream_connect_error(backend_.index, "no_endpoint");
        break;
      case UpstreamOutcome::kUpgraded:
      case UpstreamOutcome::kAnswered:
        break;
    }
  }
  if (outcome.kind != UpstreamOutcome::kUpgraded && transport_ && outcome.transport == nullptr) {
    transport_->close();
  }
  auto handler = std::move(handler_);
  handler(std::move(outcome));
}

}  // namespace wsgate::gw
