// A connected TCP socket, optionally wrapped in TLS, with the async operations
// the gateway needs during handshakes, and as a Channel for the relay.
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "gateway/channel.hpp"

namespace wsgate::gw {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class Transport final : public Channel, public std::enable_shared_from_this<Transport> {
 public:
  // Plain TCP.
  explicit Transport(tcp::socket socket);
  // TLS over `socket`; call async_tls_handshake() before anything else.
  Transport(tcp::socket socket, asio::ssl::context& tls_context);

  bool is_tls() const { return tls_ != nullptr; }
  tcp::socket& socket();
  SSL* native_tls() { return tls_ ? tls_->native_handle() : nullptr; }

  void async_tls_handshake(asio::ssl::stream_base::handshake_type type, Handler handler);
  // Reads some bytes into `buffer` (which must stay valid); used before the relay starts.
  void async_read_into(std::span<std::uint8_t> buffer, std::function<void(const ErrorCode&, std::size_t)> handler);

  // Channel
  void async_wait_readable(Handler handler) override;
  std::size_t read_some(std::span<std::uint8_t> buffer, ErrorCode& ec) override;
  void async_write(std::span<const std::uint8_t> data, Handler handler) override;
  void shutdown_write() override;
  void close() override;
  void abort() override;
  std::string remote_address() const override;
  // The peer's IP address as text, IPv4-mapped IPv6 shown as IPv4 ("unknown" if gone).
  std::string client_ip() const;

 private:
  using TlsStream = asio::ssl::stream<tcp::socket&>;
  tcp::socket socket_;
  std::unique_ptr<TlsStream> tls_;
  // TLS only: decrypted bytes read ahead while waiting for readability.
  std::vector<std::uint8_t> tls_staging_;
  std::size_t tls_staging_begin_ = 0;
  std::size_t tls_staging_end_ = 0;
  ErrorCode tls_staging_error_;
  // Plain TCP: while the last messages were small, waiting for readability is a read into this
  // small area (one recv on arrival; Asio re-arms a read without an epoll_ctl, a bare wait with
  // one). After a read that filled it, waits are bare again (larger messages go straight to the
  // caller's buffer). Bytes here are served by read_some first.
  static constexpr std::size_t kTcpStagingBytes = 256;
  std::array<std::uint8_t, kTcpStagingBytes> tcp_staging_{};
  std::uint16_t tcp_staging_begin_ = 0;
  std::uint16_t tcp_staging_end_ = 0;
  bool tcp_staging_filled_ = false;  // the last staging read filled it: more may be in the socket
  bool tcp_wait_by_read_ = true;
  ErrorCode tcp_staging_error_;
  bool closed_ = false;
  std::string remote_;
};

}  // namespace wsgate::gw
