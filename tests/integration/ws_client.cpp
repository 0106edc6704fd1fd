// Blocking WebSocket test client: POSIX sockets with poll() deadlines, optional OpenSSL TLS,
// frames via ws::FrameParser, response heads via h1::ResponseHeadParser.
#include "tests/integration/ws_client.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <random>
#include <span>

#include "h1/head_parser.hpp"
#include "ws/handshake.hpp"

namespace wsgate::test {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kReadChunkBytes = 64 * 1024;
// Upper bound on the payload reserved up front for one frame (the length field is peer-controlled).
constexpr std::uint64_t kMaxReserveBytes = 64 * 1024 * 1024;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1'000'000));
}

std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::span<std::uint8_t> as_writable_bytes(std::string& text, std::size_t offset) {
  return {reinterpret_cast<std::uint8_t*>(text.data()) + offset, text.size() - offset};
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

ws::MaskKey random_mask_key() {
  thread_local std::mt19937 engine{std::random_device{}()};
  const std::uint32_t bits = engine();
  return {static_cast<std::uint8_t>(bits), static_cast<std::uint8_t>(bits >> 8),
          static_cast<std::uint8_t>(bits >> 16), static_cast<std::uint8_t>(bits >> 24)};
}

std::string openssl_errors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    std::array<char, 256> buffer{};
    ERR_error_string_n(code, buffer.data(), buffer.size());
    if (!text.empty()) text += "; ";
    text += buffer.data();
  }
  return text.empty() ? std::string("unknown TLS error") : text;
}

// Appends "Name: value\r\n" for the defaults (replaced or removed per `extra`), then the extras
// that did not name a default.
void append_headers(std::string& out, const HeaderList& defaults, const HeaderList& extra) {
  std::vector<bool> used(extra.size(), false);
  for (const auto& [name, value] : defaults) {
    std::optional<std::string> effective = value;
    for (std::size_t i = 0; i < extra.size(); ++i) {
      if (!used[i] && iequals(extra[i].first, name)) {
        effective = extra[i].second;
        used[i] = true;
        break;
      }
    }
    if (effective) out.append(name).append(": ").append(*effective).append("\r\n");
  }
  for (std::size_t i = 0; i < extra.size(); ++i) {
    if (!used[i] && extra[i].second)
      out.append(extra[i].first).append(": ").append(*extra[i].second).append("\r\n");
  }
}

// A Message started by `frame` (its payload moved in).
Message first_frame_of(Frame& frame) {
  Message message;
  message.opcode = frame.opcode();
  message.payload = std::move(frame.payload);
  message.frame_count = 1;
  message.rsv = frame.header.rsv;
  return message;
}

}  // namespace

struct WsClient::Tls {
  struct CtxDeleter {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
  };
  struct SslDeleter {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };
  std::unique_ptr<SSL_CTX, CtxDeleter> ctx;
  std::unique_ptr<SSL, SslDeleter> ssl;
};

WsClient::WsClient() = default;

WsClient::~WsClient() { disconnect(); }

WsClient::WsClient(WsClient&& other) noexcept { *this = std::move(other); }

WsClient& WsClient::operator=(WsClient&& other) noexcept {
  if (this == &other) return *this;
  disconnect();
  fd_ = std::exchange(other.fd_, -1);
  tls_ = std::move(other.tls_);
  peer_ = std::move(other.peer_);
  rbuf_ = std::move(other.rbuf_);
  rpos_ = std::exchange(other.rpos_, 0);
  eof_ = other.eof_;
  reset_ = other.reset_;
  read_while_sending_ = other.read_while_sending_;
  auto_pong_ = other.auto_pong_;
  pending_rcvbuf_ = other.pending_rcvbuf_;
  pending_sndbuf_ = other.pending_sndbuf_;
  want_write_ = other.want_write_;
  error_ = std::move(other.error_);
  discarded_messages_ = other.discarded_messages_;
  parser_ = std::move(other.parser_);
  partial_frame_ = std::move(other.partial_frame_);
  partial_message_ = std::move(other.partial_message_);
  return *this;
}

