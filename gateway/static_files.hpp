// Files served at the edge: a route's `static: DIR` answers plain GET/HEAD from DIR
// (RFC 9110 §9.3.1-2 GET/HEAD, §13.1.2 If-None-Match, §15.4.5 304); no sockets here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsgate::gw {

// Largest file served; bigger files answer 404 so a stray dump in DIR is not streamed from memory.
inline constexpr std::uint64_t kStaticMaxFileBytes = 8 * 1024 * 1024;

struct StaticResponse {
  int status = 200;          // 200, 301, 304, 400, 404, 405
  std::string content_type;  // e.g. "text/html; charset=utf-8"; empty on 304
  std::string body;          // the file (GET 200) or a one-line reason; always empty for HEAD and 304
  // Every header to send besides Content-Type, in order: Content-Length (absent on 304 only; for HEAD
  // the length GET would send), and where they apply ETag, Last-Modified, Cache-Control, Location,
  // Allow, X-Content-Type-Options. Front ends add no Content-Length of their own.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Answers `method` on `target` (request-target: "/path" plus optional "?query") from `root_dir`.
// `route_prefix` is the matched route's path_prefix (or path): "/demo/x.js" under "/demo" is
// root_dir/x.js; under "/" the whole path maps below root_dir.
//
// Errors, as the status of the answer:
//   405 (+ Allow: GET, HEAD)  a method other than GET or HEAD;
//   400  a target not starting with "/", a malformed or %00 percent escape, a ".." segment;
//   404  nothing there, a hidden segment (".name"), a symlink or index.html leading outside the
//        canonical root, not a regular file, a directory without index.html, a file over
//        max_file_bytes, an unreadable file, or a root_dir that does not exist;
//   301  a directory named without its trailing slash (Location: the slash form, query kept);
//   304  `if_none_match` lists the file's ETag (or "*").
StaticResponse serve_static(const std::string& root_dir, std::string_view route_prefix,
                            std::string_view method, std::string_view target,
                            std::string_view if_none_match = {},
                            std::uint64_t max_file_bytes = kStaticMaxFileBytes);

// The Content-Type for a file name by its extension (case-insensitive); application/octet-stream
// when unknown.
std::string_view static_content_type(std::string_view file_name);

}  // namespace wsgate::gw
