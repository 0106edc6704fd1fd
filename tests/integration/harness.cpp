// Integration-test harness: child processes, temp dirs, and the wsgate / wsgate-echo launchers.
#include "tests/integration/harness.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

namespace wsgate::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return (value != nullptr && *value != '\0') ? value : fallback;
}

std::string read_file(const std::filesystem::path& path, std::size_t from_offset = 0) {
  std::ifstream in(path, std::ios::binary);
  if (from_offset > 0) in.seekg(static_cast<std::streamoff>(from_offset));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Splits into lines; a trailing line without '\n' is left out while the writer may still be
// writing it, unless `include_partial`.
std::vector<std::string_view> split_lines(std::string_view text, bool include_partial) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      if (include_partial) lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::optional<std::vector<std::string>> find_line(std::string_view text, const std::regex& pattern,
                                                  bool include_partial) {
  for (std::string_view line : split_lines(text, include_partial)) {
    std::match_results<std::string_view::const_iterator> match;
    if (std::regex_search(line.begin(), line.end(), match, pattern)) {
      std::vector<std::string> groups;
      groups.reserve(match.size());
      for (const auto& group : match) groups.emplace_back(group.str());
      return groups;
    }
  }
  return std::nullopt;
}

// Tests open hundreds of sockets; children inherit the raised limit too.
void raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

std::uint16_t parse_port(const std::string& text) { return static_cast<std::uint16_t>(std::stoul(text)); }

std::runtime_error start_failure(const std::string& what, const Process& process) {
  return std::runtime_error(what + " (" + process.argv().front() + "); log tail:\n" + process.log_tail(4096));
}

}  // namespace

std::string wsgate_binary() { return env_or("WSGATE_BIN", WSGATE_BIN); }
std::string echo_binary() { return env_or("WSGATE_ECHO_BIN", WSGATE_ECHO_BIN); }

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollStep);
  }
}

std::string format_template(std::string_view text, const std::map<std::string, std::string>& vars) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t open = text.find("${", pos);
    if (open == std::string_view::npos) break;
    const std::size_t close = text.find('}', open + 2);
    if (close == std::string_view::npos) break;
    out.append(text.substr(pos, open - pos));
    const auto it = vars.find(std::string(text.substr(open + 2, close - open - 2)));
    out.append(it != vars.end() ? std::string_view(it->second) : text.substr(open, close + 1 - open));
    pos = close + 1;
  }
  out.append(text.substr(pos));
  return out;
}

// ---- TempDir ----

TempDir::TempDir(std::string_view prefix) {
  const std::filesystem::path base = env_or("TMPDIR", "/tmp");
  std::string templ = (base / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + templ);
  }
  path_ = templ;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  if (std::getenv("WSGATE_KEEP_TEMP") != nullptr) {
    std::cerr << "harness: keeping " << path_.string() << " (WSGATE_KEEP_TEMP)" << std::endl;
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    TempDir doomed(std::move(*this));
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

std::filesystem::path TempDir::write_file(std::string_view name, std::string_view content) const {
  const std::filesystem::path file = path_ / name;
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + file.string());
  return file;
}

// ---- Process ----

Process::Process(std::vector<std::string> argv, std::filesystem::path log_path)
    : argv_(std::move(argv)), log_path_(std::move(log_path)) {
  if (argv_.empty()) throw std::invalid_argument("Process: empty argv");
  raise_fd_limit();

  // Everything the child needs is prepared before fork: between fork and exec only
  // async-signal-safe calls are allowed (the test process may have other threads).
  const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::system_error(errno, std::generic_category(), "open " + log_path_.string());
  std::vector<char*> c_argv;
  c_argv.reserve(argv_.size() + 1);
  for (std::string& arg : argv_) c_argv.push_back(arg.data());
  c_argv.push_back(nullptr);
  const pid_t parent = ::getpid();

  const pid_t child = ::fork();
  if (child < 0) {
    const int error = errno;
    ::close(log_fd);
    throw std::system_error(error, std::generic_category(), "fork");
  }
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);  // the parent died before prctl took effect
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    // Dispositions set to "ignore" survive exec; the child starts with defaults.
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &default_action, nullptr);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(c_argv[0], c_argv.data());
    const char* reason = ::strerror(errno);  // not strictly async-signal-safe, but exec failed anyway
    static constexpr char kPrefix[] = "harness: exec failed: ";
    [[maybe_unused]] auto w1 = ::write(STDERR_FILENO, kPrefix, sizeof(kPrefix) - 1);
    [[maybe_unused]] auto w2 = ::write(STDERR_FILENO, reason, ::strlen(reason));
    [[maybe_unused]] auto w3 = ::write(STDERR_FILENO, "\n", 1);
    ::_exit(127);
  }
  ::close(log_fd);
  pid_ = child;
}