// ---- transport ----

bool WsClient::connect(std::string_view host, std::uint16_t port, std::chrono::milliseconds timeout,
                       std::optional<TlsOptions> tls) {
  disconnect();
  rbuf_.clear();
  rpos_ = 0;
  eof_ = reset_ = want_write_ = false;
  error_.clear();
  parser_ = std::make_unique<ws::FrameParser>(ws::FrameParserOptions{.sender = ws::Sender::kServer});
  partial_frame_.reset();
  partial_message_.reset();
  const auto deadline = Clock::now() + timeout;

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string host_text(host);
  const int gai = ::getaddrinfo(host_text.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (gai != 0) {
    fail("getaddrinfo " + host_text + ": " + ::gai_strerror(gai));
    return false;
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);

  for (const addrinfo* ai = addresses.get(); ai != nullptr && fd_ < 0; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      fail(std::string("socket: ") + std::strerror(errno));
      continue;
    }
    if (pending_rcvbuf_ > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &pending_rcvbuf_, sizeof(int));
    if (pending_sndbuf_ > 0) ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &pending_sndbuf_, sizeof(int));
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc < 0 && errno == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      do {
        rc = ::poll(&pfd, 1, remaining_ms(deadline));
      } while (rc < 0 && errno == EINTR);
      if (rc == 0) {
        fail("connect timeout");
        ::close(fd);
        continue;
      }
      int so_error = 0;
      socklen_t len = sizeof(so_error);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      rc = so_error == 0 ? 0 : -1;
      errno = so_error;
    }
    if (rc < 0) {
      fail(std::string("connect: ") + std::strerror(errno));
      ::close(fd);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fd_ = fd;
  }
  if (fd_ < 0) return false;
  peer_ = (host.find(':') != std::string_view::npos ? "[" + host_text + "]" : host_text) + ":" +
          std::to_string(port);
  error_.clear();
  if (!tls) return true;

  tls_ = std::make_unique<Tls>();
  tls_->ctx.reset(SSL_CTX_new(TLS_client_method()));
  if (!tls_->ctx) {
    fail("SSL_CTX_new: " + openssl_errors());
    disconnect();
    return false;
  }
  SSL_CTX* ctx = tls_->ctx.get();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (tls->verify_peer) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    const int loaded = tls->ca_file.empty()
                           ? SSL_CTX_set_default_verify_paths(ctx)
                           : SSL_CTX_load_verify_locations(ctx, tls->ca_file.c_str(), nullptr);
    if (loaded != 1) {
      fail("loading trust anchors: " + openssl_errors());
      disconnect();
      return false;
    }
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  tls_->ssl.reset(SSL_new(ctx));
  SSL* ssl = tls_->ssl.get();
  SSL_set_fd(ssl, fd_);
  const std::string server_name = tls->server_name.empty() ? host_text : tls->server_name;
  in6_addr ignored{};
  const bool is_ip_literal = ::inet_pton(AF_INET, server_name.c_str(), &ignored) == 1 ||
                             ::inet_pton(AF_INET6, server_name.c_str(), &ignored) == 1;
  if (!is_ip_literal) SSL_set_tlsext_host_name(ssl, server_name.c_str());  // RFC 6066 §3: no IPs in SNI
  if (tls->verify_peer) SSL_set1_host(ssl, server_name.c_str());
  if (!tls->alpn.empty()) {
    std::string wire;
    for (const std::string& protocol : tls->alpn) {
      wire.push_back(static_cast<char>(protocol.size()));
      wire += protocol;
    }
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  while (true) {
    ERR_clear_error();
    const int rc = SSL_connect(ssl);
    if (rc == 1) return true;
    const int err = SSL_get_error(ssl, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      pollfd pfd{fd_, static_cast<short>(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
      if (::poll(&pfd, 1, remaining_ms(deadline)) == 0) {
        fail("TLS handshake timeout");
        disconnect();
        return false;
      }
      continue;
    }
    fail("TLS handshake failed: " + openssl_errors());
    disconnect();
    return false;
  }
}

std::string WsClient::negotiated_alpn() const {
  if (!tls_) return {};
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(tls_->ssl.get(), &data, &length);
  return data == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(data), length);
}

void WsClient::set_recv_buffer(int bytes) {
  pending_rcvbuf_ = bytes;
  if (fd_ >= 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

void WsClient::set_send_buffer(int bytes) {
  pending_sndbuf_ = bytes;
  if (fd_ >= 0) ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
}

void WsClient::set_allowed_rsv(std::uint8_t rsv) {
  if (parser_) parser_->set_allowed_rsv(rsv);
}

WsClient::IoResult WsClient::read_some(std::size_t* got) {
  *got = 0;
  if (fd_ < 0) {
    fail("not connected");
    return IoResult::kError;
  }
  if (eof_) return IoResult::kEof;
  const std::size_t old_size = rbuf_.size();
  rbuf_.resize(old_size + kReadChunkBytes);
  char* into = rbuf_.data() + old_size;
  IoResult result = IoResult::kOk;
  if (tls_) {
    ERR_clear_error();
    const int n = SSL_read(tls_->ssl.get(), into, static_cast<int>(kReadChunkBytes));
    if (n > 0) {
      *got = static_cast<std::size_t>(n);
    } else {
      const int err = SSL_get_error(tls_->ssl.get(), n);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        want_write_ = err == SSL_ERROR_WANT_WRITE;
        result = IoResult::kWouldBlock;
      } else if (err == SSL_ERROR_ZERO_RETURN) {
        eof_ = true;
        result = IoResult::kEof;
      } else if (err == SSL_ERROR_SYSCALL && (errno == ECONNRESET || errno == EPIPE)) {
        eof_ = reset_ = true;
        result = IoResult::kEof;
      } else if (err == SSL_ERROR_SYSCALL && errno == 0) {
        eof_ = true;
        result = IoResult::kEof;
      } else {
        fail("TLS read: " + openssl_errors());
        result = IoResult::kError;
      }
    }
  } else {
    ssize_t n;
    do {
      n = ::recv(fd_, into, kReadChunkBytes, 0);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      *got = static_cast<std::size_t>(n);
    } else if (n == 0) {
      eof_ = true;
      result = IoResult::kEof;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      result = IoResult::kWouldBlock;
    } else if (errno == ECONNRESET) {
      eof_ = reset_ = true;
      result = IoResult::kEof;
    } else {
      fail(std::string("recv: ") + std::strerror(errno));
      result = IoResult::kError;
    }
  }
  rbuf_.resize(old_size + *got);
  return result;
}

WsClient::IoResult WsClient::write_some(std::string_view bytes, std::size_t* written) {
  *written = 0;
  if (fd_ < 0) {
    fail("not connected");
    return IoResult::kError;
  }
  if (tls_) {
    ERR_clear_error();
    const int chunk = static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 30));
    const int n = SSL_write(tls_->ssl.get(), bytes.data(), chunk);
    if (n > 0) {
      *written = static_cast<std::size_t>(n);
      return IoResult::kOk;
    }
    const int err = SSL_get_error(tls_->ssl.get(), n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      want_write_ = err == SSL_ERROR_WANT_WRITE;
      return IoResult::kWouldBlock;
    }
    fail("TLS write: " + openssl_errors());
    return IoResult::kError;
  }
  ssize_t n;
  do {
    n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) {
    *written = static_cast<std::size_t>(n);
    return IoResult::kOk;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    want_write_ = true;
    return IoResult::kWouldBlock;
  }
  if (errno == ECONNRESET || errno == EPIPE) reset_ = true;
  fail(std::string("send: ") + std::strerror(errno));
  return IoResult::kError;
}

