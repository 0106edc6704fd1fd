// Command-line options of wsgate-echo.
#include "tools/echo_options.hpp"

#include <charconv>
#include <optional>

namespace wsgate::tools {

namespace {

template <typename Number>
std::optional<Number> parse_number(std::string_view text, Number min, Number max) {
  Number value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  if (value < min || value > max) return std::nullopt;
  return value;
}

// "HOST:PORT" or "[V6]:PORT".
bool parse_listen(std::string_view text, EchoOptions& options, std::string& error) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = "--listen: expected [IPV6]:PORT, got '" + std::string(text) + "'";
      return false;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      error = "--listen: expected HOST:PORT (IPv6 as [ADDR]:PORT), got '" + std::string(text) + "'";
      return false;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  const auto port_number = parse_number<unsigned>(port, 0, 65535);
  if (host.empty() || !port_number) {
    error = "--listen: bad host or port in '" + std::string(text) + "'";
    return false;
  }
  options.listen_host = std::string(host);
  options.listen_port = static_cast<std::uint16_t>(*port_number);
  return true;
}

}  // namespace

std::string_view usage() {
  return "usage: wsgate-echo [options]\n"
         "RFC 6455 echo server for testing wsgate: echoes every frame as received.\n"
         "\n"
         "  --listen HOST:PORT      address to listen on (default 127.0.0.1:9000; port 0 = ephemeral;\n"
         "                          IPv6 as [::1]:PORT)\n"
         "  --threads N             worker threads, each with its own acceptor (default 1)\n"
         "  --subprotocol NAME      a supported subprotocol (repeatable); the first one the client\n"
         "                          offers that is supported is selected\n"
         "  --read-buffer-bytes N   per-connection read buffer (default 16384, 1024-16777216)\n"
         "  --no-deflate            decline permessage-deflate offers (RFC 7692)\n"
         "  --help                  this text\n"
         "\n"
         "On start prints 'wsgate-echo listening on ADDR:PORT'. Test hooks (request path/query):\n"
         "  /status/NNN  ?flood=BYTES  /headers  ?close_after_ms=N  ?drop_after_ms=N\n"
         "See docs/echo-backend.md.\n";
}

ParsedArgs parse_args(std::span<const std::string_view> args) {
  ParsedArgs parsed;
  auto fail = [&parsed](std::string message) {
    parsed.outcome = ParsedArgs::Outcome::kError;
    parsed.error = std::move(message);
    return parsed;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view name = args[i];
    std::optional<std::string_view> inline_value;
    if (const std::size_t eq = name.find('='); name.starts_with("--") && eq != std::string_view::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "--help" || name == "-h") {
      parsed.outcome = ParsedArgs::Outcome::kHelp;
      return parsed;
    }
    if (name == "--no-deflate" && !inline_value) {
      parsed.options.deflate = false;
      continue;
    }
    const bool takes_value =
        name == "--listen" || name == "--threads" || name == "--subprotocol" || name == "--read-buffer-bytes";
    if (!takes_value) return fail("unknown argument '" + std::string(args[i]) + "'");
    std::string_view value;
    if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return fail(std::string(name) + " needs a value");
    }

    if (name == "--listen") {
      std::string error;
      if (!parse_listen(value, parsed.options, error)) return fail(error);
    } else if (name == "--threads") {
      const auto threads = parse_number<unsigned>(value, 1, 256);
      if (!threads) return fail("--threads: expected 1-256, got '" + std::string(value) + "'");
      parsed.options.threads = *threads;
    } else if (name == "--subprotocol") {
      if (value.empty() || value.find_first_of(" \t,;\"") != std::string_view::npos) {
        return fail("--subprotocol: '" + std::string(value) + "' is not a token");
      }
      parsed.options.subprotocols.emplace_back(value);
    } else {
      const auto bytes = parse_number<std::size_t>(value, 1024, std::size_t{16} * 1024 * 1024);
      if (!bytes)
        return fail("--read-buffer-bytes: expected 1024-16777216, got '" + std::string(value) + "'");
      parsed.options.read_buffer_bytes = *bytes;
    }
  }
  return parsed;
}

}  // namespace wsgate::tools