Process::~Process() {
  if (pid_ <= 0) return;
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  if (test != nullptr && ::testing::Test::HasFailure()) dump_log();
  kill();
}

Process::Process(Process&& other) noexcept
    : argv_(std::move(other.argv_)),
      log_path_(std::move(other.log_path_)),
      pid_(std::exchange(other.pid_, -1)),
      exit_status_(std::exchange(other.exit_status_, std::nullopt)) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    kill();
    argv_ = std::move(other.argv_);
    log_path_ = std::move(other.log_path_);
    pid_ = std::exchange(other.pid_, -1);
    exit_status_ = std::exchange(other.exit_status_, std::nullopt);
  }
  return *this;
}

void Process::reap_if_exited(bool block) {
  if (pid_ <= 0 || exit_status_) return;
  int status = 0;
  pid_t result;
  do {
    result = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (result < 0 && errno == EINTR);
  if (result == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  } else if (result < 0) {
    exit_status_ = -1;  // ECHILD: someone else reaped it; treat as gone
  }
}

bool Process::running() {
  reap_if_exited(false);
  return pid_ > 0 && !exit_status_;
}

bool Process::send_signal(int signo) {
  if (!running()) return false;
  return ::kill(pid_, signo) == 0;
}

std::optional<int> Process::wait_exit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return exit_status_;
  wait_until([this] { return !running(); }, timeout);
  return exit_status_;
}

void Process::kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  reap_if_exited(true);
}

std::optional<std::vector<std::string>> Process::wait_for_line(const std::regex& pattern,
                                                               std::chrono::milliseconds timeout,
                                                               std::size_t from_offset) {
  const auto deadline = Clock::now() + timeout;
  std::size_t scanned = from_offset;  // complete lines before this offset did not match
  while (true) {
    const bool exited = !running();
    const std::string text = read_file(log_path_, scanned);
    // Once the process is gone nothing more is coming, so a final unterminated line counts too.
    if (auto found = find_line(text, pattern, exited)) return found;
    if (exited || Clock::now() >= deadline) return std::nullopt;
    const std::size_t last_newline = text.rfind('\n');
    if (last_newline != std::string::npos) scanned += last_newline + 1;
    std::this_thread::sleep_for(kPollStep);
  }
}

std::size_t Process::log_size() const {
  std::error_code error;
  const auto size = std::filesystem::file_size(log_path_, error);
  return error ? 0 : static_cast<std::size_t>(size);
}

std::size_t Process::count_lines(const std::regex& pattern) const {
  const std::string text = read_file(log_path_);
  std::size_t count = 0;
  for (std::string_view line : split_lines(text, true)) {
    if (std::regex_search(line.begin(), line.end(), pattern)) ++count;
  }
  return count;
}

std::optional<std::size_t> Process::rss_bytes() const {
  if (pid_ <= 0 || exit_status_) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      std::size_t kib = 0;
      fields >> kib;
      return kib * 1024;
    }
  }
  return std::nullopt;
}

std::optional<std::size_t> Process::open_fd_count() const {
  if (pid_ <= 0 || exit_status_) return std::nullopt;
  std::error_code error;
  std::filesystem::directory_iterator it("/proc/" + std::to_string(pid_) + "/fd", error);
  if (error) return std::nullopt;
  std::size_t count = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(error)) {
    if (error) return std::nullopt;
    ++count;
  }
  return count;
}

std::string Process::log_text() const { return read_file(log_path_); }

std::string Process::log_tail(std::size_t max_bytes) const {
  std::string text = read_file(log_path_);
  if (text.size() > max_bytes) text.erase(0, text.size() - max_bytes);
  return text;
}

void Process::dump_log(std::size_t max_bytes) const {
  std::cerr << "----- log of " << argv_.front() << " (pid " << pid_ << ", " << log_path_.string() << ", last "
            << max_bytes << " bytes) -----\n"
            << log_tail(max_bytes) << "\n----- end of log -----" << std::endl;
}

// ---- EchoBackend ----