bool WsClient::wait_io(bool for_read, Clock::time_point deadline) {
  pollfd pfd{fd_, static_cast<short>(for_read ? POLLIN : POLLOUT), 0};
  int rc;
  do {
    rc = ::poll(&pfd, 1, remaining_ms(deadline));
  } while (rc < 0 && errno == EINTR);
  return rc > 0;  // readiness or POLLERR/POLLHUP: the next read/write reports which
}

bool WsClient::fill(Clock::time_point deadline) {
  while (true) {
    std::size_t got = 0;
    switch (read_some(&got)) {
      case IoResult::kOk:
        return true;
      case IoResult::kEof:
        fail(reset_ ? "connection reset by peer" : "connection closed by peer");
        return false;
      case IoResult::kError:
        return false;
      case IoResult::kWouldBlock:
        // TLS may need the socket writable to make read progress.
        if (!wait_io(!(tls_ && want_write_), deadline)) {
          fail("timeout");
          return false;
        }
        break;
    }
  }
}

std::size_t WsClient::pump() {
  std::size_t total = 0;
  std::size_t got = 0;
  while (read_some(&got) == IoResult::kOk) total += got;
  return total;
}

std::optional<std::string> WsClient::recv_raw(std::size_t bytes, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (buffered_bytes() < bytes) {
    if (!fill(deadline)) return std::nullopt;
  }
  std::string out(buffered().substr(0, bytes));
  consume(bytes);
  return out;
}

