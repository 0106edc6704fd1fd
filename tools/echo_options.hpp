// Command-line options of wsgate-echo and their parsing (usage in docs/echo-backend.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::tools {

struct EchoOptions {
  std::string listen_host = "127.0.0.1";                // numeric IPv4/IPv6 address or a resolvable name
  std::uint16_t listen_port = 9000;                     // 0 = ephemeral
  unsigned threads = 1;                                 // workers, each with its own io_context and acceptor
  std::vector<std::string> subprotocols;                // supported subprotocols (--subprotocol, repeatable)
  bool deflate = true;                                  // accept permessage-deflate offers (--no-deflate)
  std::size_t read_buffer_bytes = 16 * 1024;            // per connection; bounds the echo's memory
  std::size_t max_head_bytes = 64 * 1024;               // request head limit (431 beyond)
  std::chrono::milliseconds handshake_timeout{10'000};  // whole request head must arrive within this
  std::chrono::milliseconds close_timeout{5'000};       // wait for the peer's close / FIN this long
};

struct ParsedArgs {
  enum class Outcome { kRun, kHelp, kError };
  Outcome outcome = Outcome::kRun;
  EchoOptions options;
  std::string error;  // kError: one line saying what is wrong
};

// Parses argv (without argv[0]); `--name value` and `--name=value` both work.
ParsedArgs parse_args(std::span<const std::string_view> args);

std::string_view usage();

}  // namespace wsgate::tools
