// Listener binding, TLS contexts and accept loops; see listener.hpp.
#include "gateway/listener.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstring>
#include <stdexcept>

#include "gateway/h1_session.hpp"

namespace wsgate::gw {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// ALPN (RFC 7301): the server's preference decides: h2 first when the listener
// offers it (arg != nullptr), then http/1.1.
bool alpn_offered(const unsigned char* in, unsigned int inlen, std::string_view protocol,
                  const unsigned char** out, unsigned char* outlen) {
  for (unsigned int i = 0; i < inlen;) {
    unsigned int len = in[i];
    if (i + 1 + len > inlen) break;
    if (len == protocol.size() && std::memcmp(in + i + 1, protocol.data(), len) == 0) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return true;
    }
    i += 1 + len;
  }
  return false;
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* allow_h2) {
  if (allow_h2 != nullptr && alpn_offered(in, inlen, "h2", out, outlen)) return SSL_TLSEXT_ERR_OK;
  if (alpn_offered(in, inlen, "http/1.1", out, outlen)) return SSL_TLSEXT_ERR_OK;
  return SSL_TLSEXT_ERR_NOACK;  // no overlap: continue without ALPN (HTTP/1.1 is assumed)
}

tcp::endpoint to_endpoint(const HostPort& hp) {
  ErrorCode ec;
  std::string host = hp.host;
  if (host == "localhost") host = "127.0.0.1";
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("listener address " + hp.to_string() + ": not an IP address");
  return {address, hp.port};
}

}  // namespace

std::shared_ptr<asio::ssl::context> make_listener_tls(const ListenerConfig& listener, bool allow_h2) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  ErrorCode ec;
  ctx->use_certificate_chain_file(listener.tls->cert_file, ec);
  if (ec) {
    throw std::runtime_error("listeners." + listener.name + ".tls.cert: cannot load " +
                             listener.tls->cert_file + ": " + ec.message());
  }
  ctx->use_private_key_file(listener.tls->key_file, asio::ssl::context::pem, ec);
  if (ec) {
    throw std::runtime_error("listeners." + listener.name + ".tls.key: cannot load " +
                             listener.tls->key_file + ": " + ec.message());
  }
  if (::SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    throw std::runtime_error("listeners." + listener.name + ".tls: key does not match the certificate");
  }
  ::SSL_CTX_set_mode(ctx->native_handle(), SSL_MODE_RELEASE_BUFFERS);  // idle connections keep no TLS buffers
  static int h2_marker = 1;
  ::SSL_CTX_set_alpn_select_cb(ctx->native_handle(), select_alpn, allow_h2 ? &h2_marker : nullptr);
  return ctx;
}

Acceptor::Acceptor(Worker& worker, ListenerRuntime& runtime)
    : worker_(worker), runtime_(runtime), acceptor_(worker.io()) {
  tcp::endpoint endpoint =
      runtime_.bound.port() != 0 ? runtime_.bound : to_endpoint(runtime_.config->address);
  ErrorCode ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.set_option(ReusePort(true), ec);
  if (!ec && endpoint.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(false), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("listeners." + runtime_.config->name + ": cannot listen on " +
                             runtime_.config->address.to_string() + ": " + ec.message());
  }
  if (runtime_.bound.port() == 0) runtime_.bound = acceptor_.local_endpoint();
}

void Acceptor::start() { accept_next(); }

void Acceptor::stop() {
  asio::post(worker_.io(), [self = shared_from_this()] {
    ErrorCode ec;
    self->acceptor_.close(ec);
  });
}

void Acceptor::accept_next() {
  acceptor_.async_accept(worker_.io(), [self = shared_from_this()](const ErrorCode& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
    if (!ec) {
      if (self->runtime_.connections.load(std::memory_order_relaxed) >=
          self->runtime_.config->max_connections) {
        // Over the listener's max_connections: refuse at once (RST), cheapest for both sides.
        if (auto* m = self->worker_.metrics()) m->connection_rejected(self->runtime_.index);
        ErrorCode ignored;
        socket.set_option(asio::socket_base::linger(true, 0), ignored);
        socket.close(ignored);
      } else {
        std::shared_ptr<Transport> transport =
            self->runtime_.tls ? std::make_shared<Transport>(std::move(socket), *self->runtime_.tls)
                               : std::make_shared<Transport>(std::move(socket));
        std::make_shared<H1Session>(self->worker_, self->runtime_, std::move(transport))->start();
      }
    } else if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space) {
      // Out of file descriptors: back off briefly instead of spinning.
      auto timer = std::make_shared<asio::steady_timer>(self->worker_.io(), std::chrono::milliseconds(50));
      timer->async_wait([self, timer](const ErrorCode&) { self->accept_next(); });
      return;
    }
    self->accept_next();
  });
}

}  // namespace wsgate::gw
