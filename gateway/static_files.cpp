// Files served at the edge; see static_files.hpp.
#include "gateway/static_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>
#include <utility>

namespace wsgate::gw {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";

// An open file descriptor (or none: -1), closed once.
class FileHandle {
 public:
  FileHandle() = default;
  explicit FileHandle(int fd) : fd_(fd) {}
  FileHandle(FileHandle&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileHandle& operator=(FileHandle&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~FileHandle() { reset(); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

StaticResponse plain(int status, std::string_view reason) {
  StaticResponse r;
  r.status = status;
  r.content_type = kTextPlain;
  r.body = std::string(reason) + "\n";
  return r;
}

// Adds Content-Length (except on 304) and drops the body of a HEAD answer, last, so every
// path through serve_static agrees on both.
StaticResponse finish(StaticResponse r, bool head) {
  if (r.status != 304) r.headers.insert(r.headers.begin(), {"Content-Length", std::to_string(r.body.size())});
  if (head || r.status == 304) r.body.clear();
  return r;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 §2.1 percent-decoding; nullopt on a malformed escape or an encoded NUL.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\0') return std::nullopt;
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int hi = hex_value(text[i + 1]);
    int lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    char decoded = static_cast<char>(hi * 16 + lo);
    if (decoded == '\0') return std::nullopt;
    out.push_back(decoded);
    i += 2;
  }
  return out;
}

// RFC 9110 §5.6.7 IMF-fixdate, without the locale-dependent strftime names.
std::string http_date(std::time_t t) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                kDays[static_cast<std::size_t>(tm.tm_wday)], tm.tm_mday,
                kMonths[static_cast<std::size_t>(tm.tm_mon)], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

// A validator that changes whenever the file's size or modification time does.
std::string entity_tag(const struct stat& st) {
  char buf[64];
  auto mtime_ns = static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1000000000ull +
                  static_cast<unsigned long long>(st.st_mtim.tv_nsec);
  std::snprintf(buf, sizeof buf, "\"%llx-%llx\"", static_cast<unsigned long long>(st.st_size), mtime_ns);
  return buf;
}

// RFC 9110 §13.1.2: If-None-Match uses the weak comparison; "*" matches any current representation.
bool none_match_hits(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    auto comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == "*") return true;
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == etag) return true;
  }
  return false;
}

// `path` relative to `root` (both canonical) when it lies inside and no component is hidden.
bool inside_and_visible(const fs::path& root, const fs::path& path) {
  fs::path rel = path.lexically_relative(root);
  if (rel.empty()) return false;
  if (rel == ".") return true;
  for (const auto& part : rel) {
    const std::string& name = part.native();
    if (name.empty() || name.front() == '.') return false;  // "..": outside; ".x": hidden
  }
  return true;
}

struct OpenedFile {
  FileHandle handle;  // empty when refused or not openable
  struct stat st {};
};

// Canonicalises `candidate`, checks it stays inside `root` and opens what it names.
OpenedFile open_inside(const fs::path& root, const fs::path& candidate) {
  OpenedFile out;
  std::error_code ec;
  fs::path resolved = fs::canonical(candidate, ec);
  if (ec || !inside_and_visible(root, resolved)) return out;
  // The canonical path has no symlinks left; O_NOFOLLOW refuses one swapped in since.
  // O_NONBLOCK keeps a FIFO from blocking the worker; it is refused below as not a regular file.
  int fd = ::open(resolved.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return out;
  out.handle = FileHandle(fd);
  if (::fstat(fd, &out.st) != 0) out.handle.reset();
  return out;
}

bool read_all(int fd, std::size_t size, std::string& out) {
  out.resize(size);
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, out.data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // shrunk under us, or an error
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

std::string_view static_content_type(std::string_view file_name) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"ico", "image/x-icon"},
      {"txt", "text/plain; charset=utf-8"},
      {"wasm", "application/wasm"},
  };
  auto slash = file_name.rfind('/');
  if (slash != std::string_view::npos) file_name.remove_prefix(slash + 1);
  auto dot = file_name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "application/octet-stream";
  std::string ext;
  for (char c : file_name.substr(dot + 1)) ext.push_back(ascii_lower(c));
  for (const auto& [known, type] : kTypes) {
    if (ext == known) return type;
  }
  return "application/octet-stream";
}