namespace {
std::vector<std::string> echo_argv(const EchoOptions& options) {
  std::vector<std::string> argv{echo_binary(), "--listen", "127.0.0.1:0"};
  for (const std::string& name : options.subprotocols) {
    argv.emplace_back("--subprotocol");
    argv.push_back(name);
  }
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  return argv;
}
}  // namespace

EchoBackend::EchoBackend(EchoOptions options)
    : dir_("wsgate-echo"), process_(echo_argv(options), dir_.path() / "echo.log") {
  static const std::regex kListening(R"(wsgate-echo listening on [0-9.]+:([0-9]+))");
  const auto match = process_.wait_for_line(kListening, options.start_timeout);
  if (!match) throw start_failure("wsgate-echo did not announce its port", process_);
  port_ = parse_port((*match)[1]);
}

std::optional<int> EchoBackend::stop(std::chrono::milliseconds timeout) {
  process_.send_signal(SIGTERM);
  return process_.wait_exit(timeout);
}

// ---- Gateway ----

namespace {
std::vector<std::string> gateway_argv(const std::filesystem::path& config, const GatewayOptions& options) {
  std::vector<std::string> argv{wsgate_binary(), "--config", config.string()};
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  return argv;
}
}  // namespace

namespace {
// Tests run gateways side by side: unless a config names its admin listener,
// give it an ephemeral one instead of the default 127.0.0.1:9901.
std::string with_ephemeral_admin(std::string_view yaml) {
  static const std::regex kAdminKey(R"((^|\n)admin:)");
  std::string text(yaml);
  if (!std::regex_search(text, kAdminKey)) text += "\nadmin:\n  address: 127.0.0.1:0\n";
  return text;
}
}  // namespace

Gateway::Gateway(std::string_view yaml_config, GatewayOptions options)
    : dir_("wsgate-gw"),
      config_path_(dir_.write_file("wsgate.yaml", with_ephemeral_admin(yaml_config))),
      process_(gateway_argv(config_path_, options), dir_.path() / "wsgate.log") {
  if (options.wait_ready && !wait_ready(options.start_timeout)) {
    throw start_failure("wsgate did not become ready", process_);
  }
}

bool Gateway::wait_ready(std::chrono::milliseconds timeout) {
  static const std::regex kReady(R"(^wsgate: ready\b)");
  if (!process_.wait_for_line(kReady, timeout)) return false;

  static const std::regex kListener(R"(^wsgate: listener (\S+) listening on \S+:([0-9]+))");
  static const std::regex kAdmin(R"(^wsgate: admin listening on \S+:([0-9]+))");
  listener_ports_.clear();
  first_listener_.clear();
  admin_port_.reset();
  const std::string text = process_.log_text();
  for (std::string_view line : split_lines(text, false)) {
    std::match_results<std::string_view::const_iterator> match;
    if (std::regex_search(line.begin(), line.end(), match, kListener)) {
      if (first_listener_.empty()) first_listener_ = match[1].str();
      listener_ports_[match[1].str()] = parse_port(match[2].str());
    } else if (std::regex_search(line.begin(), line.end(), match, kAdmin)) {
      admin_port_ = parse_port(match[1].str());
    } else if (std::regex_search(line.begin(), line.end(), kReady)) {
      break;  // a later restart's lines are not this run's
    }
  }
  return true;
}

std::uint16_t Gateway::port(std::string_view listener_name) const {
  const auto it = listener_ports_.find(listener_name);
  if (it == listener_ports_.end()) {
    throw std::out_of_range("wsgate announced no listener named '" + std::string(listener_name) + "'");
  }
  return it->second;
}

std::uint16_t Gateway::port() const {
  if (first_listener_.empty()) throw std::out_of_range("wsgate announced no listener");
  return port(first_listener_);
}

void Gateway::rewrite_config(std::string_view yaml_config) const {
  dir_.write_file("wsgate.yaml", with_ephemeral_admin(yaml_config));
}

std::optional<int> Gateway::stop(std::chrono::milliseconds timeout) {
  process_.send_signal(SIGTERM);
  return process_.wait_exit(timeout);
}

std::optional<int> Gateway::check_config(std::string_view yaml_config, std::string* output,
                                         std::chrono::milliseconds timeout) {
  TempDir dir("wsgate-check");
  const auto config = dir.write_file("wsgate.yaml", yaml_config);
  Process process({wsgate_binary(), "--check-config", config.string()}, dir.path() / "check.log");
  const auto status = process.wait_exit(timeout);
  if (output != nullptr) *output = process.log_text();
  return status;
}

}  // namespace wsgate::test
