// Tests for gateway/access_log.*: the exact JSON line, string escaping (quotes, control
// characters, invalid UTF-8), RFC 3339 times, the bounded queue's drop counting, files.
#include "gateway/access_log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace wsgate::gw {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/wsgate-access-log-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::filesystem::path file(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

AccessLogEntry sample_entry() {
  AccessLogEntry e;
  e.time = std::chrono::system_clock::time_point(1714566896789ms);  // 2024-05-01T12:34:56.789Z
  e.client_address = "203.0.113.7:51234";
  e.listener = "public";
  e.protocol = Protocol::kH2;
  e.h2_stream_id = 5;
  e.route = "chat";
  e.backend_endpoint = "10.0.0.5:9000";
  e.status = 200;
  e.duration_ms = 1234.5678;
  e.client_to_backend = {3, 120};
  e.backend_to_client = {4, 2048};
  e.close_code = 1000;
  e.close_initiator = CloseInitiator::kClient;
  return e;
}

TEST(AccessLogFormat, ExactLine) {
  EXPECT_EQ(AccessLog::format(sample_entry()),
            R"({"time":"2024-05-01T12:34:56.789Z","client":"203.0.113.7:51234","listener":"public",)"
            R"("protocol":"h2","stream_id":5,"route":"chat","backend":"10.0.0.5:9000","status":200,)"
            R"("duration_ms":1234.568,"client_to_backend_messages":3,"client_to_backend_bytes":120,)"
            R"("backend_to_client_messages":4,"backend_to_client_bytes":2048,"close_code":1000,)"
            R"("close_initiator":"client","error":null})"
            "\n");
}

TEST(AccessLogFormat, RefusedHandshakeHasNulls) {
  AccessLogEntry e;
  e.time = std::chrono::system_clock::time_point(0ms);
  e.client_address = "[2001:db8::1]:443";
  e.listener = "l";
  e.status = 404;
  e.error = "no route";
  EXPECT_EQ(
      AccessLog::format(e),
      R"({"time":"1970-01-01T00:00:00.000Z","client":"[2001:db8::1]:443","listener":"l","protocol":"h1",)"
      R"("stream_id":0,"route":null,"backend":null,"status":404,"duration_ms":0.000,)"
      R"("client_to_backend_messages":0,"client_to_backend_bytes":0,"backend_to_client_messages":0,)"
      R"("backend_to_client_bytes":0,"close_code":null,"close_initiator":null,"error":"no route"})"
      "\n");
}

