// Command-line options of wsgate-load, the WebSocket load generator (usage in docs/benchmark.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace wsgate::tools {

enum class LoadMode { kH1, kH2c, kH2 };  // RFC 6455 over TCP; RFC 8441 over h2c; RFC 8441 over TLS (ALPN h2)
enum class LoadKind { kEcho, kChurn, kIdle };

struct LoadOptions {
  LoadMode mode = LoadMode::kH1;
  LoadKind kind = LoadKind::kEcho;
  std::string host = "127.0.0.1";  // --target HOST:PORT
  std::uint16_t port = 8080;
  std::string authority;           // Host / :authority; empty = HOST:PORT
  std::string path = "/echo";
  unsigned connections = 1;
  unsigned streams = 1;             // WebSockets per connection (h2 only; h1 is always 1)
  std::size_t size_bytes = 64;      // payload bytes per message
  bool binary = true;
  double rate_per_second = 0;       // 0 = closed loop; else open loop at this total rate
  double warmup_seconds = 1;
  double duration_seconds = 5;
  double max_seconds = 0;           // 0 = warmup + duration + 30
  unsigned threads = 1;
  unsigned connect_concurrency = 256;  // connection attempts in flight per thread
  bool json_only = false;
};

struct ParsedLoadArgs {
  enum class Outcome { kRun, kHelp, kError };
  Outcome outcome = Outcome::kRun;
  LoadOptions options;
  std::string error;  // kError: one line saying what is wrong
};

// Parses argv (without argv[0]); `--name value` and `--name=value` both work.
ParsedLoadArgs parse_load_args(std::span<const std::string_view> args);

std::string_view load_usage();
std::string_view to_string(LoadMode mode);
std::string_view to_string(LoadKind kind);

}  // namespace wsgate::tools