void WsClient::consume(std::size_t bytes) {
  rpos_ += bytes;
  if (rpos_ >= rbuf_.size()) {
    rbuf_.clear();
    rpos_ = 0;
  } else if (rpos_ > (1 << 20) && rpos_ > rbuf_.size() / 2) {
    rbuf_.erase(0, rpos_);
    rpos_ = 0;
  }
}

bool WsClient::send_raw(std::string_view bytes, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    std::size_t written = 0;
    const IoResult result = write_some(bytes, &written);
    if (result == IoResult::kError) return false;
    if (result == IoResult::kOk) {
      bytes.remove_prefix(written);
      continue;
    }
    // Blocked: wait for room, and meanwhile take in what the peer sends so it is never stuck
    // writing to us while we are stuck writing to it.
    const bool tls_wants_read = tls_ && !want_write_;
    short events = tls_wants_read ? POLLIN : POLLOUT;
    if (read_while_sending_ && !eof_) events |= POLLIN;
    pollfd pfd{fd_, events, 0};
    int rc;
    do {
      rc = ::poll(&pfd, 1, remaining_ms(deadline));
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) {
      fail("send timeout");
      return false;
    }
    if (read_while_sending_ && !eof_ && (pfd.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      std::size_t got = 0;
      read_some(&got);
    }
  }
  return true;
}

void WsClient::shutdown_write() {
  if (fd_ < 0) return;
  if (tls_) SSL_shutdown(tls_->ssl.get());  // sends close_notify; we do not wait for the peer's
  ::shutdown(fd_, SHUT_WR);
}

