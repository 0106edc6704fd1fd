// Loads and validates the wsgate YAML config (schema v1, docs/configuration.md) into a Config,
// collecting every error with its key path and line:column instead of stopping at the first.
#include "gateway/config.hpp"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <limits>
#include <set>

namespace wsgate::gw {

// ---------------------------------------------------------------------------------------------
// Small value parsers (public API).

namespace {

constexpr std::uint64_t kMaxWindowBytes = 2147483647;  // RFC 9113 §6.9.1: 2^31-1
constexpr std::uint64_t kMinFrameSize = 16384;         // RFC 9113 §6.5.2 SETTINGS_MAX_FRAME_SIZE
constexpr std::uint64_t kMaxFrameSize = 16777215;
constexpr std::uint64_t kMinBufferPerDirection = 4096;
constexpr unsigned kMaxWorkers = 1024;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Parses a run of decimal digits at the front of `text`; advances `text` past them.
std::optional<std::uint64_t> take_number(std::string_view& text) {
  std::size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits])) ++digits;
  if (digits == 0) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, value);
  if (ec != std::errc{} || end != text.data() + digits) return std::nullopt;
  text.remove_prefix(digits);
  return value;
}

std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return std::nullopt;
  return a * b;
}

// RFC 9110 §5.6.2 token characters (used for subprotocol names).
bool is_token(std::string_view text) {
  if (text.empty()) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return is_digit(c) || is_alpha(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool is_hostname(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  return std::all_of(host.begin(), host.end(),
                     [](char c) { return is_digit(c) || is_alpha(c) || c == '-' || c == '.' || c == '_'; });
}

bool is_ipv6_literal(std::string_view host) {
  std::string addr(host.substr(0, host.find('%')));
  if (addr.size() != host.size() && addr.size() + 1 == host.size()) return false;  // empty zone
  in6_addr out{};
  return inet_pton(AF_INET6, addr.c_str(), &out) == 1;
}

}  // namespace

std::optional<Millis> parse_duration(std::string_view text) {
  if (text == "0") return Millis{0};
  if (text.empty()) return std::nullopt;
  // One or more <integer><unit> parts, largest unit first or not: "1h30m", "90s", "250ms".
  std::uint64_t total_ms = 0;
  while (!text.empty()) {
    auto number = take_number(text);
    if (!number) return std::nullopt;
    std::uint64_t unit_ms = 0;
    if (text.starts_with("ms")) {
      unit_ms = 1;
      text.remove_prefix(2);
    } else if (text.starts_with("s")) {
      unit_ms = 1000;
      text.remove_prefix(1);
    } else if (text.starts_with("m")) {
      unit_ms = std::uint64_t{60} * 1000;
      text.remove_prefix(1);
    } else if (text.starts_with("h")) {
      unit_ms = std::uint64_t{60} * 60 * 1000;
      text.remove_prefix(1);
    } else {
      return std::nullopt;  // missing or unknown unit
    }
    auto part = checked_mul(*number, unit_ms);
    if (!part || *part > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) - total_ms)
      return std::nullopt;
    total_ms += *part;
  }
  return Millis{static_cast<Millis::rep>(total_ms)};
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  auto number = take_number(text);
  if (!number) return std::nullopt;
  static constexpr std::pair<std::string_view, std::uint64_t> kUnits[] = {
      {"", 1},
      {"B", 1},
      {"KiB", 1ull << 10},
      {"MiB", 1ull << 20},
      {"GiB", 1ull << 30},
      {"KB", 1000},
      {"MB", 1000 * 1000},
      {"GB", 1000 * 1000 * 1000},
  };
  for (const auto& [unit, factor] : kUnits) {
    if (text == unit) return checked_mul(*number, factor);
  }
  return std::nullopt;
}

std::optional<HostPort> parse_host_port(std::string_view text) {
  HostPort result;
  std::string_view port_text;
  if (text.starts_with("[")) {
    auto close = text.find(']');
    if (close == std::string_view::npos || text.substr(close + 1, 1) != ":") return std::nullopt;
    auto host = text.substr(1, close - 1);
    if (!is_ipv6_literal(host)) return std::nullopt;
    result.host = std::string(host);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto host = text.substr(0, colon);
    // An unbracketed IPv6 literal is ambiguous ("::1:80"); hostnames never hold a colon.
    if (!is_hostname(host)) return std::nullopt;
    result.host = std::string(host);
    port_text = text.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5) return std::nullopt;
  std::string_view rest = port_text;
  auto port = take_number(rest);
  if (!port || !rest.empty() || *port > 65535) return std::nullopt;
  result.port = static_cast<std::uint16_t>(*port);
  return result;
}

std::string HostPort::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string ConfigError::to_string() const {
  std::string out;
  if (!key_path.empty()) out = key_path + ": ";
  out += message;
  if (!file.empty() || mark.line > 0) {
    out += " (" + file;
    if (mark.line > 0) out += ":" + std::to_string(mark.line) + ":" + std::to_string(mark.column);
    out += ")";
  }
  return out;
}

const BackendConfig* Config::find_backend(std::string_view name) const {
  for (const auto& backend : backends) {
    if (backend.name == name) return &backend;
  }
  return nullptr;
}

ConfigError Config::error_at(const std::string& key_path, std::string message) const {
  ConfigError error{key_path, std::move(message), source_name, {}};
  std::string path = key_path;
  while (!path.empty()) {
    if (auto it = marks.find(path); it != marks.end()) {
      error.mark = it->second;
      break;
    }
    // Step to the parent: "a.b[2].c" -> "a.b[2]" -> "a.b" -> "a".
    auto cut = path.find_last_of(".[");
    path.resize(cut == std::string::npos ? 0 : cut);
  }
  return error;
}

