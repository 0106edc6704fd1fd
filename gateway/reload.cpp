// Live config reload; see reload.hpp.
#include "gateway/reload.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <stdexcept>

#include "gateway/access_log.hpp"
#include "gateway/log.hpp"
#include "gateway/server.hpp"

namespace wsgate::gw {

struct Reloader::ListenerEntry {
  std::shared_ptr<const Config> owner;  // keeps *runtime->config alive
  std::unique_ptr<ListenerRuntime> runtime;
  std::vector<std::shared_ptr<Acceptor>> acceptors;  // one per worker
};

namespace {

std::string endpoint_text(const boost::asio::ip::tcp::endpoint& ep) {
  if (ep.address().is_v6()) return "[" + ep.address().to_string() + "]:" + std::to_string(ep.port());
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

// What identifies a listener across reloads: the same name, address, TLS files and
// protocols keep their sockets and connections; anything else is removed + added.
bool same_listener(const ListenerConfig& a, const ListenerConfig& b) {
  bool same_tls = a.tls.has_value() == b.tls.has_value() &&
                  (!a.tls || (a.tls->cert_file == b.tls->cert_file && a.tls->key_file == b.tls->key_file));
  return a.name == b.name && a.address.host == b.address.host && a.address.port == b.address.port &&
         same_tls && a.protocols == b.protocols;
}

bool same_route(const RouteConfig& a, const RouteConfig& b) {
  return a.host == b.host && a.path == b.path && a.path_prefix == b.path_prefix && a.backend == b.backend &&
         a.allowed_origins == b.allowed_origins && a.subprotocols == b.subprotocols &&
         a.max_message_bytes == b.max_message_bytes && a.compression == b.compression &&
         a.validate == b.validate && a.static_dir == b.static_dir;
}

// Settings that cannot change while running: the file's value is reported and the running one kept.
void keep_running_settings(const Config& running, Config& next, std::vector<std::string>& needs_restart) {
  if (next.workers != running.workers) needs_restart.push_back("workers");
  next.workers = running.workers;
  if (next.admin.enabled != running.admin.enabled || next.admin.address.host != running.admin.address.host ||
      next.admin.address.port != running.admin.address.port) {
    needs_restart.push_back("admin");
  }
  next.admin = running.admin;
  if (next.access_log.path != running.access_log.path ||
      next.access_log.format != running.access_log.format) {
    needs_restart.push_back("access_log");
  }
  next.access_log = running.access_log;
}

template <typename Item>
const Item* find_named(const std::vector<Item>& items, const std::string& name) {
  auto it = std::find_if(items.begin(), items.end(), [&](const Item& i) { return i.name == name; });
  return it == items.end() ? nullptr : &*it;
}

void json_list(std::string& out, std::string_view key, const std::vector<std::string>& items) {
  out += ",";
  append_json_string(out, key);
  out += ":[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ",";
    append_json_string(out, items[i]);
  }
  out += "]";
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : "; ") + i;
  return out;
}

}  // namespace

std::string ReloadOutcome::to_json() const {
  std::string out = "{\"result\":";
  out += ok() ? "\"success\"" : "\"failure\"";
  out += ",\"generation\":" + std::to_string(generation);
  if (!ok()) json_list(out, "errors", errors);
  json_list(out, "changes", changes);
  json_list(out, "needs_restart", needs_restart);
  json_list(out, "warnings", warnings);
  out += "}\n";
  return out;
}

std::string ReloadOutcome::summary(std::string_view trigger) const {
  std::string out = "config reload (" + std::string(trigger) + "): ";
  if (!ok()) {
    return out + "rejected, keeping generation " + std::to_string(generation) + ": " + joined(errors);
  }
  out += "success, generation " + std::to_string(generation);
  out += changes.empty() ? ", no changes" : ": " + joined(changes);
  if (!needs_restart.empty()) out += "; needs restart (kept running values): " + joined(needs_restart);
  if (!warnings.empty()) out += "; warnings: " + joined(warnings);
  return out;
}

