// Tests for gateway/static_files.*: path mapping under a route prefix, traversal and symlink
// escapes, hidden files, directories and index.html, content types, methods, HEAD, ETag / 304.
#include "gateway/static_files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace wsgate::gw {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> header(const StaticResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

void write_file(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
}

// A tree per test:
//   <tmp>/site/        the served root          <tmp>/outside/secret.txt   must never be served
class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("wsgate-static-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    root_ = base_ / "site";
    write_file(root_ / "index.html", "<h1>home</h1>");
    write_file(root_ / "app.js", "console.log(1);");
    write_file(root_ / "style.css", "body{}");
    write_file(root_ / "sub" / "index.html", "<p>sub</p>");
    write_file(root_ / "sub" / "deep" / "file.txt", "deep");
    write_file(root_ / "with space.txt", "spaced");
    write_file(root_ / ".env", "SECRET=1");
    write_file(root_ / ".git" / "config", "[core]");
    fs::create_directories(root_ / "empty");
    write_file(base_ / "outside" / "secret.txt", "top secret");
    write_file(base_ / "outside" / "index.html", "outside index");
    fs::create_symlink("../outside/secret.txt", root_ / "link_out.txt");
    fs::create_directory_symlink("../outside", root_ / "dir_out");
    fs::create_symlink("app.js", root_ / "link_in.js");
    fs::create_symlink(".env", root_ / "visible_to_hidden.txt");
    fs::create_directories(root_ / "evil");
    fs::create_symlink("../../outside/secret.txt", root_ / "evil" / "index.html");
  }
  void TearDown() override { fs::remove_all(base_); }

  StaticResponse get(std::string_view target, std::string_view prefix = "/") {
    return serve_static(root_.string(), prefix, "GET", target);
  }

  fs::path base_;
  fs::path root_;
};

TEST_F(StaticFilesTest, ServesAFileWithTypeLengthAndValidators) {
  auto r = get("/app.js");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "console.log(1);");
  EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(header(r, "Content-Length"), "15");
  ASSERT_TRUE(header(r, "ETag"));
  EXPECT_EQ(header(r, "ETag")->front(), '"');
  ASSERT_TRUE(header(r, "Last-Modified"));
  EXPECT_TRUE(header(r, "Last-Modified")->ends_with(" GMT"));
  EXPECT_EQ(header(r, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
}

TEST_F(StaticFilesTest, QueryIsIgnoredForLookup) {
  auto r = get("/style.css?v=3");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/css; charset=utf-8");
}

TEST_F(StaticFilesTest, PercentDecodedNamesAreFound) {
  EXPECT_EQ(get("/with%20space.txt").body, "spaced");
  EXPECT_EQ(get("/sub%2Fdeep%2ffile.txt").body, "deep");  // an encoded slash is a separator after decoding
}

TEST_F(StaticFilesTest, RootAndDirectoriesServeIndexHtml) {
  auto r = get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<h1>home</h1>");
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(get("/sub/").body, "<p>sub</p>");
  EXPECT_EQ(get("/empty/").status, 404);
}

TEST_F(StaticFilesTest, DirectoryWithoutSlashRedirects) {
  auto r = get("/sub?x=1");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(header(r, "Location"), "/sub/?x=1");
  // Never a network-path reference ("//host/") that would send the browser elsewhere.
  auto r2 = get("//sub");
  EXPECT_EQ(r2.status, 301);
  EXPECT_EQ(header(r2, "Location"), "/sub/");
}

TEST_F(StaticFilesTest, RoutePrefixIsStripped) {
  EXPECT_EQ(get("/demo/app.js", "/demo").body, "console.log(1);");
  EXPECT_EQ(get("/demo/app.js", "/demo/").body, "console.log(1);");
  EXPECT_EQ(get("/demo/", "/demo").body, "<h1>home</h1>");
  auto r = get("/demo", "/demo");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(header(r, "Location"), "/demo/");
  EXPECT_EQ(get("/demox/app.js", "/demo").status, 404);
  EXPECT_EQ(get("/other/app.js", "/demo").status, 404);
}

TEST_F(StaticFilesTest, MissingIs404) {
  EXPECT_EQ(get("/nope.html").status, 404);
  EXPECT_EQ(get("/sub/nope/").status, 404);
  EXPECT_EQ(get("/app.js/").status, 404);  // a file named as a directory
  EXPECT_EQ(serve_static((base_ / "no-such-root").string(), "/", "GET", "/").status, 404);
}

TEST_F(StaticFilesTest, TraversalIsRefused) {
  for (const char* target :
       {"/../outside/secret.txt", "/sub/../../outside/secret.txt", "/%2e%2e/outside/secret.txt",
        "/%2E%2E/outside/secret.txt", "/sub/%2e%2e%2f%2e%2e%2foutside/secret.txt", "/..%2foutside/secret.txt",
        "/.%2e/outside/secret.txt", "/sub/.."}) {
    auto r = get(target);
    EXPECT_TRUE(r.status == 400 || r.status == 404) << target << " -> " << r.status;
    EXPECT_EQ(r.body.find("secret"), std::string::npos) << target;
  }
  // Through a prefix, too.
  EXPECT_EQ(get("/demo/%2e%2e/outside/secret.txt", "/demo").status, 400);
}

TEST_F(StaticFilesTest, MalformedEscapesAndNulAre400) {
  for (const char* target : {"/app.js%00", "/%00", "/app%zz.js", "/app.js%", "/app.js%4", "/%g0"}) {
    EXPECT_EQ(get(target).status, 400) << target;
  }
  EXPECT_EQ(get("app.js").status, 400);  // not origin-form
}

TEST_F(StaticFilesTest, HiddenFilesAreNotServed) {
  EXPECT_EQ(get("/.env").status, 404);
  EXPECT_EQ(get("/%2eenv").status, 404);
  EXPECT_EQ(get("/.git/config").status, 404);
  EXPECT_EQ(get("/visible_to_hidden.txt").status, 404);  // a symlink onto a hidden file
}

TEST_F(StaticFilesTest, SymlinksMayNotLeaveTheRoot) {
  EXPECT_EQ(get("/link_out.txt").status, 404);
  EXPECT_EQ(get("/dir_out/secret.txt").status, 404);
  EXPECT_EQ(get("/dir_out/").status, 404);
  EXPECT_EQ(get("/evil/").status, 404);  // index.html itself points outside
  auto inside = get("/link_in.js");
  EXPECT_EQ(inside.status, 200);
  EXPECT_EQ(inside.body, "console.log(1);");
}

TEST_F(StaticFilesTest, SymlinkedRootIsFine) {
  fs::create_directory_symlink(root_, base_ / "alias");
  auto r = serve_static((base_ / "alias").string(), "/", "GET", "/app.js");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(serve_static((base_ / "alias").string(), "/", "GET", "/link_out.txt").status, 404);
}

TEST_F(StaticFilesTest, NonRegularFilesAre404) {
  ASSERT_EQ(::mkfifo((root_ / "pipe").c_str(), 0600), 0);
  EXPECT_EQ(get("/pipe").status, 404);
}

TEST_F(StaticFilesTest, OtherMethodsAre405WithAllow) {
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get"}) {
    auto r = serve_static(root_.string(), "/", method, "/app.js");
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(header(r, "Allow"), "GET, HEAD") << method;
  }
}

