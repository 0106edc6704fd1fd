// Server: builds the run-time pieces from a Config (backends, listeners,
// workers), runs until SIGTERM/SIGINT, then drains gracefully.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gateway/config.hpp"

namespace wsgate::gw {

// Config keys whose features are not built yet: "not supported yet" errors at
// the key's position. The gateway refuses to start while any remain.
std::vector<ConfigError> unsupported_features(const Config& config);

class Server {
 public:
  explicit Server(std::shared_ptr<const Config> config);
  ~Server();

  // Blocks until shut down; returns the process exit code. Signals SIGTERM,
  // SIGINT and SIGHUP must be blocked in every thread before this is called
  // (main does that), so that only the wait here receives them.
  int run();

 private:
  std::shared_ptr<const Config> config_;
};

}  // namespace wsgate::gw