Reloader::Reloader(std::string config_path, std::shared_ptr<const Snapshot> snapshot,
                   std::vector<std::unique_ptr<Worker>>& workers, Metrics& metrics)
    : config_path_(std::move(config_path)),
      workers_(workers),
      metrics_(metrics),
      current_(std::move(snapshot)) {}

Reloader::~Reloader() = default;

std::shared_ptr<const Snapshot> Reloader::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

Reloader::ListenerEntry Reloader::make_listener(const std::shared_ptr<const Config>& owner,
                                                const ListenerConfig& lc, std::size_t label_index) {
  ListenerEntry entry;
  entry.owner = owner;
  entry.runtime = std::make_unique<ListenerRuntime>();
  ListenerRuntime& rt = *entry.runtime;
  rt.config = &lc;
  rt.index = label_index;
  auto offers = [&](std::string_view p) {
    return std::find(lc.protocols.begin(), lc.protocols.end(), p) != lc.protocols.end();
  };
  rt.h2 = lc.tls && offers("h2");
  rt.h2c = !lc.tls && offers("h2c");
  if (lc.tls) rt.tls = make_listener_tls(lc, rt.h2);
  for (auto& w : workers_) entry.acceptors.push_back(std::make_shared<Acceptor>(*w, rt));
  return entry;
}

void Reloader::start(ListenerEntry& entry) {
  for (auto& a : entry.acceptors) a->start();
  log_line("listener " + entry.runtime->config->name + " listening on " +
           endpoint_text(entry.runtime->bound) + (entry.runtime->tls ? " (tls)" : ""));
}

void Reloader::bind_listeners() {
  std::lock_guard lock(mutex_);
  const auto& config = current_->config;
  for (std::size_t i = 0; i < config->listeners.size(); ++i) {
    listeners_.push_back(make_listener(config, config->listeners[i], current_->ids.listeners[i]));
  }
}

void Reloader::start_accepting() {
  std::lock_guard lock(mutex_);
  for (auto& entry : listeners_) start(entry);
}

void Reloader::stop_accepting() {
  std::lock_guard lock(mutex_);
  stopped_ = true;
  for (auto& entry : listeners_) {
    for (auto& a : entry.acceptors) a->stop();
  }
}

void Reloader::release_acceptors() {
  std::lock_guard lock(mutex_);
  for (auto& entry : listeners_) entry.acceptors.clear();
}

