// Access log queue and writer thread; see access_log.hpp.
#include "gateway/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace wsgate::gw {

namespace {

constexpr char kHex[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence at s[i] (RFC 3629 §4: no overlongs, no
// surrogates, nothing above U+10FFFF), or 0 when it is not valid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  auto continuation = [&](std::size_t k) { return k < s.size() && (byte(k) & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 <= 0xDF) return continuation(i + 1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!continuation(i + 1) || !continuation(i + 2)) return 0;
    const unsigned char b1 = byte(i + 1);
    if (b0 == 0xE0 && b1 < 0xA0) return 0;   // overlong
    if (b0 == 0xED && b1 >= 0xA0) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!continuation(i + 1) || !continuation(i + 2) || !continuation(i + 3)) return 0;
    const unsigned char b1 = byte(i + 1);
    if (b0 == 0xF0 && b1 < 0x90) return 0;   // overlong
    if (b0 == 0xF4 && b1 >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

void append_key(std::string& out, std::string_view key) {
  out += out.size() > 1 ? ",\"" : "\"";
  out += key;
  out += "\":";
}

void append_string_or_null(std::string& out, std::string_view key, std::string_view value) {
  append_key(out, key);
  if (value.empty()) {
    out += "null";
  } else {
    append_json_string(out, value);
  }
}

void append_number(std::string& out, std::string_view key, std::uint64_t value) {
  append_key(out, key);
  out += std::to_string(value);
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          if (c < 0x20 || c == 0x7F) {
            out += "\\u00";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xF]);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    std::size_t n = utf8_sequence_length(text, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    out.append(text.substr(i, n));
    i += n;
  }
  out.push_back('"');
}

std::string json_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

std::string format_rfc3339_ms(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto ms_total = duration_cast<milliseconds>(time.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms_total / 1000);
  long long ms = ms_total % 1000;
  if (ms < 0) {  // before 1970: floor, not truncate
    ms += 1000;
    --seconds;
  }
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char buffer[96];  // room for any int year, so the compiler sees no truncation
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, ms);
  return buffer;
}

std::string AccessLog::format(const AccessLogEntry& e) {
  std::string out;
  out.reserve(384);
  out.push_back('{');
  append_key(out, "time");
  append_json_string(out, format_rfc3339_ms(e.time));
  append_string_or_null(out, "client", e.client_address);
  append_string_or_null(out, "listener", e.listener);
  append_key(out, "protocol");
  append_json_string(out, to_string(e.protocol));
  append_number(out, "stream_id", e.h2_stream_id);
  append_string_or_null(out, "route", e.route);
  append_string_or_null(out, "backend", e.backend_endpoint);
  append_key(out, "status");
  out += std::to_string(e.status);
  append_key(out, "duration_ms");
  char duration[48];
  std::snprintf(duration, sizeof duration, "%.3f",
                e.duration_ms >= 0 && e.duration_ms < 1e15 ? e.duration_ms : 0.0);
  out += duration;
  append_number(out, "client_to_backend_messages", e.client_to_backend.messages);
  append_number(out, "client_to_backend_bytes", e.client_to_backend.bytes);
  append_number(out, "backend_to_client_messages", e.backend_to_client.messages);
  append_number(out, "backend_to_client_bytes", e.backend_to_client.bytes);
  append_key(out, "close_code");
  out += e.close_code ? std::to_string(*e.close_code) : "null";
  append_key(out, "close_initiator");
  if (e.close_initiator) {
    append_json_string(out, to_string(*e.close_initiator));
  } else {
    out += "null";
  }
  append_string_or_null(out, "error", e.error);
  out += "}\n";
  return out;
}

AccessLog::AccessLog(const AccessLogConfig& config, AccessLogLimits limits)
    : enabled_(config.path != "off" && !config.path.empty()), path_(config.path), limits_(limits) {
  if (!enabled_) return;
  if (path_ == "stdout") {
    fd_ = STDOUT_FILENO;
  } else if (path_ == "stderr") {
    fd_ = STDERR_FILENO;
  } else {
    open_file();
    if (fd_ < 0) throw std::runtime_error("access log " + path_ + ": " + std::strerror(errno));
  }
  if (!limits_.writer_paused) writer_ = std::thread([this] { run_writer(); });
}

AccessLog::~AccessLog() { flush_and_stop(); }

void AccessLog::open_file() {
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;  // keep writing to the old file (or nowhere) rather than lose the process
  if (owns_fd_) ::close(fd_);
  fd_ = fd;
  owns_fd_ = true;
}

void AccessLog::write(const AccessLogEntry& entry) {
  if (!enabled_) return;
  std::string line = format(entry);
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= limits_.max_lines || queued_bytes_ + line.size() > limits_.max_bytes) {
      ++dropped_;
      return;
    }
    wake = queue_.empty();  // the writer only sleeps on an empty queue
    queued_bytes_ += line.size();
    queue_.push_back(std::move(line));
  }
  if (wake) wake_.notify_one();
}

void AccessLog::reopen() {
  if (!enabled_ || path_ == "stdout" || path_ == "stderr") return;
  {
    std::lock_guard lock(mutex_);
    reopen_ = true;
  }
  wake_.notify_one();
}

void AccessLog::flush_and_stop() {
  {
    std::lock_guard lock(mutex_);
    if (!enabled_ || stopping_) return;
    stopping_ = true;
  }
  if (!writer_.joinable()) writer_ = std::thread([this] { run_writer(); });
  wake_.notify_one();
  writer_.join();
  if (owns_fd_) {
    ::close(fd_);
    owns_fd_ = false;
  }
  fd_ = -1;
  std::lock_guard lock(mutex_);
  stopped_ = true;
}

std::uint64_t AccessLog::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

std::uint64_t AccessLog::written() const {
  std::lock_guard lock(mutex_);
  return written_;
}

bool AccessLog::write_all(const std::string& data) {
  if (fd_ < 0) return false;
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void AccessLog::run_writer() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || reopen_ || !queue_.empty(); });
    const bool reopen = reopen_;
    reopen_ = false;
    std::deque<std::string> batch;
    batch.swap(queue_);
    queued_bytes_ = 0;
    const bool stop = stopping_;
    lock.unlock();

    if (reopen) open_file();
    std::string data;
    for (const auto& line : batch) data += line;
    const bool ok = data.empty() || write_all(data);

    lock.lock();
    if (ok) {
      written_ += batch.size();
    } else {
      dropped_ += batch.size();  // the file is gone or full: count, keep running
    }
    if (stop && queue_.empty()) return;
  }
}

}  // namespace wsgate::gw
