// Process metrics from /proc/self (Linux), in the names the Prometheus client
// libraries use: process_cpu_seconds_total, process_resident_memory_bytes, ...
#pragma once

#include <cstdint>
#include <optional>

namespace wsgate::gw {

struct ProcessStats {
  double cpu_seconds = 0;            // user + system CPU time
  std::uint64_t resident_bytes = 0;  // RSS
  std::uint64_t virtual_bytes = 0;   // VSZ
  std::uint64_t open_fds = 0;        // entries in /proc/self/fd
  std::uint64_t max_fds = 0;         // RLIMIT_NOFILE soft limit
  double start_time_seconds = 0;     // Unix time the process started
};

// nullopt when /proc is not readable (not Linux, or a restricted sandbox).
std::optional<ProcessStats> read_process_stats();

}  // namespace wsgate::gw
