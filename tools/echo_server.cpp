// The echo backend's listeners and workers.
#include "tools/echo_server.hpp"

#include <sys/socket.h>

#include <boost/asio/detail/socket_option.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <stdexcept>
#include <string>
#include <thread>

#include "tools/echo_h1_session.hpp"

namespace wsgate::tools {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// Accept failures such as EMFILE repeat at once; wait this long before trying again.
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};

tcp::endpoint resolve_listen(const EchoOptions& options) {
  error_code ec;
  const asio::ip::address address = asio::ip::make_address(options.listen_host, ec);
  if (!ec) return {address, options.listen_port};
  asio::io_context io;
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(options.listen_host, std::to_string(options.listen_port),
                                        tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    throw std::runtime_error("cannot resolve listen host '" + options.listen_host + "': " + ec.message());
  }
  return results.begin()->endpoint();
}

}  // namespace

struct EchoServer::Worker {
  asio::io_context io{1};  // one thread runs it: no locking inside Asio
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_retry{io};
};

EchoServer::EchoServer(EchoOptions options) : options_(std::move(options)) {
  tcp::endpoint endpoint = resolve_listen(options_);
  for (unsigned i = 0; i < options_.threads; ++i) {
    auto worker = std::make_unique<Worker>();
    tcp::acceptor& acceptor = worker->acceptor;
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    // Every worker binds the same port; the kernel spreads connections over their queues.
    acceptor.set_option(ReusePort(true));
    error_code ec;
    acceptor.bind(endpoint, ec);
    if (ec) throw std::runtime_error("cannot listen on " + options_.listen_host + ": " + ec.message());
    acceptor.listen(asio::socket_base::max_listen_connections);
    if (i == 0) endpoint = acceptor.local_endpoint();  // port 0: the others bind the chosen port
    workers_.push_back(std::move(worker));
  }
}

EchoServer::~EchoServer() = default;

tcp::endpoint EchoServer::local_endpoint() const { return workers_.front()->acceptor.local_endpoint(); }

void EchoServer::accept(Worker& worker) {
  worker.acceptor.async_accept([this, &worker](error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      worker.accept_retry.expires_after(kAcceptRetryDelay);
      worker.accept_retry.async_wait([this, &worker](error_code wait_ec) {
        if (!wait_ec) accept(worker);
      });
      return;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // echoes are small and latency-bound
    start_h1_echo_session(std::move(socket), options_);
    accept(worker);
  });
}

int EchoServer::run() {
  for (auto& worker : workers_) accept(*worker);

  // Stopping the io_contexts ends every worker at once; the sessions still open are destroyed with
  // them (their sockets close), which is all a test backend owes its peers on SIGTERM.
  asio::signal_set signals(workers_.front()->io, SIGINT, SIGTERM);
  signals.async_wait([this](error_code ec, int) {
    if (ec) return;
    for (auto& worker : workers_) worker->io.stop();
  });

  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < workers_.size(); ++i) {
    threads.emplace_back([&io = workers_[i]->io] { io.run(); });
  }
  workers_.front()->io.run();
  for (auto& thread : threads) thread.join();
  return 0;
}

}  // namespace wsgate::tools
