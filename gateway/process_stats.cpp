// Reads /proc/self/stat, /proc/stat and /proc/self/fd; see process_stats.hpp.
#include "gateway/process_stats.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace wsgate::gw {

namespace {

std::optional<std::string> read_text(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Seconds since the epoch at boot, from the "btime" line of /proc/stat.
std::optional<double> boot_time_seconds() {
  auto text = read_text("/proc/stat");
  if (!text) return std::nullopt;
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("btime ", 0) == 0) return std::strtod(line.c_str() + 6, nullptr);
  }
  return std::nullopt;
}

std::uint64_t count_open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  std::uint64_t count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  // The descriptor opendir itself holds is not one of ours.
  return count > 0 ? count - 1 : 0;
}

}  // namespace

std::optional<ProcessStats> read_process_stats() {
  auto stat = read_text("/proc/self/stat");
  if (!stat) return std::nullopt;
  // proc(5): "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so split after the last ')'.
  auto close_paren = stat->rfind(')');
  if (close_paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat->substr(close_paren + 1));
  std::vector<std::string> rest{std::istream_iterator<std::string>(fields),
                                std::istream_iterator<std::string>()};
  // rest[0] is field 3 (state): field N is rest[N - 3].
  constexpr std::size_t kUtime = 14 - 3, kStime = 15 - 3, kStarttime = 22 - 3, kVsize = 23 - 3, kRss = 24 - 3;
  if (rest.size() <= kRss) return std::nullopt;

  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const long page_size = ::sysconf(_SC_PAGESIZE);
  ProcessStats s;
  s.cpu_seconds =
      (std::strtod(rest[kUtime].c_str(), nullptr) + std::strtod(rest[kStime].c_str(), nullptr)) / ticks;
  s.virtual_bytes = std::strtoull(rest[kVsize].c_str(), nullptr, 10);
  s.resident_bytes = std::strtoull(rest[kRss].c_str(), nullptr, 10) * static_cast<std::uint64_t>(page_size);
  if (auto boot = boot_time_seconds())
    s.start_time_seconds = *boot + std::strtod(rest[kStarttime].c_str(), nullptr) / ticks;
  s.open_fds = count_open_fds();
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) s.max_fds = limit.rlim_cur;
  return s;
}

}  // namespace wsgate::gw
