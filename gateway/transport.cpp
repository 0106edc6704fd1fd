// Plain and TLS transports; see transport.hpp.
#include "gateway/transport.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

namespace wsgate::gw {

namespace {
constexpr std::size_t kTlsStagingBytes = 16 * 1024;

std::string format_endpoint(const tcp::socket& socket) {
  ErrorCode ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "-";
  // Built with append: GCC 12 at -O3 reports a false -Wrestrict on "[" + s + "]:".
  std::string text;
  const bool v6 = endpoint.address().is_v6();
  if (v6) text.push_back('[');
  text.append(endpoint.address().to_string());
  if (v6) text.push_back(']');
  text.push_back(':');
  text.append(std::to_string(endpoint.port()));
  return text;
}
}  // namespace

Transport::Transport(tcp::socket socket) : socket_(std::move(socket)), remote_(format_endpoint(socket_)) {
  ErrorCode ec;
  socket_.set_option(tcp::no_delay(true), ec);
  socket_.non_blocking(true, ec);
}

Transport::Transport(tcp::socket socket, asio::ssl::context& tls_context)
    : socket_(std::move(socket)),
      tls_(std::make_unique<TlsStream>(socket_, tls_context)),
      remote_(format_endpoint(socket_)) {
  ErrorCode ec;
  socket_.set_option(tcp::no_delay(true), ec);
}

tcp::socket& Transport::socket() { return socket_; }

void Transport::async_tls_handshake(asio::ssl::stream_base::handshake_type type, Handler handler) {
  tls_->async_handshake(type, [self = shared_from_this(), handler = std::move(handler)](const ErrorCode& ec) {
    handler(ec);
  });
}

void Transport::async_read_into(std::span<std::uint8_t> buffer,
                                std::function<void(const ErrorCode&, std::size_t)> handler) {
  // Serve read-ahead first so nothing read while waiting is lost.
  if ((tls_ && tls_staging_begin_ < tls_staging_end_) || (!tls_ && tcp_staging_begin_ < tcp_staging_end_)) {
    ErrorCode ec;
    std::size_t n = read_some(buffer, ec);
    asio::post(socket_.get_executor(), [handler = std::move(handler), ec, n] { handler(ec, n); });
    return;
  }
  auto done = [self = shared_from_this(), handler = std::move(handler)](const ErrorCode& ec, std::size_t n) {
    handler(ec, n);
  };
  if (tls_) {
    tls_->async_read_some(asio::buffer(buffer.data(), buffer.size()), std::move(done));
  } else {
    socket_.async_read_some(asio::buffer(buffer.data(), buffer.size()), std::move(done));
  }
}

void Transport::async_wait_readable(Handler handler) {
  if (closed_) {
    asio::post(socket_.get_executor(), [handler = std::move(handler)] { handler(asio::error::operation_aborted); });
    return;
  }
  if (!tls_) {
    if (tcp_staging_begin_ < tcp_staging_end_ || tcp_staging_error_) {
      asio::post(socket_.get_executor(), [handler = std::move(handler)] { handler({}); });
      return;
    }
    if (!tcp_wait_by_read_) {
      socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this(), handler = std::move(handler)](
                                                     const ErrorCode& ec) { handler(ec); });
      return;
    }
    socket_.async_read_some(asio::buffer(tcp_staging_),
                            [self = shared_from_this(), handler = std::move(handler)](const ErrorCode& ec,
                                                                                       std::size_t n) {
                              if (ec == asio::error::operation_aborted) {
                                handler(ec);
                                return;
                              }
                              self->tcp_staging_begin_ = 0;
                              self->tcp_staging_end_ = static_cast<std::uint16_t>(n);
                              self->tcp_staging_filled_ = n == kTcpStagingBytes;
                              if (ec) self->tcp_staging_error_ = ec;
                              handler({});
                            });
    return;
  }
  if (tls_staging_begin_ < tls_staging_end_ || tls_staging_error_) {
    asio::post(socket_.get_executor(), [handler = std::move(handler)] { handler({}); });
    return;
  }
  // TLS records must be decrypted to know whether application data is there:
  // read ahead into a staging buffer that exists only while a TLS read waits.
  if (tls_staging_.size() != kTlsStagingBytes) tls_staging_.resize(kTlsStagingBytes);
  tls_->async_read_some(asio::buffer(tls_staging_),
                        [self = shared_from_this(), handler = std::move(handler)](const ErrorCode& ec, std::size_t n) {
                          self->tls_staging_begin_ = 0;
                          self->tls_staging_end_ = n;
                          if (ec && ec != asio::error::operation_aborted) self->tls_staging_error_ = ec;
                          handler(ec == asio::error::operation_aborted ? ec : ErrorCode{});
                        });
}

