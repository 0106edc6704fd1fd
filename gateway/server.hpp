// Server: builds the run-time pieces from a Config (backends, listeners,
// workers), reloads on SIGHUP (and POST /-/reload, see reload.hpp), runs until
// SIGTERM/SIGINT, then drains gracefully.
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
  // `config_path`: the file reloads read again (empty: reloads are rejected).
  explicit Server(std::shared_ptr<const Config> config, std::string config_path = {});
  ~Server();

  // Blocks until shut down; returns the process exit code. Signals SIGTERM,
  // SIGINT and SIGHUP must be blocked in every thread before this is called
  // (main does that), so that only the wait here receives them.
  int run();

 private:
  std::shared_ptr<const Config> config_;
  std::string config_path_;
};

}  // namespace wsgate::gw