void WsClient::abort() {
  if (fd_ < 0) return;
  const linger hard{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
  tls_.reset();
  ::close(fd_);
  fd_ = -1;
}

void WsClient::disconnect() {
  tls_.reset();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool WsClient::wait_eof(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!eof_) {
    std::size_t got = 0;
    const IoResult result = read_some(&got);
    if (result == IoResult::kError) return reset_;
    if (result == IoResult::kWouldBlock && !wait_io(!(tls_ && want_write_), deadline)) {
      fail("timeout waiting for EOF");
      return false;
    }
  }
  return true;
}

// ---- opening handshake ----

std::string WsClient::send_handshake_request(std::string_view path, std::string_view host_header,
                                             const HeaderList& extra_headers,
                                             std::chrono::milliseconds timeout) {
  std::string key = ws::generate_key();
  const HeaderList defaults{
      {"Host", host_header.empty() ? peer_ : std::string(host_header)},
      {"Upgrade", "websocket"},
      {"Connection", "Upgrade"},
      {"Sec-WebSocket-Key", key},
      {"Sec-WebSocket-Version", "13"},
  };
  for (const auto& [name, value] : extra_headers) {
    if (iequals(name, "Sec-WebSocket-Key")) {
      key = value.value_or("");
      break;
    }
  }
  std::string request;
  request.append("GET ").append(path).append(" HTTP/1.1\r\n");
  append_headers(request, defaults, extra_headers);
  request.append("\r\n");
  if (!send_raw(request, timeout)) return {};
  return key;
}

HandshakeResult WsClient::handshake(std::string_view path, std::string_view host_header,
                                    const HeaderList& extra_headers, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  error_.clear();  // an empty key below is a failure only if sending set an error
  const std::string key = send_handshake_request(path, host_header, extra_headers, timeout);
  if (key.empty() && !error_.empty()) {
    HandshakeResult result;
    result.error = "sending the request: " + error_;
    return result;
  }
  return read_response(key, std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()));
}

HandshakeResult WsClient::read_response(std::string_view key, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  HandshakeResult result;
  h1::ResponseHeadParser parser;
  while (true) {
    if (buffered_bytes() > 0) {
      const h1::ParseResult parsed = parser.feed(buffered());
      consume(parsed.consumed);
      if (parsed.status == h1::ParseStatus::kComplete) break;
      if (parsed.status == h1::ParseStatus::kError) {
        result.error = "bad response head: " + std::string(h1::to_string(parsed.error));
        return result;
      }
    }
    if (!fill(deadline)) {
      result.error = "no complete response head: " + error_;
      return result;
    }
  }
  h1::ResponseHead head = parser.take_head();
  result.status = head.status;
  result.reason = std::move(head.reason);
  result.headers = std::move(head.headers);
  if (result.status == 101) {
    const auto accept = result.headers.get("Sec-WebSocket-Accept");
    result.accept_ok = !key.empty() && accept && *accept == ws::compute_accept(key);
    return result;
  }
  read_body(result, deadline);
  return result;
}

bool WsClient::read_body(HttpResponse& response, Clock::time_point deadline) {
  if ((response.status >= 100 && response.status < 200) || response.status == 204 || response.status == 304) {
    return true;
  }
  // Waits until at least `bytes` are buffered.
  auto need = [&](std::size_t bytes) {
    while (buffered_bytes() < bytes) {
      if (!fill(deadline)) return false;
    }
    return true;
  };
  if (response.headers.has_token("Transfer-Encoding", "chunked")) {
    while (true) {
      std::size_t line_end;
      while ((line_end = buffered().find("\r\n")) == std::string_view::npos) {
        if (buffered_bytes() > 4096 || !fill(deadline)) {
          response.error = "bad chunk size line: " + error_;
          return false;
        }
      }
      const std::string size_text(buffered().substr(0, line_end));
      consume(line_end + 2);
      const std::size_t size = std::strtoul(size_text.c_str(), nullptr, 16);  // stops at ";ext"
      if (size == 0) {
        // Trailer section: lines until an empty one.
        while (true) {
          while ((line_end = buffered().find("\r\n")) == std::string_view::npos) {
            if (!fill(deadline)) {
              response.error = "incomplete chunked trailer: " + error_;
              return false;
            }
          }
          consume(line_end + 2);
          if (line_end == 0) return true;
        }
      }
      if (response.body.size() + size > kMaxBodyBytes) {
        response.error = "body larger than kMaxBodyBytes";
        return false;
      }
      if (!need(size + 2)) {
        response.error = "incomplete chunk: " + error_;
        return false;
      }
      response.body.append(buffered().substr(0, size));
      consume(size + 2);
    }
  }
  if (const auto length_text = response.headers.get("Content-Length")) {
    const std::size_t length = std::strtoul(std::string(*length_text).c_str(), nullptr, 10);
    if (length > kMaxBodyBytes) {
      response.error = "Content-Length larger than kMaxBodyBytes";
      return false;
    }
    if (!need(length)) {
      response.error = "incomplete body: " + error_;
      return false;
    }
    response.body.assign(buffered().substr(0, length));
    consume(length);
    return true;
  }
  // RFC 9112 §6.3: no length information, the body ends when the connection closes.
  while (fill(deadline)) {
    if (buffered_bytes() > kMaxBodyBytes) break;
  }
  response.body.assign(buffered().substr(0, std::min(buffered_bytes(), kMaxBodyBytes)));
  consume(buffered_bytes());
  if (!eof_) {
    response.error = "body not terminated by close: " + error_;
    return false;
  }
  return true;
}

