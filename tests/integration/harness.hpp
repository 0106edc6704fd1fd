// Integration-test harness: runs real processes (wsgate, wsgate-echo) on ephemeral loopback ports,
// with their output in a per-test log, and every wait bounded by a timeout.
//
//   TempDir dir;                                   // removed at scope exit
//   EchoBackend echo;                              // wsgate-echo on 127.0.0.1:0, port parsed from its stdout
//   Gateway gw(format_template(R"(... port: ${ECHO_PORT} ...)", {{"ECHO_PORT",
//   std::to_string(echo.port())}})); WsClient client;                               //
//   tests/integration/ws_client.hpp client.connect("127.0.0.1", gw.port("main"));
//   ...
//   EXPECT_EQ(gw.stop(), 0);                       // SIGTERM, then the exit status
//
// Helpers throw std::runtime_error (with the process log attached) when a process fails to start;
// GoogleTest reports that as a test failure. A Process whose test failed prints its log tail to
// stderr when it is destroyed, so a failing test shows what the gateway said.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::test {

// Every wait in the harness and the client defaults to this bound.
inline constexpr std::chrono::milliseconds kDefaultTimeout{10'000};
// Poll step for log files and process state.
inline constexpr std::chrono::milliseconds kPollStep{10};

// Paths of the binaries under test: the WSGATE_BIN / WSGATE_ECHO_BIN environment variables if set
// (e.g. to run against a sanitizer build), else the paths CMake compiled in.
std::string wsgate_binary();
std::string echo_binary();

// Polls `condition` every kPollStep until it returns true or `timeout` passes; returns its last value.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = kDefaultTimeout);

// Replaces every "${NAME}" in `text` with vars.at(NAME); unknown names are left as they are.
// Handy for YAML configs that need ports known only at run time.
std::string format_template(std::string_view text, const std::map<std::string, std::string>& vars);

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction unless the
// WSGATE_KEEP_TEMP environment variable is set (then its path is printed, for post-mortems).
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "wsgate-it");
  ~TempDir();
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes (replaces) `name` inside the directory and returns its full path.
  std::filesystem::path write_file(std::string_view name, std::string_view content) const;

 private:
  std::filesystem::path path_;
};

// One child process. stdout and stderr both go (appended) to `log_path`. The child is killed with
// SIGKILL if the test process dies (PR_SET_PDEATHSIG) and by the destructor if still running.
class Process {
 public:
  // Starts argv[0] (a path; PATH is not searched) with `argv`. Throws std::runtime_error if the
  // log file cannot be created or fork fails; an exec failure shows up as exit status 127 with
  // the reason in the log.
  Process(std::vector<std::string> argv, std::filesystem::path log_path);
  ~Process();
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::vector<std::string>& argv() const { return argv_; }
  const std::filesystem::path& log_path() const { return log_path_; }

  // Waits until a line of the log matches `pattern` (std::regex_search) and returns the match
  // groups: [0] the whole match, [1..] the captures. Searches from byte `from_offset` of the log
  // (default: the start, so a line printed before the call is found too; pass log_size() taken
  // earlier to wait for a line printed after that point, e.g. after a SIGHUP). Returns nullopt on
  // timeout, or as soon as the process has exited without printing such a line.
  std::optional<std::vector<std::string>> wait_for_line(const std::regex& pattern,
                                                        std::chrono::milliseconds timeout = kDefaultTimeout,
                                                        std::size_t from_offset = 0);
  // Current size of the log in bytes (a mark for wait_for_line's from_offset).
  std::size_t log_size() const;
  // Number of log lines matching `pattern` right now.
  std::size_t count_lines(const std::regex& pattern) const;

  // Sends `signo` (SIGTERM, SIGHUP, ...). False if the process already exited and was reaped.
  bool send_signal(int signo);

  // Waits for the process to exit and reaps it. Returns its exit code, or 128 + the signal number
  // if a signal killed it (shell convention); nullopt if it is still running after `timeout`.
  // Once reaped, later calls return the same status at once.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = kDefaultTimeout);
  // True while the process has not exited (reaps it if it just did).
  bool running();

  // Resident set size from /proc/PID/status (VmRSS); nullopt if the process is gone.
  std::optional<std::size_t> rss_bytes() const;
  // Number of open file descriptors (entries of /proc/PID/fd); nullopt if the process is gone.
  std::optional<std::size_t> open_fd_count() const;

