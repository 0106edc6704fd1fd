// wsgate entry point: command line, config loading, and the server run.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>

#include "gateway/config.hpp"
#include "gateway/log.hpp"
#include "gateway/server.hpp"

namespace {

constexpr const char* kUsage =
    "usage: wsgate [--config FILE]          run the gateway (default /etc/wsgate/wsgate.yaml)\n"
    "       wsgate --check-config FILE      validate FILE: prints OK or the errors; exit 0 or 2\n"
    "       wsgate --version | --help\n";

int check_config(const std::string& path, bool verbose_ok) {
  auto result = wsgate::gw::load_config_file(path);
  std::vector<wsgate::gw::ConfigError> errors = result.errors;
  if (result.config) {
    auto unsupported = wsgate::gw::unsupported_features(*result.config);
    errors.insert(errors.end(), unsupported.begin(), unsupported.end());
  }
  if (!errors.empty()) {
    for (const auto& e : errors) std::cerr << e.to_string() << "\n";
    std::cerr << path << ": " << errors.size() << (errors.size() == 1 ? " error\n" : " errors\n");
    return 2;
  }
  if (verbose_ok) std::cout << path << ": OK\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = "/etc/wsgate/wsgate.yaml";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (arg == "--version") {
      std::cout << "wsgate " << WSGATE_VERSION << "\n";
      return 0;
    }
    if ((arg == "--check-config" || arg == "--config" || arg == "-c") && i + 1 < argc) {
      std::string value = argv[++i];
      if (arg == "--check-config") return check_config(value, true);
      config_path = value;
      continue;
    }
    std::cerr << "wsgate: unknown or incomplete argument \"" << arg << "\"\n" << kUsage;
    return 2;
  }

  if (int rc = check_config(config_path, false); rc != 0) return rc;
  auto loaded = wsgate::gw::load_config_file(config_path);

  // Signals are taken synchronously by the server's main thread; block them
  // before any worker thread starts so no worker receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  try {
    wsgate::gw::Server server(loaded.config, config_path);
    return server.run();
  } catch (const std::exception& e) {
    wsgate::gw::log_line(std::string("error: ") + e.what());
    return 2;
  }
}