std::size_t Transport::read_some(std::span<std::uint8_t> buffer, ErrorCode& ec) {
  ec = {};
  if (closed_) {
    ec = asio::error::operation_aborted;
    return 0;
  }
  if (!tls_) {
    std::size_t n = 0;
    if (tcp_staging_begin_ < tcp_staging_end_) {
      n = std::min<std::size_t>(buffer.size(), tcp_staging_end_ - tcp_staging_begin_);
      std::memcpy(buffer.data(), tcp_staging_.data() + tcp_staging_begin_, n);
      tcp_staging_begin_ = static_cast<std::uint16_t>(tcp_staging_begin_ + n);
      if (tcp_staging_begin_ < tcp_staging_end_) return n;
      tcp_staging_begin_ = tcp_staging_end_ = 0;
      // A staging read that came back short emptied the socket; a full one may have left more.
      if (!tcp_staging_filled_ || n == buffer.size()) return n;
    } else if (tcp_staging_error_) {
      ec = tcp_staging_error_;
      return 0;
    }
    std::size_t more = socket_.read_some(asio::buffer(buffer.data() + n, buffer.size() - n), ec);
    if (n > 0 && ec) {
      if (ec != asio::error::would_block && ec != asio::error::try_again) tcp_staging_error_ = ec;  // next call
      ec = {};
    }
    n += more;
    // Small reads: wait by reading into the staging area; larger: a bare wait, then straight in.
    tcp_wait_by_read_ = n < kTcpStagingBytes;
    return n;
  }
  if (tls_staging_begin_ < tls_staging_end_) {
    std::size_t n = std::min(buffer.size(), tls_staging_end_ - tls_staging_begin_);
    std::memcpy(buffer.data(), tls_staging_.data() + tls_staging_begin_, n);
    tls_staging_begin_ += n;
    if (tls_staging_begin_ == tls_staging_end_) {
      tls_staging_begin_ = tls_staging_end_ = 0;
    }
    return n;
  }
  if (tls_staging_error_) {
    ec = tls_staging_error_;
    return 0;
  }
  ec = asio::error::would_block;
  return 0;
}

void Transport::async_write(std::span<const std::uint8_t> data, Handler handler) {
  auto done = [self = shared_from_this(), handler = std::move(handler)](const ErrorCode& ec, std::size_t) {
    handler(ec);
  };
  if (tls_) {
    asio::async_write(*tls_, asio::buffer(data.data(), data.size()), std::move(done));
  } else {
    asio::async_write(socket_, asio::buffer(data.data(), data.size()), std::move(done));
  }
}

void Transport::shutdown_write() {
  if (closed_) return;
  // TLS too ends with a TCP FIN only: a close_notify would need an engine
  // operation running beside the pending read, which Asio's SSL stream does not
  // allow. The WebSocket close handshake already marks the clean end (RFC 6455 §7.1.1).
  ErrorCode ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
}

void Transport::close() {
  if (closed_) return;
  closed_ = true;
  ErrorCode ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

void Transport::abort() {
  if (closed_) return;
  closed_ = true;
  ErrorCode ec;
  socket_.set_option(asio::socket_base::linger(true, 0), ec);
  socket_.close(ec);
}

std::string Transport::remote_address() const { return remote_; }

std::string Transport::client_ip() const {
  ErrorCode ec;
  auto endpoint = socket_.remote_endpoint(ec);
  if (ec) return "unknown";
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

}  // namespace wsgate::gw
