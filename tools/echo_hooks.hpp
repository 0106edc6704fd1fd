// The echo backend's test hooks, chosen by the request path and query (see docs/echo-backend.md),
// and the content they send. Shared by every front end (h1 now, RFC 8441 later).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "h1/message.hpp"

namespace wsgate::tools {

struct EchoHooks {
  std::optional<int> status;                             // GET /status/NNN: answer NNN, no upgrade
  bool send_headers = false;                             // path /headers: first message = request headers
  std::uint64_t flood_bytes = 0;                         // ?flood=BYTES: send this much first
  std::optional<std::chrono::milliseconds> close_after;  // ?close_after_ms=N: close 1000 "bye" after N ms
  std::optional<std::chrono::milliseconds> drop_after;   // ?drop_after_ms=N: drop TCP after N ms
};

struct HooksParseResult {
  EchoHooks hooks;
  std::string error;  // non-empty: the target names a hook with a bad value (answer 400)
};

// Reads the hooks from a request-target ("/status/401", "/x?flood=1000000&close_after_ms=50").
// Unknown paths and query parameters are ignored: they are a plain echo.
HooksParseResult parse_hooks(std::string_view target);

// The request headers as one JSON object: lower-cased names in order of first appearance, repeated
// headers joined with ", " (RFC 9110 §5.3), values escaped per RFC 8259 §7.
std::string headers_to_json(const h1::Headers& headers);

// ?flood sends binary messages of this size, the last one shorter.
constexpr std::size_t kFloodMessageBytes = 64 * 1024;

// Byte i of the flood stream is (i * 31 + 7) & 0xFF. The pattern repeats every 256 bytes, so every
// full message holds the same bytes: this one static buffer (a message starts at i % 256 == 0).
static_assert(kFloodMessageBytes % 256 == 0);
std::span<const std::uint8_t> flood_message();

}  // namespace wsgate::tools