TEST_F(StaticFilesTest, HeadHasLengthButNoBody) {
  auto r = serve_static(root_.string(), "/", "HEAD", "/index.html");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(header(r, "Content-Length"), "13");
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  auto missing = serve_static(root_.string(), "/", "HEAD", "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(missing.body.empty());
  EXPECT_EQ(header(missing, "Content-Length"), std::to_string(get("/nope").body.size()));
}

TEST_F(StaticFilesTest, IfNoneMatchGives304) {
  std::string etag = *header(get("/app.js"), "ETag");
  for (std::string inm : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    auto r = serve_static(root_.string(), "/", "GET", "/app.js", inm);
    EXPECT_EQ(r.status, 304) << inm;
    EXPECT_TRUE(r.body.empty());
    EXPECT_FALSE(header(r, "Content-Length")) << inm;
    EXPECT_EQ(header(r, "ETag"), etag);
  }
  EXPECT_EQ(serve_static(root_.string(), "/", "GET", "/app.js", "\"other\"").status, 200);
  EXPECT_EQ(serve_static(root_.string(), "/", "HEAD", "/app.js", etag).status, 304);
}

TEST_F(StaticFilesTest, EtagChangesWithContent) {
  std::string before = *header(get("/app.js"), "ETag");
  write_file(root_ / "app.js", "console.log(12);");
  std::string after = *header(get("/app.js"), "ETag");
  EXPECT_NE(before, after);
  EXPECT_EQ(serve_static(root_.string(), "/", "GET", "/app.js", before).status, 200);
}

TEST_F(StaticFilesTest, FilesOverTheCapAreNotServed) {
  write_file(root_ / "big.bin", std::string(2048, 'x'));
  EXPECT_EQ(serve_static(root_.string(), "/", "GET", "/big.bin", {}, 2047).status, 404);
  auto r = serve_static(root_.string(), "/", "GET", "/big.bin", {}, 2048);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), 2048u);
}

TEST(StaticContentType, KnownExtensions) {
  EXPECT_EQ(static_content_type("a.html"), "text/html; charset=utf-8");
  EXPECT_EQ(static_content_type("a.css"), "text/css; charset=utf-8");
  EXPECT_EQ(static_content_type("a.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(static_content_type("a.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(static_content_type("a.json"), "application/json");
  EXPECT_EQ(static_content_type("a.js.map"), "application/json");
  EXPECT_EQ(static_content_type("a.svg"), "image/svg+xml");
  EXPECT_EQ(static_content_type("a.png"), "image/png");
  EXPECT_EQ(static_content_type("a.jpg"), "image/jpeg");
  EXPECT_EQ(static_content_type("a.jpeg"), "image/jpeg");
  EXPECT_EQ(static_content_type("favicon.ico"), "image/x-icon");
  EXPECT_EQ(static_content_type("a.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(static_content_type("a.wasm"), "application/wasm");
  EXPECT_EQ(static_content_type("APP.JS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(static_content_type("dir.d/noext"), "application/octet-stream");
  EXPECT_EQ(static_content_type("a.bin"), "application/octet-stream");
  EXPECT_EQ(static_content_type("Makefile"), "application/octet-stream");
}

}  // namespace
}  // namespace wsgate::gw