StaticResponse serve_static(const std::string& root_dir, std::string_view route_prefix,
                            std::string_view method, std::string_view target, std::string_view if_none_match,
                            std::uint64_t max_file_bytes) {
  const bool head = method == "HEAD";
  if (method != "GET" && !head) {
    StaticResponse r = plain(405, "only GET and HEAD are served here");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return finish(std::move(r), false);
  }
  auto query_at = target.find_first_of("?#");
  std::string_view raw_path = target.substr(0, query_at);
  std::string_view query = query_at == std::string_view::npos ? std::string_view{} : target.substr(query_at);
  if (query.starts_with("#")) query = {};
  if (!raw_path.starts_with("/")) return finish(plain(400, "bad request target"), head);

  // Strip the route prefix on the raw path, as the router matched it.
  std::string_view prefix = route_prefix;
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  if (!raw_path.starts_with(prefix)) return finish(plain(404, "not found"), head);
  std::string_view rest = raw_path.substr(prefix.size());
  if (!rest.empty() && rest.front() != '/') return finish(plain(404, "not found"), head);

  auto decoded = percent_decode(rest);
  if (!decoded) return finish(plain(400, "bad percent-encoding in path"), head);

  // Segments after decoding, so "%2e%2e" and "%2F" are seen as what they are.
  fs::path relative;
  std::string_view remaining = *decoded;
  while (!remaining.empty()) {
    auto slash = remaining.find('/');
    std::string_view segment = remaining.substr(0, slash);
    remaining = slash == std::string_view::npos ? std::string_view{} : remaining.substr(slash + 1);
    if (segment.empty()) continue;
    if (segment == "..") return finish(plain(400, "path escapes the root"), head);
    if (segment.front() == '.') return finish(plain(404, "not found"), head);
    relative /= fs::path(std::string(segment));
  }

  std::error_code ec;
  fs::path root = fs::canonical(root_dir, ec);
  if (ec) return finish(plain(404, "not found"), head);

  OpenedFile file = open_inside(root, root / relative);
  if (!file.handle) return finish(plain(404, "not found"), head);
  std::string served_name = relative.filename().native();
  if (S_ISDIR(file.st.st_mode)) {
    if (!raw_path.ends_with("/")) {
      // A leading "//" would make Location a network-path reference to another host.
      std::string_view path = raw_path;
      while (path.starts_with("//")) path.remove_prefix(1);
      StaticResponse r = plain(301, "moved");
      r.headers.emplace_back("Location", std::string(path) + "/" + std::string(query));
      return finish(std::move(r), head);
    }
    file = open_inside(root, root / relative / "index.html");
    if (!file.handle) return finish(plain(404, "not found"), head);
    served_name = "index.html";
  } else if (decoded->ends_with("/")) {
    return finish(plain(404, "not found"), head);  // a file named as if it were a directory
  }
  if (!S_ISREG(file.st.st_mode)) return finish(plain(404, "not found"), head);
  auto size = static_cast<std::uint64_t>(file.st.st_size);
  if (size > max_file_bytes) return finish(plain(404, "file too large to serve"), head);

  StaticResponse r;
  std::string etag = entity_tag(file.st);
  r.headers.emplace_back("ETag", etag);
  r.headers.emplace_back("Last-Modified", http_date(file.st.st_mtim.tv_sec));
  // Revalidate every time: cheap with the ETag, and an edited page shows at once.
  r.headers.emplace_back("Cache-Control", "no-cache");
  if (!if_none_match.empty() && none_match_hits(if_none_match, etag)) {
    r.status = 304;
    return finish(std::move(r), head);
  }
  r.status = 200;
  r.content_type = static_content_type(served_name);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (head) {
    r.headers.insert(r.headers.begin(), {"Content-Length", std::to_string(size)});
    return r;
  }
  if (!read_all(file.handle.get(), static_cast<std::size_t>(size), r.body)) {
    return finish(plain(404, "not found"), head);
  }
  return finish(std::move(r), head);
}

}  // namespace wsgate::gw
