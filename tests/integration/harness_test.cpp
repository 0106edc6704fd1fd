// Tests of the integration harness itself (Process, TempDir, templates), using /bin/sh as the child.
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

namespace wsgate::test {
namespace {

using namespace std::chrono_literals;

Process shell(const TempDir& dir, const std::string& script) {
  return Process({"/bin/sh", "-c", script}, dir.path() / "sh.log");
}

TEST(TempDirTest, CreatesWritesAndRemoves) {
  std::filesystem::path kept;
  {
    TempDir dir;
    kept = dir.path();
    ASSERT_TRUE(std::filesystem::is_directory(kept));
    const auto file = dir.write_file("a.yaml", "x: 1\n");
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "x: 1");
  }
  EXPECT_FALSE(std::filesystem::exists(kept));
}

TEST(FormatTemplateTest, ReplacesKnownNamesOnly) {
  EXPECT_EQ(format_template("a ${X} b ${Y} ${X}", {{"X", "1"}}), "a 1 b ${Y} 1");
  EXPECT_EQ(format_template("no vars", {}), "no vars");
  EXPECT_EQ(format_template("open ${X", {{"X", "1"}}), "open ${X");
}

TEST(ProcessTest, WaitForLineReturnsCaptures) {
  TempDir dir;
  Process process = shell(dir, "echo 'starting'; echo 'listening on 127.0.0.1:4242' >&2; sleep 5");
  const auto match = process.wait_for_line(std::regex(R"(listening on [0-9.]+:([0-9]+))"), 5s);
  ASSERT_TRUE(match);
  EXPECT_EQ((*match)[1], "4242");
  EXPECT_TRUE(process.running());
  EXPECT_EQ(process.count_lines(std::regex("starting")), 1u);
  EXPECT_TRUE(process.rss_bytes().value_or(0) > 0);
  EXPECT_TRUE(process.open_fd_count().value_or(0) >= 3);
}

TEST(ProcessTest, WaitForLineFromOffsetSkipsEarlierLines) {
  TempDir dir;
  Process process = shell(dir, "echo 'event 1'; sleep 0.3; echo 'event 2'; sleep 5");
  ASSERT_TRUE(process.wait_for_line(std::regex("event 1"), 5s));
  const std::size_t mark = process.log_size();
  EXPECT_GT(mark, 0u);
  const auto match = process.wait_for_line(std::regex(R"(event (\d))"), 5s, mark);
  ASSERT_TRUE(match);
  EXPECT_EQ((*match)[1], "2");
}

TEST(ProcessTest, WaitForLineGivesUpWhenProcessExits) {
  TempDir dir;
  Process process = shell(dir, "echo nothing useful; exit 3");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(process.wait_for_line(std::regex("never"), 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(process.wait_exit(1s), 3);
  EXPECT_EQ(process.wait_exit(1s), 3);  // stays reaped
  EXPECT_FALSE(process.send_signal(SIGTERM));
}

TEST(ProcessTest, WaitForLineTimesOut) {
  TempDir dir;
  Process process = shell(dir, "sleep 5");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(process.wait_for_line(std::regex("never"), 100ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(ProcessTest, SignalExitStatusFollowsShellConvention) {
  TempDir dir;
  Process process = shell(dir, "exec sleep 5");
  EXPECT_FALSE(process.wait_exit(50ms));  // still running
  ASSERT_TRUE(process.send_signal(SIGTERM));
  EXPECT_EQ(process.wait_exit(5s), 128 + SIGTERM);
}

TEST(ProcessTest, ExecFailureIs127WithReasonInLog) {
  TempDir dir;
  Process process({"/nonexistent/binary"}, dir.path() / "x.log");
  EXPECT_EQ(process.wait_exit(5s), 127);
  EXPECT_NE(process.log_text().find("exec failed"), std::string::npos);
}

TEST(ProcessTest, DestructorKillsAndReaps) {
  TempDir dir;
  pid_t pid;
  {
    Process process = shell(dir, "exec sleep 30");
    pid = process.pid();
    ASSERT_TRUE(process.running());
  }
  EXPECT_NE(::kill(pid, 0), 0);  // gone and reaped (pids are not reused this fast)
}

TEST(ProcessTest, LogTail) {
  TempDir dir;
  Process process = shell(dir, "printf 'abcdefghij'");
  ASSERT_EQ(process.wait_exit(5s), 0);
  EXPECT_EQ(process.log_text(), "abcdefghij");
  EXPECT_EQ(process.log_tail(3), "hij");
}

TEST(WaitUntilTest, BoundedByTimeout) {
  int calls = 0;
  EXPECT_TRUE(wait_until([&] { return ++calls == 3; }, 1s));
  EXPECT_FALSE(wait_until([] { return false; }, 30ms));
}

}  // namespace
}  // namespace wsgate::test