ReloadOutcome Reloader::reload(std::string_view trigger) {
  std::lock_guard lock(mutex_);
  ReloadOutcome out;
  out.generation = current_->generation;
  auto reject = [&](int status) {
    out.status = status;
    metrics_.record_reload(false);
    log_line(out.summary(trigger));
    return out;
  };
  if (stopped_) {
    out.status = 503;
    out.errors.push_back("shutting down");
    log_line(out.summary(trigger));
    return out;
  }

  // The same checks as --check-config (see main.cpp).
  ConfigLoadResult loaded = load_config_file(config_path_);
  std::vector<ConfigError> errors = loaded.errors;
  if (loaded.config) {
    auto unsupported = unsupported_features(*loaded.config);
    errors.insert(errors.end(), unsupported.begin(), unsupported.end());
  }
  for (const auto& e : errors) out.errors.push_back(e.to_string());
  if (!errors.empty()) return reject(400);

  const Snapshot& running = *current_;
  auto next_config = std::make_shared<Config>(*loaded.config);
  keep_running_settings(*running.config, *next_config, out.needs_restart);
  std::shared_ptr<const Snapshot> next;
  try {
    next = build_snapshot(next_config, running.generation + 1, &metrics_, out.warnings);
  } catch (const std::exception& e) {
    out.errors.push_back(e.what());
    return reject(400);
  }
  const Config& config = *next->config;

  // Listeners: keep the same ones, bind the new ones (before anything changes, so a port
  // in use rejects the whole reload), remove the rest.
  constexpr std::size_t kFresh = static_cast<std::size_t>(-1);
  std::vector<std::size_t> plan;  // per listener of the new config: index in listeners_, or kFresh
  std::vector<ListenerEntry> fresh;
  std::vector<bool> kept(listeners_.size(), false);
  try {
    for (std::size_t i = 0; i < config.listeners.size(); ++i) {
      const ListenerConfig& lc = config.listeners[i];
      std::size_t same = kFresh;
      for (std::size_t k = 0; k < listeners_.size() && same == kFresh; ++k) {
        if (!kept[k] && same_listener(*listeners_[k].runtime->config, lc)) same = k;
      }
      plan.push_back(same);
      if (same != kFresh) {
        kept[same] = true;
        if (listeners_[same].runtime->config->max_connections != lc.max_connections) {
          out.needs_restart.push_back("listeners." + lc.name + ".max_connections");
        }
      } else {
        fresh.push_back(make_listener(next->config, lc, next->ids.listeners[i]));
        out.changes.push_back("listener added: " + lc.name);
      }
    }
  } catch (const std::exception& e) {
    out.errors.push_back(e.what());  // the fresh acceptors close their sockets as they go
    return reject(500);
  }
  Retirement retire;
  retire.generation = next->generation;
  retire.drain = config.drain_timeout;
  std::vector<ListenerEntry> removed;
  for (std::size_t i = 0; i < listeners_.size(); ++i) {
    if (kept[i]) continue;
    retire.listeners.push_back(listeners_[i].runtime.get());
    out.changes.push_back("listener removed: " + listeners_[i].runtime->config->name);
    removed.push_back(std::move(listeners_[i]));
  }

  // Backends: WebSockets to a removed one, or to one whose endpoints changed, are retired.
  for (const BackendRuntime& before : running.backends) {
    auto after = std::find_if(next->backends.begin(), next->backends.end(),
                              [&](const BackendRuntime& b) { return b.config->name == before.config->name; });
    if (after == next->backends.end()) {
      retire.backends.push_back(before.config->name);
      out.changes.push_back("backend removed: " + before.config->name);
    } else if (backend_changed(before, *after)) {
      retire.backends.push_back(before.config->name);
      retire.changed_backend_ids.push_back(after->index);
      out.changes.push_back("backend changed: " + before.config->name);
    }
  }
  for (const BackendRuntime& b : next->backends) {
    if (find_named(running.config->backends, b.config->name) == nullptr) {
      out.changes.push_back("backend added: " + b.config->name);
    }
  }
  for (const RouteConfig& r : config.routes) {
    const RouteConfig* before = find_named(running.config->routes, r.name);
    if (before == nullptr) {
      out.changes.push_back("route added: " + r.name);
    } else if (!same_route(*before, r)) {
      out.changes.push_back("route changed: " + r.name);
    }
  }
  for (const RouteConfig& r : running.config->routes) {
    if (find_named(config.routes, r.name) == nullptr) out.changes.push_back("route removed: " + r.name);
  }

  // Commit: new acceptors first, then the snapshot, then the removed acceptors stop
  // (no moment without an acceptor on a kept address).
  for (auto& entry : fresh) start(entry);
  for (const BackendRuntime& b : next->backends) {
    // Health shown for unchanged backends stays what the workers' pickers last reported.
    const bool added = find_named(running.config->backends, b.config->name) == nullptr;
    const bool changed = std::find(retire.changed_backend_ids.begin(), retire.changed_backend_ids.end(),
                                   b.index) != retire.changed_backend_ids.end();
    if (!added && !changed) continue;
    std::vector<std::string> labels;
    for (const auto& e : b.endpoints) labels.push_back(e.label);
    metrics_.set_backend_endpoints(b.index, std::move(labels));
  }
  for (auto& w : workers_) w->publish(next, retire);
  for (auto& entry : removed) {
    for (auto& a : entry.acceptors) a->stop();
    entry.acceptors.clear();
    retired_.push_back(std::move(entry));
  }
  std::vector<ListenerEntry> running_listeners;
  std::size_t next_fresh = 0;
  for (std::size_t k : plan) {
    running_listeners.push_back(k == kFresh ? std::move(fresh[next_fresh++]) : std::move(listeners_[k]));
  }
  listeners_ = std::move(running_listeners);
  current_ = next;
  out.generation = next->generation;
  metrics_.record_reload(true);
  log_line(out.summary(trigger));
  return out;
}

}  // namespace wsgate::gw
