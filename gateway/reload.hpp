// Live config reload (SIGHUP, POST /-/reload): loads the file the gateway was
// started with, validates it as --check-config does, resolves backends again,
// and swaps the new snapshot into every worker; adds and removes listeners.
// Running WebSockets keep the snapshot they started with (see docs/operations.md).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/listener.hpp"
#include "gateway/metrics.hpp"
#include "gateway/snapshot.hpp"
#include "gateway/worker.hpp"

namespace wsgate::gw {

struct ReloadOutcome {
  int status = 200;                        // as POST /-/reload answers: 200, 400 (bad file), 500, 503
  std::uint64_t generation = 0;            // the running snapshot's after the attempt
  std::vector<std::string> errors;         // why it was rejected (ConfigError::to_string() for the file)
  std::vector<std::string> changes;        // "route added: chat", "listener removed: extra", ...
  std::vector<std::string> needs_restart;  // settings that changed in the file but were kept
  std::vector<std::string> warnings;       // e.g. a backend name that did not resolve

  bool ok() const { return status == 200; }
  std::string to_json() const;
  std::string summary(std::string_view trigger) const;  // the log line
};

// The running listeners, each with one acceptor per worker, and the reload.
// Thread-safe: reload() may come from the signal thread and the admin thread.
class Reloader {
 public:
  Reloader(std::string config_path, std::shared_ptr<const Snapshot> snapshot,
           std::vector<std::unique_ptr<Worker>>& workers, Metrics& metrics);
  ~Reloader();
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  // Start-up: binds every listener of the snapshot (throws std::runtime_error
  // naming the listener), logs "listener NAME listening on ADDR".
  void bind_listeners();
  void start_accepting();
  // Shutdown: stops every acceptor; later reloads answer 503.
  void stop_accepting();
  // After the workers stopped, before they are destroyed: releases the acceptors
  // (they belong to the workers' io_contexts). The listener runtimes stay until
  // the Reloader goes, which must be after the workers (sessions refer to them).
  void release_acceptors();

  ReloadOutcome reload(std::string_view trigger);
  std::shared_ptr<const Snapshot> current() const;

 private:
  struct ListenerEntry;
  ListenerEntry make_listener(const std::shared_ptr<const Config>& owner, const ListenerConfig& config,
                              std::size_t label_index);
  void start(ListenerEntry& entry);

  std::string config_path_;
  std::vector<std::unique_ptr<Worker>>& workers_;
  Metrics& metrics_;
  mutable std::mutex mutex_;  // one reload at a time; guards the members below
  std::shared_ptr<const Snapshot> current_;
  std::vector<ListenerEntry> listeners_;  // running, in config order
  std::vector<ListenerEntry> retired_;    // removed by a reload: kept for the connections still on them
  bool stopped_ = false;
};

}  // namespace wsgate::gw