  // The whole log so far, or its last `max_bytes` bytes.
  std::string log_text() const;
  std::string log_tail(std::size_t max_bytes = 8192) const;
  // Prints the log tail to stderr, framed with the program name.
  void dump_log(std::size_t max_bytes = 8192) const;

  // SIGKILL and reap, if still running. Called by the destructor.
  void kill();

 private:
  void reap_if_exited(bool block);

  std::vector<std::string> argv_;
  std::filesystem::path log_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;  // set once reaped
};

// wsgate-echo on 127.0.0.1, port 0, with its own TempDir for the log.
struct EchoOptions {
  std::vector<std::string> subprotocols;  // one --subprotocol NAME each
  std::vector<std::string> extra_args;    // appended to the command line as is
  std::chrono::milliseconds start_timeout = kDefaultTimeout;
};

class EchoBackend {
 public:
  // Starts wsgate-echo and waits for "wsgate-echo listening on 127.0.0.1:PORT". Throws
  // std::runtime_error (with the log) if that line does not come within start_timeout.
  explicit EchoBackend(EchoOptions options = {});

  std::uint16_t port() const { return port_; }
  std::string host() const { return "127.0.0.1"; }
  // "127.0.0.1:PORT", as a gateway config wants it.
  std::string address() const { return host() + ":" + std::to_string(port_); }
  Process& process() { return process_; }
  const TempDir& dir() const { return dir_; }

  // SIGTERM, then the exit status (nullopt if it did not exit within `timeout`).
  std::optional<int> stop(std::chrono::milliseconds timeout = kDefaultTimeout);

 private:
  TempDir dir_;
  Process process_;
  std::uint16_t port_ = 0;
};

// wsgate with a YAML config written to its own TempDir.
struct GatewayOptions {
  std::vector<std::string> extra_args;  // appended after "--config FILE"
  // Wait for "wsgate: ready" in the constructor (and parse the listener ports). When false, the
  // constructor returns right after spawning: call wait_ready() yourself, or watch process().
  bool wait_ready = true;
  std::chrono::milliseconds start_timeout = kDefaultTimeout;
};

class Gateway {
 public:
  // Writes `yaml_config` to DIR/wsgate.yaml and starts `wsgate --config DIR/wsgate.yaml`. With
  // wait_ready, throws std::runtime_error (with the log) if "wsgate: ready" does not come.
  explicit Gateway(std::string_view yaml_config, GatewayOptions options = {});

  // Waits for "wsgate: ready" and records the ports of the listeners announced before it.
  // False on timeout or if the process exited.
  bool wait_ready(std::chrono::milliseconds timeout = kDefaultTimeout);

  // Port of listener `name` ("wsgate: listener NAME listening on 127.0.0.1:PORT"); throws
  // std::out_of_range for an unknown name. Without a name: the only/first listener announced.
  std::uint16_t port(std::string_view listener_name) const;
  std::uint16_t port() const;
  const std::map<std::string, std::uint16_t, std::less<>>& listener_ports() const { return listener_ports_; }
  // Port of the admin listener, if the config enabled it.
  std::optional<std::uint16_t> admin_port() const { return admin_port_; }

  Process& process() { return process_; }
  const TempDir& dir() const { return dir_; }
  const std::filesystem::path& config_path() const { return config_path_; }
  // Replaces the config file's content (e.g. before SIGHUP for a reload).
  void rewrite_config(std::string_view yaml_config) const;

  // SIGTERM (graceful drain), then the exit status (nullopt if it did not exit within `timeout`).
  std::optional<int> stop(std::chrono::milliseconds timeout = kDefaultTimeout);

  // Runs `wsgate --check-config FILE` on `yaml_config` and returns its exit status (0 valid,
  // 2 invalid; nullopt if it hung). If `output` is given it receives stdout+stderr.
  static std::optional<int> check_config(std::string_view yaml_config, std::string* output = nullptr,
                                         std::chrono::milliseconds timeout = kDefaultTimeout);

 private:
  TempDir dir_;
  std::filesystem::path config_path_;
  Process process_;
  std::map<std::string, std::uint16_t, std::less<>> listener_ports_;
  std::string first_listener_;
  std::optional<std::uint16_t> admin_port_;
};

}  // namespace wsgate::test
