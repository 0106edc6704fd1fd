// Listeners: a bound address shared by every worker through SO_REUSEPORT, each
// worker with its own acceptor; TLS contexts for TLS listeners.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "gateway/config.hpp"
#include "gateway/worker.hpp"

namespace wsgate::gw {

// What every worker's acceptor for one listener shares (read-only after start,
// but for the connection count).
struct ListenerRuntime {
  const ListenerConfig* config = nullptr;
  std::size_t index = 0;                           // position in Config::listeners (metrics label)
  std::shared_ptr<boost::asio::ssl::context> tls;  // null for cleartext
  boost::asio::ip::tcp::endpoint bound;            // the actual address (port 0 resolved)
  std::atomic<std::uint64_t> connections{0};       // open client connections, all workers
  bool h2 = false;                                  // TLS: ALPN may select "h2"
  bool h2c = false;                                 // cleartext: HTTP/2 with prior knowledge accepted
};

// Server-side TLS context for a listener: certificate chain, key, TLS >= 1.2,
// ALPN selecting h2 (when `allow_h2`) or http/1.1. Throws std::runtime_error naming the file on failure.
std::shared_ptr<boost::asio::ssl::context> make_listener_tls(const ListenerConfig& listener, bool allow_h2);

// One worker's accept loop for one listener.
class Acceptor : public std::enable_shared_from_this<Acceptor> {
 public:
  // Binds with SO_REUSEPORT to `runtime.bound` (or to the configured address
  // when `runtime.bound` has port 0, then records the actual one). Throws on failure.
  Acceptor(Worker& worker, ListenerRuntime& runtime);
  void start();  // thread-safe (posted)
  void stop();   // thread-safe (posted)

 private:
  void accept_next();

  Worker& worker_;
  ListenerRuntime& runtime_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace wsgate::gw