HttpResponse WsClient::request(std::string_view method, std::string_view target, const HeaderList& headers,
                               std::string_view body, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  HeaderList defaults{{"Host", peer_}};
  if (!body.empty()) defaults.emplace_back("Content-Length", std::to_string(body.size()));
  std::string request_bytes;
  request_bytes.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  append_headers(request_bytes, defaults, headers);
  request_bytes.append("\r\n").append(body);
  if (!send_raw(request_bytes, timeout)) {
    HttpResponse response;
    response.error = "send: " + error_;
    return response;
  }
  return read_response({}, std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()));
}

// ---- frames and messages ----

std::string WsClient::build_frame(std::uint8_t opcode, std::string_view payload, bool fin,
                                  std::optional<ws::MaskKey> mask_key, std::uint8_t rsv) {
  std::array<std::uint8_t, ws::kMaxHeaderBytes> header{};
  const std::size_t header_bytes = ws::write_frame_header(header, fin, opcode, payload.size(), mask_key, rsv);
  std::string frame;
  frame.reserve(header_bytes + payload.size());
  frame.append(reinterpret_cast<const char*>(header.data()), header_bytes);
  frame.append(payload);
  if (mask_key) ws::apply_mask(as_writable_bytes(frame, header_bytes), *mask_key);
  return frame;
}

bool WsClient::send_frame(std::uint8_t raw_opcode, std::string_view payload, bool fin, bool masked,
                          std::uint8_t rsv) {
  const std::optional<ws::MaskKey> key = masked ? std::optional(random_mask_key()) : std::nullopt;
  return send_raw(build_frame(raw_opcode, payload, fin, key, rsv));
}

bool WsClient::send_frame(ws::Opcode opcode, std::string_view payload, bool fin, bool masked,
                          std::uint8_t rsv) {
  return send_frame(static_cast<std::uint8_t>(opcode), payload, fin, masked, rsv);
}

bool WsClient::send_message(ws::Opcode opcode, std::string_view payload, std::size_t fragment_size) {
  if (fragment_size == 0 || payload.size() <= fragment_size) return send_frame(opcode, payload);
  ws::Opcode frame_opcode = opcode;
  while (!payload.empty()) {
    const std::string_view piece = payload.substr(0, fragment_size);
    payload.remove_prefix(piece.size());
    if (!send_frame(frame_opcode, piece, payload.empty())) return false;
    frame_opcode = ws::Opcode::kContinuation;
  }
  return true;
}

std::optional<Frame> WsClient::recv_frame(std::chrono::milliseconds timeout) {
  return recv_frame_until(Clock::now() + timeout);
}