// ---------------------------------------------------------------------------------------------
// The loader: walks the YAML tree along the schema, recording values, marks and errors.

namespace {

SourceMark to_source_mark(const YAML::Mark& mark) {
  if (mark.is_null()) return {};
  return {mark.line + 1, mark.column + 1};
}

// Optimal string alignment distance, for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The closest candidate within a few edits, or nullopt.
std::optional<std::string> suggest(std::string_view word, const std::vector<std::string>& candidates) {
  if (word.size() > 64) return std::nullopt;  // keeps the O(n*m) distance cheap on hostile input
  std::string lower = lowercase(word);
  std::size_t limit = std::max<std::size_t>(1, std::min<std::size_t>(3, word.size() / 3));
  std::optional<std::string> best;
  std::size_t best_distance = limit + 1;
  for (const auto& candidate : candidates) {
    std::size_t distance = edit_distance(lower, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  auto best = suggest(word, candidates);
  return best ? " (did you mean \"" + *best + "\"?)" : std::string();
}

std::string quoted(std::string_view text) {
  constexpr std::size_t kMaxShown = 80;
  std::string out = "\"";
  for (char c : text.substr(0, kMaxShown)) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out += c;
    }
  }
  if (text.size() > kMaxShown) out += "...";
  return out + "\"";
}

std::string index_path(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

std::string child_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

class Loader;

// Keys of routes[] that route_defaults may set too.
const std::vector<std::string> kRouteOptionKeys{"allowed_origins", "subprotocols",   "require_subprotocol",
                                                "keepalive",       "idle_timeout",   "max_message_bytes",
                                                "max_frame_bytes", "max_websockets", "handshake_timeout",
                                                "close_timeout",   "compression",    "validate",
                                                "deflate"};

// Thrown inside the loader when a budget below runs out; caught in load_config_string.
struct LoadStopped {};
constexpr std::size_t kMaxErrors = 100;
constexpr std::size_t kMaxValues = 100000;

// One YAML map checked against the keys its schema knows; unknown and repeated keys are
// reported when it is opened, known ones are fetched with get().
class MapView {
 public:
  MapView(Loader& loader, const YAML::Node& node, std::string path, std::vector<std::string> known);
  // The value of `key` if present; records its mark under the child key path.
  std::optional<YAML::Node> get(std::string_view key);
  std::string path_of(std::string_view key) const { return child_path(path_, key); }
  const std::string& path() const { return path_; }
  SourceMark mark() const { return mark_; }

 private:
  struct Entry {
    std::string key;
    YAML::Node value;
    SourceMark value_mark;
  };
  Loader& loader_;
  std::string path_;
  SourceMark mark_;
  std::vector<Entry> entries_;
};

class Loader {
 public:
  Loader(Config& config, std::vector<ConfigError>& errors) : config_(config), errors_(errors) {}

  void load(const YAML::Node& root);

  void error(const std::string& path, SourceMark mark, std::string message) {
    if (errors_.size() >= kMaxErrors) {
      errors_.push_back(
          {"", "too many errors; stopped after " + std::to_string(kMaxErrors), config_.source_name, mark});
      throw LoadStopped{};
    }
    errors_.push_back({path, std::move(message), config_.source_name, mark});
  }
  void error(const std::string& path, const YAML::Node& node, std::string message) {
    error(path, mark_of(path, node), std::move(message));
  }
  void record_mark(const std::string& path, SourceMark mark) {
    // Aliases let a small file name the same big list many times over; bound the work.
    if (++values_read_ > kMaxValues) {
      errors_.push_back({"", "config too large: more than " + std::to_string(kMaxValues) + " values",
                         config_.source_name, mark});
      throw LoadStopped{};
    }
    config_.marks[path] = mark;
  }
  // The mark of a value; an empty value ("key:") has no useful mark of its own, so use its key's.
  SourceMark mark_of(const std::string& path, const YAML::Node& node) const {
    if (auto it = config_.marks.find(path); it != config_.marks.end()) return it->second;
    return to_source_mark(node.Mark());
  }

 private:
  std::optional<MapView> open_map(const YAML::Node& node, const std::string& path,
                                  std::vector<std::string> known) {
    if (!node.IsMap()) {
      error(path, node, "expected a map");
      return std::nullopt;
    }
    return MapView(*this, node, path, std::move(known));
  }

  // Typed readers: each reports its own error and returns nullopt when the value is unusable.
  std::optional<std::string> scalar(const YAML::Node& node, const std::string& path, const char* expected) {
    if (!node.IsScalar()) {
      error(path, node, std::string("expected ") + expected);
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<std::string> string(const YAML::Node& node, const std::string& path) {
    auto text = scalar(node, path, "a string");
    if (text && text->empty()) {
      error(path, node, "must not be empty");
      return std::nullopt;
    }
    return text;
  }

  std::optional<std::string> name(const YAML::Node& node, const std::string& path) {
    auto text = string(node, path);
    if (!text) return std::nullopt;
    bool ok = text->size() <= 64 && std::all_of(text->begin(), text->end(), [](char c) {
                return is_digit(c) || is_alpha(c) || c == '-' || c == '_' || c == '.';
              });
    if (!ok) {
      error(path, node, "invalid name " + quoted(*text) + " (use up to 64 of A-Z a-z 0-9 - _ .)");
      return std::nullopt;
    }
    return text;
  }

  std::optional<std::uint64_t> integer(const YAML::Node& node, const std::string& path, std::uint64_t min,
                                       std::uint64_t max) {
    auto text = scalar(node, path, "an integer");
    if (!text) return std::nullopt;
    std::string_view rest = *text;
    auto value = take_number(rest);
    if (!value || !rest.empty()) {
      error(path, node, "expected an integer, got " + quoted(*text));
      return std::nullopt;
    }
    if (*value < min || *value > max) {
      error(path, node, "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return std::nullopt;
    }
    return value;
  }

  std::optional<Millis> duration(const YAML::Node& node, const std::string& path) {
    auto text = scalar(node, path, "a duration like 30s");
    if (!text) return std::nullopt;
    auto value = parse_duration(*text);
    if (!value) {
      std::string_view rest = *text;
      bool bare_number = take_number(rest).has_value() && rest.empty();
      error(path, node,
            bare_number
                ? "missing unit in " + quoted(*text) + " (expected a duration like 30s, 250ms, 10m, 1h)"
                : "expected a duration like 30s, got " + quoted(*text));
    }
    return value;
  }

  std::optional<std::uint64_t> size(const YAML::Node& node, const std::string& path, std::uint64_t min,
                                    std::uint64_t max) {
    auto text = scalar(node, path, "a size like 64KiB");
    if (!text) return std::nullopt;
    auto value = parse_size(*text);
    if (!value) {
      error(path, node, "expected a size like 64KiB, got " + quoted(*text));
      return std::nullopt;
    }
    if (*value < min || *value > max) {
      error(path, node,
            max == std::numeric_limits<std::uint64_t>::max()
                ? "must be at least " + std::to_string(min) + " bytes"
                : "must be between " + std::to_string(min) + " and " + std::to_string(max) + " bytes");
      return std::nullopt;
    }
    return value;
  }

  std::optional<bool> boolean(const YAML::Node& node, const std::string& path) {
    auto text = scalar(node, path, "true or false");
    if (!text) return std::nullopt;
    if (*text == "true" || *text == "True" || *text == "TRUE") return true;
    if (*text == "false" || *text == "False" || *text == "FALSE") return false;
    error(path, node, "expected true or false, got " + quoted(*text));
    return std::nullopt;
  }

  std::optional<HostPort> host_port(const YAML::Node& node, const std::string& path, bool allow_port_zero) {
    auto text = scalar(node, path, "host:port like 127.0.0.1:8080");
    if (!text) return std::nullopt;
    auto value = parse_host_port(*text);
    if (!value) {
      error(path, node, "expected host:port like 127.0.0.1:8080 or [::1]:8080, got " + quoted(*text));
      return std::nullopt;
    }
    if (!allow_port_zero && value->port == 0) {
      error(path, node, "port 0 is not allowed here");
      return std::nullopt;
    }
    return value;
  }

  // A one-of-the-listed-words value; returns the index into `choices`.
  std::optional<std::size_t> choice(const YAML::Node& node, const std::string& path,
                                    const std::vector<std::string>& choices) {
    std::string expected;
    for (const auto& word : choices) expected += (expected.empty() ? "" : " | ") + word;
    auto text = scalar(node, path, ("one of " + expected).c_str());
    if (!text) return std::nullopt;
    auto it = std::find(choices.begin(), choices.end(), *text);
    if (it == choices.end()) {
      error(path, node,
            "expected one of " + expected + ", got " + quoted(*text) + did_you_mean(*text, choices));
      return std::nullopt;
    }
    return static_cast<std::size_t>(it - choices.begin());
  }

  // A list whose items are checked by `item(node, path)`; records each item's mark.
  template <class ItemFn>
  void list(const YAML::Node& node, const std::string& path, ItemFn&& item) {
    if (!node.IsSequence()) {
      error(path, node, "expected a list");
      return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const YAML::Node element = node[i];
      std::string element_path = index_path(path, i);
      record_mark(element_path, to_source_mark(element.Mark()));
      item(element, element_path);
    }
  }

  std::vector<std::string> string_list(const YAML::Node& node, const std::string& path) {
    std::vector<std::string> out;
    list(node, path, [&](const YAML::Node& element, const std::string& element_path) {
      if (auto text = string(element, element_path)) out.push_back(*text);
    });
    return out;
  }

  // The required, well-formed, not yet used `name` of a listener, route or backend.
  std::optional<std::string> unique_name(MapView& m, const char* kind, std::set<std::string>& seen) {
    auto v = m.get("name");
    auto path = m.path_of("name");
    if (!v) {
      error(path, m.mark(), "required key missing");
      return std::nullopt;
    }
    auto text = name(*v, path);
    if (text && !seen.insert(*text).second) {
      error(path, *v, std::string("duplicate ") + kind + " name " + quoted(*text));
      return std::nullopt;
    }
    return text;
  }

  void load_top(MapView& top);
  void load_listener(const YAML::Node& node, const std::string& path);
  void load_admin(const YAML::Node& node, const std::string& path);
  void load_http2(const YAML::Node& node, const std::string& path);
  void load_limits(const YAML::Node& node, const std::string& path);
  void load_access_log(const YAML::Node& node, const std::string& path);
  void load_route(const YAML::Node& node, const std::string& path);
  void load_route_defaults(const YAML::Node& node, const std::string& path);
  void load_route_options(MapView& m, RouteConfig& route);
  void load_deflate(const YAML::Node& node, const std::string& path, DeflateConfig& deflate);
  void load_keepalive(const YAML::Node& node, const std::string& path, KeepaliveConfig& out,
                      std::vector<std::string> extra_keys, const std::function<void(MapView&)>& extra);
  void load_backend(const YAML::Node& node, const std::string& path);
  void check_cross_references();

  Config& config_;
  std::vector<ConfigError>& errors_;
  std::vector<std::string> route_backend_paths_;  // key path of routes[i].backend, parallel to routes
  std::set<std::string> listener_names_;          // every name seen, also of entries with errors
  std::set<std::string> route_names_;
  RouteConfig route_defaults_;  // every route starts as a copy of these (top-level route_defaults)
  std::set<std::string> backend_names_;
  std::map<std::string, std::string> listener_addresses_;  // fixed "host:port" -> listener name
  std::size_t values_read_ = 0;                            // against kMaxValues
};

MapView::MapView(Loader& loader, const YAML::Node& node, std::string path, std::vector<std::string> known)
    : loader_(loader), path_(std::move(path)), mark_(to_source_mark(node.Mark())) {
  std::map<std::string, SourceMark> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    SourceMark key_mark = to_source_mark(key.Mark());
    if (!key.IsScalar()) {
      loader_.error(path_, key_mark, "expected a plain string key");
      continue;
    }
    const std::string& key_text = key.Scalar();
    std::string key_path = child_path(path_, key_text);
    if (std::find(known.begin(), known.end(), key_text) == known.end()) {
      loader_.error(key_path, key_mark, "unknown key" + did_you_mean(key_text, known));
      continue;
    }
    if (auto [first, inserted] = seen.emplace(key_text, key_mark); !inserted) {
      loader_.error(key_path, key_mark,
                    "duplicate key (first set at line " + std::to_string(first->second.line) + ")");
      continue;
    }
    entries_.push_back({key_text, value, value.IsNull() ? key_mark : to_source_mark(value.Mark())});
  }
}

std::optional<YAML::Node> MapView::get(std::string_view key) {
  for (const auto& entry : entries_) {
    if (entry.key == key) {
      loader_.record_mark(path_of(key), entry.value_mark);
      return entry.value;
    }
  }
  return std::nullopt;
}

void Loader::load(const YAML::Node& root) {
  if (root.IsNull()) {
    error("", SourceMark{1, 1}, "the config is empty; expected a map with listeners, routes and backends");
    return;
  }
  auto top = open_map(root, "",
                      {"workers", "drain_timeout", "listeners", "admin", "http2", "limits", "access_log",
                       "route_defaults", "routes", "backends"});
  if (!top) return;
  load_top(*top);
  check_cross_references();
}

void Loader::load_top(MapView& top) {
  if (auto v = top.get("workers")) {
    auto path = top.path_of("workers");
    if (v->IsScalar() && v->Scalar() == "auto") {
      config_.workers = 0;
    } else if (!v->IsScalar()) {
      error(path, *v, "expected a positive integer or \"auto\"");
    } else if (auto n = integer(*v, path, 1, kMaxWorkers)) {
      config_.workers = static_cast<unsigned>(*n);
    }
  }
  if (auto v = top.get("drain_timeout")) {
    if (auto d = duration(*v, top.path_of("drain_timeout"))) config_.drain_timeout = *d;
  }
  if (auto v = top.get("listeners")) {
    list(*v, top.path_of("listeners"),
         [&](const YAML::Node& n, const std::string& p) { load_listener(n, p); });
    if (v->IsSequence() && v->size() == 0) error("listeners", *v, "at least one listener is required");
  } else {
    error("listeners", top.mark(), "at least one listener is required");
  }
  if (auto v = top.get("admin")) load_admin(*v, top.path_of("admin"));
  if (auto v = top.get("http2")) load_http2(*v, top.path_of("http2"));
  if (auto v = top.get("limits")) load_limits(*v, top.path_of("limits"));
  if (auto v = top.get("access_log")) load_access_log(*v, top.path_of("access_log"));
  // Read before routes, wherever it sits in the file: routes start from these values.
  if (auto v = top.get("route_defaults")) load_route_defaults(*v, top.path_of("route_defaults"));
  if (auto v = top.get("routes")) {
    list(*v, top.path_of("routes"), [&](const YAML::Node& n, const std::string& p) { load_route(n, p); });
    if (v->IsSequence() && v->size() == 0) error("routes", *v, "at least one route is required");
  } else {
    error("routes", top.mark(), "at least one route is required");
  }
  if (auto v = top.get("backends")) {
    list(*v, top.path_of("backends"), [&](const YAML::Node& n, const std::string& p) { load_backend(n, p); });
  }
}

void Loader::load_listener(const YAML::Node& node, const std::string& path) {
  auto m = open_map(node, path,
                    {"name", "address", "tls", "protocols", "max_connections", "max_streams_per_connection"});
  if (!m) return;
  ListenerConfig listener;
  bool ok = true;
  auto name_value = unique_name(*m, "listener", listener_names_);
  ok = name_value.has_value();
  if (name_value) listener.name = *name_value;
  if (auto v = m->get("address")) {
    auto address = host_port(*v, m->path_of("address"), true);
    if (address) {
      listener.address = *address;
      // Port 0 asks the kernel for a fresh port each time, so only fixed ports can clash.
      if (address->port != 0) {
        auto [other, inserted] = listener_addresses_.emplace(address->to_string(), listener.name);
        if (!inserted) {
          error(m->path_of("address"), *v,
                "address " + address->to_string() + " is already used by listener " + quoted(other->second));
        }
      }
    }
    ok = ok && address.has_value();
  } else {
    error(m->path_of("address"), m->mark(), "required key missing");
    ok = false;
  }
  if (auto v = m->get("tls")) {
    if (auto tls = open_map(*v, m->path_of("tls"), {"cert", "key"})) {
      ListenerTls files;
      bool complete = true;
      for (auto [key, out] : {std::pair{"cert", &files.cert_file}, std::pair{"key", &files.key_file}}) {
        if (auto f = tls->get(key)) {
          auto text = string(*f, tls->path_of(key));
          if (text) *out = *text;
          complete = complete && text.has_value();
        } else {
          error(tls->path_of(key), tls->mark(), "required key missing (tls needs cert and key)");
          complete = false;
        }
      }
      if (complete) listener.tls = files;
    }
    // Even when the tls block is broken, judge protocols as for a TLS listener.
    if (!listener.tls) listener.tls = ListenerTls{};
  }
  const bool has_tls = listener.tls.has_value();
  if (auto v = m->get("protocols")) {
    auto path_protocols = m->path_of("protocols");
    std::vector<std::string> protocols;
    list(*v, path_protocols, [&](const YAML::Node& n, const std::string& p) {
      auto index = choice(n, p, {"h2", "h2c", "http/1.1"});
      if (!index) return;
      std::string protocol = std::vector<std::string>{"h2", "h2c", "http/1.1"}[*index];
      if (std::find(protocols.begin(), protocols.end(), protocol) != protocols.end()) {
        error(p, n, "duplicate protocol " + quoted(protocol));
      } else if (protocol == "h2" && !has_tls) {
        error(p, n, "h2 needs tls; a cleartext listener offers h2c (prior knowledge)");
      } else if (protocol == "h2c" && has_tls) {
        error(p, n, "h2c is cleartext only; a tls listener offers h2 through ALPN");
      } else {
        protocols.push_back(protocol);
      }
    });
    if (v->IsSequence() && v->size() == 0) error(path_protocols, *v, "at least one protocol is required");
    listener.protocols = protocols;
  } else {
    listener.protocols = {has_tls ? "h2" : "h2c", "http/1.1"};
  }
  if (auto v = m->get("max_connections")) {
    if (auto n = integer(*v, m->path_of("max_connections"), 1, std::numeric_limits<std::uint32_t>::max()))
      listener.max_connections = *n;
  }
  if (auto v = m->get("max_streams_per_connection")) {
    if (auto n = integer(*v, m->path_of("max_streams_per_connection"), 1,
                         std::numeric_limits<std::uint32_t>::max()))
      listener.max_streams_per_connection = static_cast<std::uint32_t>(*n);
  }
  if (ok) config_.listeners.push_back(std::move(listener));
}

void Loader::load_admin(const YAML::Node& node, const std::string& path) {
  auto m = open_map(node, path, {"address", "enabled"});
  if (!m) return;
  if (auto v = m->get("address")) {
    if (auto address = host_port(*v, m->path_of("address"), true)) config_.admin.address = *address;
  }
  if (auto v = m->get("enabled")) {
    if (auto b = boolean(*v, m->path_of("enabled"))) config_.admin.enabled = *b;
  }
}

void Loader::load_http2(const YAML::Node& node, const std::string& path) {
  auto m = open_map(node, path,
                    {"max_concurrent_streams", "initial_stream_window", "initial_connection_window",
                     "max_header_list_size", "max_frame_size"});
  if (!m) return;
  auto& h2 = config_.http2;
  constexpr std::uint64_t kU32 = std::numeric_limits<std::uint32_t>::max();
  if (auto v = m->get("max_concurrent_streams")) {
    if (auto n = integer(*v, m->path_of("max_concurrent_streams"), 1, kU32))
      h2.max_concurrent_streams = static_cast<std::uint32_t>(*n);
  }
  struct SizeField {
    const char* key;
    std::uint32_t* out;
    std::uint64_t min;
    std::uint64_t max;
  };
  for (const auto& field :
       {SizeField{"initial_stream_window", &h2.initial_stream_window, 1, kMaxWindowBytes},
        SizeField{"initial_connection_window", &h2.initial_connection_window, 1, kMaxWindowBytes},
        SizeField{"max_header_list_size", &h2.max_header_list_size, 1, kU32},
        SizeField{"max_frame_size", &h2.max_frame_size, kMinFrameSize, kMaxFrameSize}}) {
    if (auto v = m->get(field.key)) {
      if (auto n = size(*v, m->path_of(field.key), field.min, field.max))
        *field.out = static_cast<std::uint32_t>(*n);
    }
  }
}

void Loader::load_limits(const YAML::Node& node, const std::string& path) {
  auto m = open_map(node, path,
                    {"header_read_timeout", "max_request_head", "buffer_per_direction", "close_timeout",
                     "write_stall_timeout"});
  if (!m) return;
  auto& limits = config_.limits;
  constexpr std::uint64_t kU64 = std::numeric_limits<std::uint64_t>::max();
  if (auto v = m->get("header_read_timeout")) {
    auto p = m->path_of("header_read_timeout");
    if (auto d = duration(*v, p)) {
      if (d->count() == 0) {
        error(p, *v, "must be greater than 0");
      } else {
        limits.header_read_timeout = *d;
      }
    }
  }
  if (auto v = m->get("max_request_head")) {
    if (auto n = size(*v, m->path_of("max_request_head"), 1, kU64)) limits.max_request_head = *n;
  }
  if (auto v = m->get("buffer_per_direction")) {
    if (auto n = size(*v, m->path_of("buffer_per_direction"), kMinBufferPerDirection, kU64))
      limits.buffer_per_direction = *n;
  }
  if (auto v = m->get("write_stall_timeout")) {
    if (auto d = duration(*v, m->path_of("write_stall_timeout"))) limits.write_stall_timeout = *d;
  }
  if (auto v = m->get("close_timeout")) {
    if (auto d = duration(*v, m->path_of("close_timeout"))) limits.close_timeout = *d;
  }
}

void Loader::load_access_log(const YAML::Node& node, const std::string& path) {
  auto m = open_map(node, path, {"path", "format"});
  if (!m) return;
  if (auto v = m->get("path")) {
    if (auto text = string(*v, m->path_of("path"))) config_.access_log.path = *text;
  }
  if (auto v = m->get("format")) {
    if (choice(*v, m->path_of("format"), {"json"})) config_.access_log.format = "json";
  }
}

void Loader::load_route(const YAML::Node& node, const std::string& path) {
  std::vector<std::string> keys{"name", "match", "backend", "static"};
  keys.insert(keys.end(), kRouteOptionKeys.begin(), kRouteOptionKeys.end());
  auto m = open_map(node, path, std::move(keys));
  if (!m) return;
  RouteConfig route = route_defaults_;
  bool ok = true;
  auto name_value = unique_name(*m, "route", route_names_);
  ok = name_value.has_value();
  if (name_value) route.name = *name_value;
  if (auto v = m->get("match")) {
    if (auto match = open_map(*v, m->path_of("match"), {"host", "path", "path_prefix", "subprotocol"})) {
      if (auto h = match->get("host")) {
        auto p = match->path_of("host");
        if (auto host = string(*h, p)) {
          std::string_view bare = *host;
          if (bare.starts_with("*.")) bare.remove_prefix(2);
          if (!is_hostname(bare) || bare.starts_with(".") || bare.find('*') != std::string_view::npos) {
            error(p, *h, "expected a host name like chat.example.com or *.example.com, got " + quoted(*host));
            ok = false;
          } else {
            route.host = lowercase(*host);  // host names compare case-insensitively (RFC 9110 §4.2.3)
          }
        }
      }
      for (auto [key, out] : {std::pair{"path", &route.path}, std::pair{"path_prefix", &route.path_prefix}}) {
        if (auto v2 = match->get(key)) {
          auto p = match->path_of(key);
          if (auto text = string(*v2, p)) {
            if (!text->starts_with("/")) {
              error(p, *v2, "must start with \"/\"");
              ok = false;
            } else {
              *out = *text;
            }
          }
        }
      }
      if (auto v2 = match->get("subprotocol")) {
        auto p = match->path_of("subprotocol");
        if (auto text = string(*v2, p)) {
          if (!is_token(*text)) {
            error(p, *v2, "a subprotocol must be a token (RFC 6455 §4.1), got " + quoted(*text));
            ok = false;
          } else {
            route.subprotocol = *text;
          }
        }
      }
      if (route.path && route.path_prefix) {
        error(match->path_of("path_prefix"), config_.marks[match->path_of("path_prefix")],
              "set either path or path_prefix, not both");
        ok = false;
      }
    }
  }
  if (!route.path && !route.path_prefix) route.path_prefix = "/";
  if (auto v = m->get("backend")) {
    auto p = m->path_of("backend");
    auto backend = string(*v, p);
    if (backend) route.backend = *backend;
    ok = ok && backend.has_value();
  } else {
    error(m->path_of("backend"), m->mark(), "required key missing");
    ok = false;
  }
  load_route_options(*m, route);
  if (auto v = m->get("static")) {
    if (auto text = string(*v, m->path_of("static"))) route.static_dir = *text;
  }
  // Either may come from route_defaults: checked on the route as loaded.
  if (route.compression == Compression::kTerminate && route.validate == Validate::kOff) {
    const std::string p = m->path_of("compression");
    error(p, config_.error_at(p, "").mark,
          "compression: terminate parses every frame; it cannot be combined with validate: off");
  }
  if (ok) {
    config_.routes.push_back(std::move(route));
    route_backend_paths_.push_back(m->path_of("backend"));
  }
}

void Loader::load_route_defaults(const YAML::Node& node, const std::string& path) {
  std::vector<std::string> keys(kRouteOptionKeys.begin(), kRouteOptionKeys.end());
  auto m = open_map(node, path, std::move(keys));
  if (!m) return;
  load_route_options(*m, route_defaults_);
}

// The WebSocket options a route shares with route_defaults.
void Loader::load_route_options(MapView& m, RouteConfig& route) {
  if (auto v = m.get("allowed_origins"))
    route.allowed_origins = string_list(*v, m.path_of("allowed_origins"));
  if (auto v = m.get("subprotocols")) {
    list(*v, m.path_of("subprotocols"), [&](const YAML::Node& n, const std::string& p) {
      auto text = string(n, p);
      if (!text) return;
      if (!is_token(*text)) {
        error(p, n, "a subprotocol must be a token (RFC 6455 §4.1), got " + quoted(*text));
      } else {
        route.subprotocols.push_back(*text);
      }
    });
  }
  if (auto v = m.get("keepalive")) {
    load_keepalive(*v, m.path_of("keepalive"), route.keepalive, {"backend", "peer_pings"}, [&](MapView& k) {
      if (auto b = k.get("backend"))
        load_keepalive(*b, k.path_of("backend"), route.backend_keepalive, {}, {});
      if (auto pp = k.get("peer_pings")) {
        static const PeerPings kValues[] = {PeerPings::kForward, PeerPings::kAnswer};
        if (auto i = choice(*pp, k.path_of("peer_pings"), {"forward", "answer"}))
          route.peer_pings = kValues[*i];
      }
    });
  }
  if (auto v = m.get("idle_timeout")) {
    if (auto d = duration(*v, m.path_of("idle_timeout"))) route.idle_timeout = *d;
  }
  if (auto v = m.get("require_subprotocol")) {
    if (auto b = boolean(*v, m.path_of("require_subprotocol"))) route.require_subprotocol = *b;
  }
  if (auto v = m.get("max_frame_bytes")) {
    if (auto n = size(*v, m.path_of("max_frame_bytes"), 0, std::numeric_limits<std::uint64_t>::max()))
      route.max_frame_bytes = *n;
  }
  if (auto v = m.get("max_websockets")) {
    if (auto n = integer(*v, m.path_of("max_websockets"), 0, std::numeric_limits<std::uint32_t>::max()))
      route.max_websockets = *n;
  }
  for (auto [key, out] : {std::pair{"handshake_timeout", &route.handshake_timeout},
                          std::pair{"close_timeout", &route.close_timeout}}) {
    if (auto v = m.get(key)) {
      if (auto d = duration(*v, m.path_of(key))) *out = *d;
    }
  }
  if (auto v = m.get("max_message_bytes")) {
    if (auto n = size(*v, m.path_of("max_message_bytes"), 0, std::numeric_limits<std::uint64_t>::max()))
      route.max_message_bytes = *n;
  }
  if (auto v = m.get("compression")) {
    static const Compression kValues[] = {Compression::kPassthrough, Compression::kOff,
                                          Compression::kTerminate};
    if (auto i = choice(*v, m.path_of("compression"), {"passthrough", "off", "terminate"}))
      route.compression = kValues[*i];
  }
  if (auto v = m.get("validate")) {
    static const Validate kValues[] = {Validate::kOff, Validate::kFrames, Validate::kFull};
    if (auto i = choice(*v, m.path_of("validate"), {"off", "frames", "full"})) route.validate = kValues[*i];
  }
  // permessage-deflate termination options (compression: terminate).
  if (auto v = m.get("deflate")) load_deflate(*v, m.path_of("deflate"), route.deflate);
}

// {interval, timeout} plus `extra_keys`, read by `extra`.
void Loader::load_keepalive(const YAML::Node& node, const std::string& path, KeepaliveConfig& out,
                            std::vector<std::string> extra_keys, const std::function<void(MapView&)>& extra) {
  std::vector<std::string> keys{"interval", "timeout"};
  keys.insert(keys.end(), extra_keys.begin(), extra_keys.end());
  auto keepalive = open_map(node, path, std::move(keys));
  if (!keepalive) return;
  bool interval_ok = true;
  if (auto i = keepalive->get("interval")) {
    auto d = duration(*i, keepalive->path_of("interval"));
    if (d) out.interval = *d;
    interval_ok = d.has_value();
  }
  if (auto t = keepalive->get("timeout")) {
    auto p = keepalive->path_of("timeout");
    if (auto d = duration(*t, p)) {
      out.timeout = *d;
      if (interval_ok && d->count() > 0 && out.interval.count() == 0) {
        error(p, *t, "a keepalive timeout needs a non-zero interval");
      }
    }
  }
  if (extra) extra(*keepalive);
}

void Loader::load_deflate(const YAML::Node& node, const std::string& path, DeflateConfig& deflate) {
  auto m = open_map(node, path,
                    {"server_max_window_bits", "client_max_window_bits", "server_no_context_takeover",
                     "client_no_context_takeover", "max_inflated_message_bytes", "min_message_bytes", "level",
                     "mem_level"});
  if (!m) return;
  struct IntField {
    const char* key;
    int* out;
    std::uint64_t min;
    std::uint64_t max;
  };
  for (const auto& field : {IntField{"server_max_window_bits", &deflate.server_max_window_bits, 8, 15},
                            IntField{"client_max_window_bits", &deflate.client_max_window_bits, 8, 15},
                            IntField{"level", &deflate.level, 1, 9},
                            IntField{"mem_level", &deflate.mem_level, 1, 9}}) {
    if (auto v = m->get(field.key)) {
      if (auto n = integer(*v, m->path_of(field.key), field.min, field.max)) *field.out = static_cast<int>(*n);
    }
  }
  for (auto [key, out] : {std::pair{"server_no_context_takeover", &deflate.server_no_context_takeover},
                          std::pair{"client_no_context_takeover", &deflate.client_no_context_takeover}}) {
    if (auto v = m->get(key)) {
      if (auto b = boolean(*v, m->path_of(key))) *out = *b;
    }
  }
  constexpr std::uint64_t kU64 = std::numeric_limits<std::uint64_t>::max();
  if (auto v = m->get("max_inflated_message_bytes")) {
    if (auto n = size(*v, m->path_of("max_inflated_message_bytes"), 1, kU64)) deflate.max_inflated_message_bytes = *n;
  }
  if (auto v = m->get("min_message_bytes")) {
    if (auto n = size(*v, m->path_of("min_message_bytes"), 0, kU64)) deflate.min_message_bytes = *n;
  }
}

void Loader::load_backend(const YAML::Node& node, const std::string& path) {
  auto m =
      open_map(node, path, {"name", "endpoints", "protocol", "connect_timeout", "handshake_timeout", "tls"});
  if (!m) return;
  BackendConfig backend;
  bool ok = true;
  auto name_value = unique_name(*m, "backend", backend_names_);
  ok = name_value.has_value();
  if (name_value) backend.name = *name_value;
  if (auto v = m->get("endpoints")) {
    auto p = m->path_of("endpoints");
    list(*v, p, [&](const YAML::Node& n, const std::string& item_path) {
      if (auto endpoint = host_port(n, item_path, false)) backend.endpoints.push_back(*endpoint);
    });
    if (v->IsSequence() && v->size() == 0) error(p, *v, "at least one endpoint is required");
  } else {
    error(m->path_of("endpoints"), m->mark(), "required key missing");
  }
  if (auto v = m->get("protocol")) {
    static const BackendProtocol kValues[] = {BackendProtocol::kHttp1, BackendProtocol::kH2,
                                              BackendProtocol::kAuto};
    if (auto i = choice(*v, m->path_of("protocol"), {"http/1.1", "h2", "auto"}))
      backend.protocol = kValues[*i];
  }
  if (auto v = m->get("connect_timeout")) {
    if (auto d = duration(*v, m->path_of("connect_timeout"))) backend.connect_timeout = *d;
  }
  if (auto v = m->get("handshake_timeout")) {
    if (auto d = duration(*v, m->path_of("handshake_timeout"))) backend.handshake_timeout = *d;
  }
  if (auto v = m->get("tls")) {
    if (auto tls = open_map(*v, m->path_of("tls"), {"sni", "ca", "verify"})) {
      BackendTls settings;
      if (auto s = tls->get("sni")) settings.sni = string(*s, tls->path_of("sni"));
      if (auto c = tls->get("ca")) settings.ca_file = string(*c, tls->path_of("ca"));
      if (auto b = tls->get("verify")) {
        if (auto verify = boolean(*b, tls->path_of("verify"))) settings.verify = *verify;
      }
      backend.tls = settings;
    }
  }
  // A backend whose name is bad is dropped; routes naming it then report no second error.
  if (ok) config_.backends.push_back(std::move(backend));
}

void Loader::check_cross_references() {
  std::set<std::string> defined;
  for (const auto& backend : config_.backends) defined.insert(backend.name);
  std::vector<std::string> backend_names(defined.begin(), defined.end());
  for (std::size_t i = 0; i < config_.routes.size(); ++i) {
    const auto& route = config_.routes[i];
    if (defined.count(route.backend) != 0) continue;
    const auto& path = route_backend_paths_[i];
    error(path, config_.marks[path],
          "unknown backend " + quoted(route.backend) + did_you_mean(route.backend, backend_names));
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Entry points: never let an exception escape; every failure becomes a ConfigError.

namespace {
// The 1-based line of a "---" (or content after a "...") that starts a second
// YAML document, if any: a document marker seen after content or after "...".
std::optional<int> second_document_line(std::string_view text) {
  bool content = false;
  bool ended = false;
  int line_number = 0;
  while (!text.empty()) {
    ++line_number;
    std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool start_marker =
        line.starts_with("---") && (line.size() == 3 || line[3] == ' ' || line[3] == '\t');
    const bool end_marker =
        line.starts_with("...") && (line.size() == 3 || line[3] == ' ' || line[3] == '\t');
    if (start_marker) {
      if (content || ended) return line_number;
      content = line.find_first_not_of(" \t", 3) != std::string_view::npos;  // "--- value"
      continue;
    }
    if (end_marker) {
      ended = true;
      continue;
    }
    std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#' || (line[first] == '%' && !content)) continue;
    if (ended) return line_number;
    content = true;
  }
  return std::nullopt;
}
}  // namespace

ConfigLoadResult load_config_string(std::string_view yaml_text, std::string source_name) {
  const std::string file = std::move(source_name);
  ConfigLoadResult result;
  bool stopped = false;
  try {
    auto config = std::make_shared<Config>();
    config->source_name = file;
    // One document only. YAML::LoadAll is not used: on some malformed inputs
    // (",\x1c", found by the fuzzer) yaml-cpp 0.7 yields empty documents without
    // end and memory grows until the process dies. The first document is parsed
    // with YAML::Load; a document marker after content means a second one.
    if (auto second = second_document_line(yaml_text)) {
      result.errors.push_back(
          {"", "expected one YAML document; a second one starts here", file, SourceMark{*second, 1}});
      return result;
    }
    YAML::Node document;
    try {
      document = YAML::Load(std::string(yaml_text));
    } catch (const YAML::Exception& e) {
      result.errors.push_back({"", "YAML syntax error: " + e.msg, file, to_source_mark(e.mark)});
      return result;
    }
    Loader loader(*config, result.errors);
    try {
      loader.load(document);
    } catch (const LoadStopped&) {
      stopped = true;  // the reason is already the last error
    }
    if (result.errors.empty()) result.config = std::move(config);
  } catch (const std::exception& e) {
    result.errors.push_back(
        {"", std::string("internal error while loading the config: ") + e.what(), file, {}});
  } catch (...) {
    result.errors.push_back({"", "internal error while loading the config", file, {}});
  }
  if (!result.errors.empty()) result.config.reset();
  // Report in file order, whatever order the checks ran in; a "stopped" note stays last.
  auto sort_end = stopped ? result.errors.end() - 1 : result.errors.end();
  std::stable_sort(result.errors.begin(), sort_end, [](const ConfigError& a, const ConfigError& b) {
    return std::pair(a.mark.line, a.mark.column) < std::pair(b.mark.line, b.mark.column);
  });
  return result;
}

ConfigLoadResult load_config_file(const std::string& path) {
  ConfigLoadResult failed;
  auto fail = [&](int error_number) {
    failed.errors.push_back(
        {"", "cannot read config file: " + std::string(std::strerror(error_number)), path, {}});
    return failed;
  };
  try {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!file) return fail(errno);
    std::string text;
    char chunk[16 * 1024];
    while (std::size_t n = std::fread(chunk, 1, sizeof chunk, file.get())) text.append(chunk, n);
    if (std::ferror(file.get())) return fail(errno != 0 ? errno : EIO);
    return load_config_string(text, path);
  } catch (...) {
    return fail(ENOMEM);
  }
}

}  // namespace wsgate::gw
