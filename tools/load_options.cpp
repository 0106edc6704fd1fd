// Command-line parsing of wsgate-load.
#include "tools/load_options.hpp"

#include <charconv>
#include <optional>

namespace wsgate::tools {

namespace {

template <typename Number>
std::optional<Number> parse_number(std::string_view text) {
  Number value{};
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

}  // namespace

std::string_view to_string(LoadMode mode) {
  switch (mode) {
    case LoadMode::kH1: return "h1";
    case LoadMode::kH2c: return "h2c";
    case LoadMode::kH2: return "h2";
  }
  return "?";
}

std::string_view to_string(LoadKind kind) {
  switch (kind) {
    case LoadKind::kEcho: return "echo";
    case LoadKind::kChurn: return "churn";
    case LoadKind::kIdle: return "idle";
  }
  return "?";
}

std::string_view load_usage() {
  return R"(usage: wsgate-load [options]
  --mode h1|h2c|h2        h1: one WebSocket per TCP connection (RFC 6455); h2c/h2: RFC 8441 over
                          cleartext HTTP/2 or TLS with ALPN h2 (certificate not verified)  [h1]
  --target HOST:PORT      where to connect                                           [127.0.0.1:8080]
  --authority NAME        Host / :authority                                          [HOST:PORT]
  --path PATH             request path                                               [/echo]
  --connections N         TCP connections                                            [1]
  --streams M             WebSockets per connection (h2c/h2)                         [1]
  --size BYTES            payload bytes per message (>= 0)                           [64]
  --binary | --text       message type; text payloads are ASCII                      [--binary]
  --closed-loop           each WebSocket sends its next message when the echo returns (default)
  --rate MSGS_PER_SEC     open loop at this total rate; latency from the intended send time
  --churn                 open a WebSocket, one echo, close it, repeat (h2: new streams on the
                          same connections); reports handshakes/s and handshake latency
  --idle                  open N x M WebSockets, hold them for the duration, send nothing
  --warmup SECONDS        not measured                                               [1]
  --duration SECONDS      measured                                                   [5]
  --max-seconds SECONDS   hard bound on the whole run                                [warmup+duration+30]
  --threads N             threads, each with its own share of the connections        [1]
  --connect-concurrency N connection attempts in flight per thread                   [256]
  --json                  print only the JSON result line
Exit code: 0 ok, 1 any error (echo mismatch, protocol error, unexpected close, refused handshake,
time bound hit), 2 bad arguments.
)";
}

ParsedLoadArgs parse_load_args(std::span<const std::string_view> args) {
  ParsedLoadArgs parsed;
  LoadOptions& o = parsed.options;
  const auto fail = [&parsed](std::string message) {
    parsed.outcome = ParsedLoadArgs::Outcome::kError;
    parsed.error = std::move(message);
    return parsed;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view name = args[i];
    std::optional<std::string_view> inline_value;
    if (const auto eq = name.find('='); name.starts_with("--") && eq != std::string_view::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const auto value = [&]() -> std::optional<std::string_view> {
      if (inline_value) return inline_value;
      if (i + 1 < args.size()) return args[++i];
      return std::nullopt;
    };
    const auto number = [&]<typename Number>(Number& out, Number min) -> bool {
      const auto text = value();
      if (!text) return false;
      const auto parsed_value = parse_number<Number>(*text);
      if (!parsed_value || *parsed_value < min) return false;
      out = *parsed_value;
      return true;
    };
    if (name == "--help" || name == "-h") {
      parsed.outcome = ParsedLoadArgs::Outcome::kHelp;
      return parsed;
    } else if (name == "--mode") {
      const auto text = value();
      if (text == "h1") o.mode = LoadMode::kH1;
      else if (text == "h2c") o.mode = LoadMode::kH2c;
      else if (text == "h2") o.mode = LoadMode::kH2;
      else return fail("--mode must be h1, h2c or h2");
    } else if (name == "--target") {
      const auto text = value();
      const auto colon = text ? text->rfind(':') : std::string_view::npos;
      if (colon == std::string_view::npos) return fail("--target must be HOST:PORT");
      std::string_view host = text->substr(0, colon);
      if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
      const auto port = parse_number<std::uint16_t>(text->substr(colon + 1));
      if (host.empty() || !port || *port == 0) return fail("--target must be HOST:PORT");
      o.host = std::string(host);
      o.port = *port;
    } else if (name == "--authority") {
      const auto text = value();
      if (!text || text->empty()) return fail("--authority needs a value");
      o.authority = std::string(*text);
    } else if (name == "--path") {
      const auto text = value();
      if (!text || !text->starts_with('/')) return fail("--path must start with /");
      o.path = std::string(*text);
    } else if (name == "--connections") {
      if (!number(o.connections, 1u)) return fail("--connections must be a positive integer");
    } else if (name == "--streams") {
      if (!number(o.streams, 1u)) return fail("--streams must be a positive integer");
    } else if (name == "--size") {
      if (!number(o.size_bytes, std::size_t{0})) return fail("--size must be a byte count");
    } else if (name == "--binary") {
      o.binary = true;
    } else if (name == "--text") {
      o.binary = false;
    } else if (name == "--closed-loop") {
      o.rate_per_second = 0;
    } else if (name == "--rate") {
      if (!number(o.rate_per_second, 0.0) || o.rate_per_second <= 0) return fail("--rate must be > 0");
    } else if (name == "--churn") {
      o.kind = LoadKind::kChurn;
    } else if (name == "--idle") {
      o.kind = LoadKind::kIdle;
    } else if (name == "--warmup") {
      if (!number(o.warmup_seconds, 0.0)) return fail("--warmup must be seconds >= 0");
    } else if (name == "--duration") {
      if (!number(o.duration_seconds, 0.0) || o.duration_seconds <= 0) return fail("--duration must be > 0");
    } else if (name == "--max-seconds") {
      if (!number(o.max_seconds, 0.0) || o.max_seconds <= 0) return fail("--max-seconds must be > 0");
    } else if (name == "--threads") {
      if (!number(o.threads, 1u)) return fail("--threads must be a positive integer");
    } else if (name == "--connect-concurrency") {
      if (!number(o.connect_concurrency, 1u)) return fail("--connect-concurrency must be a positive integer");
    } else if (name == "--json") {
      o.json_only = true;
    } else {
      return fail("unknown option '" + std::string(name) + "'");
    }
  }
  if (o.mode == LoadMode::kH1 && o.streams != 1) return fail("--streams applies to h2c/h2 only");
  if (o.kind == LoadKind::kChurn && o.rate_per_second > 0) return fail("--churn is closed loop");
  if (o.threads > o.connections) o.threads = o.connections;
  if (o.authority.empty()) o.authority = o.host + ":" + std::to_string(o.port);
  if (o.max_seconds == 0) o.max_seconds = o.warmup_seconds + o.duration_seconds + 30;
  return parsed;
}

}  // namespace wsgate::tools