std::optional<Frame> WsClient::recv_frame_until(Clock::time_point deadline) {
  if (!parser_) {
    fail("not connected");
    return std::nullopt;
  }
  while (true) {
    const ws::FrameEvent event = parser_->next(as_bytes(buffered()));
    // event.payload points into rbuf_: consume (which may compact rbuf_) only after copying it out.
    struct ConsumeOnExit {
      WsClient* client;
      std::size_t bytes;
      ~ConsumeOnExit() { client->consume(bytes); }
    } consume_on_exit{this, event.consumed};
    switch (event.kind) {
      case ws::FrameEvent::kHeader:
        partial_frame_.emplace();
        partial_frame_->header = event.header;
        partial_frame_->payload.reserve(std::min(event.header.payload_length, kMaxReserveBytes));
        break;
      case ws::FrameEvent::kPayload: {
        if (!partial_frame_) partial_frame_.emplace(Frame{event.header, {}});
        std::string& payload = partial_frame_->payload;
        const std::size_t start = payload.size();
        payload.append(reinterpret_cast<const char*>(event.payload.data()), event.payload.size());
        if (event.header.masked) {
          ws::apply_mask(as_writable_bytes(payload, start), event.header.mask_key, event.payload_offset);
        }
        break;
      }
      case ws::FrameEvent::kFrameEnd: {
        Frame frame = partial_frame_ ? std::move(*partial_frame_) : Frame{event.header, {}};
        partial_frame_.reset();
        return frame;
      }
      case ws::FrameEvent::kError:
        fail("bad frame from server: " + std::string(ws::to_string(event.error)));
        return std::nullopt;
      case ws::FrameEvent::kNeedMore:
        if (!fill(deadline)) return std::nullopt;
        break;
    }
  }
}

std::optional<Message> WsClient::recv_message(std::chrono::milliseconds timeout, RecvOptions options) {
  return recv_message_until(Clock::now() + timeout, options);
}

std::optional<Message> WsClient::recv_message_until(Clock::time_point deadline, RecvOptions options) {
  while (true) {
    std::optional<Frame> frame = recv_frame_until(deadline);
    if (!frame) return std::nullopt;
    const ws::Opcode opcode = frame->opcode();
    if (ws::is_control(frame->header.opcode)) {
      Message control = first_frame_of(*frame);
      if (opcode == ws::Opcode::kClose) {
        // Read the code and reason as sent, valid or not: tests want to see what the peer did.
        if (control.payload.size() >= 2) {
          control.close_code =
              static_cast<std::uint16_t>((static_cast<std::uint8_t>(control.payload[0]) << 8) |
                                         static_cast<std::uint8_t>(control.payload[1]));
          control.close_reason = control.payload.substr(2);
        }
        return control;
      }
      if (opcode == ws::Opcode::kPing) {
        if (auto_pong_ && !send_frame(ws::Opcode::kPong, control.payload)) return std::nullopt;
        if (options.return_pings) return control;
        continue;
      }
      if (opcode == ws::Opcode::kPong && !options.return_pongs) continue;
      return control;
    }
    if (opcode == ws::Opcode::kContinuation) {
      if (!partial_message_) {
        fail("continuation frame with no message in progress");
        return std::nullopt;
      }
      partial_message_->payload += frame->payload;
      ++partial_message_->frame_count;
    } else {
      if (partial_message_) {
        fail("new data frame while a fragmented message is in progress");
        return std::nullopt;
      }
      partial_message_ = first_frame_of(*frame);
    }
    if (frame->header.fin) {
      Message message = std::move(*partial_message_);
      partial_message_.reset();
      return message;
    }
  }
}

bool WsClient::close(std::optional<std::uint16_t> code, std::string_view reason) {
  std::string payload;
  if (code) {
    payload.push_back(static_cast<char>(*code >> 8));
    payload.push_back(static_cast<char>(*code & 0xFF));
    payload.append(reason);
  }
  return send_frame(ws::Opcode::kClose, payload);
}

std::optional<Message> WsClient::expect_close(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    std::optional<Message> message = recv_message_until(deadline, {});
    if (!message) return std::nullopt;
    if (message->is_close()) return message;
    ++discarded_messages_;
  }
}

std::optional<Message> WsClient::close_and_wait(std::optional<std::uint16_t> code, std::string_view reason,
                                                std::chrono::milliseconds timeout) {
  if (!close(code, reason)) return std::nullopt;
  return expect_close(timeout);
}

}  // namespace wsgate::test
