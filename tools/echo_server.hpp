// The echo backend's listeners and workers: one io_context per thread, each with its own
// SO_REUSEPORT acceptor, until SIGINT/SIGTERM.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <vector>

#include "tools/echo_options.hpp"

namespace wsgate::tools {

class EchoServer {
 public:
  // Resolves and binds the listen address for every worker; throws std::exception on failure.
  explicit EchoServer(EchoOptions options);
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  // The bound address (the actual port when 0 was asked for).
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // Serves until SIGINT or SIGTERM, then stops every worker; returns the exit code (0).
  int run();

 private:
  struct Worker;
  void accept(Worker& worker);

  EchoOptions options_;  // before workers_: sessions refer to it until the workers are gone
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace wsgate::tools
