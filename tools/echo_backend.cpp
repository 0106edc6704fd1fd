// wsgate-echo: the RFC 6455 echo backend shipped beside the gateway, for tests and benchmarks.
// Usage and test hooks: docs/echo-backend.md.
#include <exception>
#include <iostream>
#include <string_view>
#include <vector>

#include "tools/echo_options.hpp"
#include "tools/echo_server.hpp"

namespace wsgate::tools {

namespace {

std::string format_endpoint(const boost::asio::ip::tcp::endpoint& endpoint) {
  const std::string address = endpoint.address().to_string();
  const std::string port = std::to_string(endpoint.port());
  return endpoint.address().is_v6() ? "[" + address + "]:" + port : address + ":" + port;
}

int echo_main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  const ParsedArgs parsed = parse_args(args);
  switch (parsed.outcome) {
    case ParsedArgs::Outcome::kHelp:
      std::cout << usage();
      return 0;
    case ParsedArgs::Outcome::kError:
      std::cerr << "wsgate-echo: " << parsed.error << " (see --help)\n";
      return 2;
    case ParsedArgs::Outcome::kRun:
      break;
  }
  try {
    EchoServer server(parsed.options);
    // The one line a test harness waits for; flushed so a pipe sees it at once.
    std::cout << "wsgate-echo listening on " << format_endpoint(server.local_endpoint()) << std::endl;
    return server.run();
  } catch (const std::exception& error) {
    std::cerr << "wsgate-echo: " << error.what() << "\n";
    return 2;
  }
}

}  // namespace

}  // namespace wsgate::tools

int main(int argc, char** argv) { return wsgate::tools::echo_main(argc, argv); }