TEST(AccessLogFormat, Rfc3339Milliseconds) {
  EXPECT_EQ(format_rfc3339_ms(std::chrono::system_clock::time_point(0ms)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(std::chrono::system_clock::time_point(951782400001ms)),
            "2000-02-29T00:00:00.001Z");
  EXPECT_EQ(format_rfc3339_ms(std::chrono::system_clock::time_point(4102444799999ms)),
            "2099-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339_ms(std::chrono::system_clock::time_point(-1ms)), "1969-12-31T23:59:59.999Z");
}

TEST(JsonString, EscapesQuotesBackslashAndControls) {
  EXPECT_EQ(json_string(""), R"("")");
  EXPECT_EQ(json_string("plain text"), R"("plain text")");
  EXPECT_EQ(json_string("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(json_string("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(json_string(std::string_view("\x00\x01\x1f\x7f", 4)), R"("\u0000\u0001\u001f\u007f")");
  EXPECT_EQ(json_string("</script>"), R"("</script>")");
}

TEST(JsonString, KeepsValidUtf8AndReplacesInvalid) {
  EXPECT_EQ(json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(json_string("\xff"), R"("\ufffd")");
  EXPECT_EQ(json_string("a\xc3"), R"("a\ufffd")");                              // truncated sequence
  EXPECT_EQ(json_string("\xc0\xaf"), R"("\ufffd\ufffd")");                      // overlong '/'
  EXPECT_EQ(json_string("\xe0\x80\xaf"), R"("\ufffd\ufffd\ufffd")");            // overlong, 3 bytes
  EXPECT_EQ(json_string("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");            // UTF-16 surrogate
  EXPECT_EQ(json_string("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");  // above U+10FFFF
  EXPECT_EQ(json_string("\x80x"), R"("\ufffdx")");                              // lone continuation byte
}

TEST(AccessLogFormat, HostileFieldsStayOneLine) {
  AccessLogEntry e = sample_entry();
  e.error = "bad\nline\"}{\"x\":1";
  e.route = "r\\";
  std::string line = AccessLog::format(e);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_NE(line.find(R"("error":"bad\nline\"}{\"x\":1")"), std::string::npos);
  EXPECT_NE(line.find(R"("route":"r\\")"), std::string::npos);
}

TEST(AccessLog, OffIsDisabled) {
  AccessLog log(AccessLogConfig{"off", "json"});
  EXPECT_FALSE(log.enabled());
  log.write(sample_entry());
  EXPECT_EQ(log.dropped(), 0u);
  EXPECT_EQ(log.written(), 0u);
  log.flush_and_stop();
}

TEST(AccessLog, UnopenableFileThrowsNamingThePath) {
  try {
    AccessLog log(AccessLogConfig{"/nonexistent-dir/x/access.log", "json"});
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x/access.log"), std::string::npos) << e.what();
  }
}

TEST(AccessLog, WritesLinesToFile) {
  TempDir dir;
  auto path = dir.file("access.log");
  {
    AccessLog log(AccessLogConfig{path.string(), "json"});
    EXPECT_TRUE(log.enabled());
    for (int i = 0; i < 100; ++i) {
      AccessLogEntry e = sample_entry();
      e.h2_stream_id = static_cast<std::uint32_t>(2 * i + 1);
      log.write(e);
    }
    log.flush_and_stop();
    EXPECT_EQ(log.written(), 100u);
    EXPECT_EQ(log.dropped(), 0u);
    log.write(sample_entry());  // after stop: counted, not written
    EXPECT_EQ(log.dropped(), 1u);
  }
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 100u);
  EXPECT_NE(lines[0].find(R"("stream_id":1,)"), std::string::npos);
  EXPECT_NE(lines[99].find(R"("stream_id":199,)"), std::string::npos);
}

TEST(AccessLog, FullQueueDropsAndCounts) {
  TempDir dir;
  auto path = dir.file("access.log");
  AccessLogLimits limits;
  limits.max_lines = 3;
  limits.writer_paused = true;
  AccessLog log(AccessLogConfig{path.string(), "json"}, limits);
  for (int i = 0; i < 10; ++i) log.write(sample_entry());
  EXPECT_EQ(log.dropped(), 7u);
  log.flush_and_stop();
  EXPECT_EQ(log.written(), 3u);
  EXPECT_EQ(read_lines(path).size(), 3u);
}

TEST(AccessLog, ByteBoundDropsToo) {
  TempDir dir;
  auto path = dir.file("access.log");
  const std::size_t line_bytes = AccessLog::format(sample_entry()).size();
  AccessLogLimits limits;
  limits.max_bytes = line_bytes * 2 + line_bytes / 2;  // room for two lines
  limits.writer_paused = true;
  AccessLog log(AccessLogConfig{path.string(), "json"}, limits);
  for (int i = 0; i < 5; ++i) log.write(sample_entry());
  EXPECT_EQ(log.dropped(), 3u);
  log.flush_and_stop();
  EXPECT_EQ(read_lines(path).size(), 2u);
}

TEST(AccessLog, ManyThreadsEveryLineWrittenOrCounted) {
  TempDir dir;
  auto path = dir.file("access.log");
  constexpr int kThreads = 4, kLines = 2000;
  AccessLogLimits limits;
  limits.max_lines = 256;
  AccessLog log(AccessLogConfig{path.string(), "json"}, limits);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log] {
      for (int i = 0; i < kLines; ++i) log.write(sample_entry());
    });
  }
  for (auto& t : threads) t.join();
  log.flush_and_stop();
  EXPECT_EQ(log.written() + log.dropped(), static_cast<std::uint64_t>(kThreads * kLines));
  auto lines = read_lines(path);
  EXPECT_EQ(lines.size(), log.written());
  for (const auto& line : lines) {
    ASSERT_EQ(line.front(), '{');
    ASSERT_EQ(line.back(), '}');  // never two lines interleaved
  }
}

TEST(AccessLog, ReopenFollowsRotation) {
  TempDir dir;
  auto path = dir.file("access.log");
  AccessLog log(AccessLogConfig{path.string(), "json"});
  log.write(sample_entry());
  for (int i = 0; i < 200 && log.written() < 1; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(log.written(), 1u);
  std::filesystem::rename(path, dir.file("access.log.1"));
  log.reopen();
  log.write(sample_entry());
  log.write(sample_entry());
  log.flush_and_stop();
  EXPECT_EQ(read_lines(dir.file("access.log.1")).size(), 1u);
  EXPECT_EQ(read_lines(path).size(), 2u);
}

}  // namespace
}  // namespace wsgate::gw
