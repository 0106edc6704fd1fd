// HTTP/1.1 message heads (RFC 9112 §2-§5): case-insensitive header access, RFC 9110 §5.3 list
// semantics, reason phrases (RFC 9110 §15) and head serialisation.
#include "h1/message.hpp"

#include <algorithm>
#include <cstddef>
#include <utility>

namespace wsgate::h1 {
namespace {

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// RFC 9110 §5.1: field names are case-insensitive (ASCII only).
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// Serialisation must never let one header become two lines (response splitting): CR, LF and NUL in
// a caller-supplied name or value are written as a space. Parser output never contains them.
void append_sanitized(std::string& out, std::string_view text) {
  for (char c : text) out.push_back((c == '\r' || c == '\n' || c == '\0') ? ' ' : c);
}

void append_version(std::string& out, int major, int minor) {
  out += "HTTP/";
  out += std::to_string(major);
  out.push_back('.');
  out += std::to_string(minor);
}

void append_headers(std::string& out, const Headers& headers) {
  for (const Header& header : headers) {
    append_sanitized(out, header.name);
    out += ": ";
    append_sanitized(out, header.value);
    out += "\r\n";
  }
  out += "\r\n";
}

std::size_t headers_size_hint(const Headers& headers) {
  std::size_t bytes = 2;
  for (const Header& header : headers) bytes += header.name.size() + header.value.size() + 4;
  return bytes;
}

}  // namespace

void Headers::add(std::string name, std::string value) {
  items_.push_back(Header{std::move(name), std::move(value)});
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const Header& header : items_) {
    if (iequals(header.name, name)) return std::string_view(header.value);
  }
  return std::nullopt;
}

std::vector<std::string_view> Headers::get_all(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const Header& header : items_) {
    if (iequals(header.name, name)) values.emplace_back(header.value);
  }
  return values;
}

std::optional<std::string> Headers::get_joined(std::string_view name) const {
  std::optional<std::string> joined;
  for (const Header& header : items_) {
    if (!iequals(header.name, name)) continue;
    if (joined) {
      *joined += ", ";
      *joined += header.value;
    } else {
      joined = header.value;
    }
  }
  return joined;
}

bool Headers::has_token(std::string_view name, std::string_view token) const {
  for (const Header& header : items_) {
    if (!iequals(header.name, name)) continue;
    std::string_view rest = header.value;
    while (true) {
      const std::size_t comma = rest.find(',');
      if (iequals(trim_ows(rest.substr(0, comma)), token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

void Headers::remove(std::string_view name) {
  std::erase_if(items_, [name](const Header& header) { return iequals(header.name, name); });
}

std::string_view reason_phrase(int status) {
  // RFC 9110 §15 plus RFC 6585 (428, 429, 431) and RFC 7725 (451).
  struct Phrase {
    int status;
    std::string_view text;
  };
  static constexpr Phrase kPhrases[] = {
      {100, "Continue"},
      {101, "Switching Protocols"},
      {200, "OK"},
      {201, "Created"},
      {202, "Accepted"},
      {203, "Non-Authoritative Information"},
      {204, "No Content"},
      {205, "Reset Content"},
      {206, "Partial Content"},
      {300, "Multiple Choices"},
      {301, "Moved Permanently"},
      {302, "Found"},
      {303, "See Other"},
      {304, "Not Modified"},
      {305, "Use Proxy"},
      {307, "Temporary Redirect"},
      {308, "Permanent Redirect"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {402, "Payment Required"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {406, "Not Acceptable"},
      {407, "Proxy Authentication Required"},
      {408, "Request Timeout"},
      {409, "Conflict"},
      {410, "Gone"},
      {411, "Length Required"},
      {412, "Precondition Failed"},
      {413, "Content Too Large"},
      {414, "URI Too Long"},
      {415, "Unsupported Media Type"},
      {416, "Range Not Satisfiable"},
      {417, "Expectation Failed"},
      {421, "Misdirected Request"},
      {422, "Unprocessable Content"},
      {426, "Upgrade Required"},
      {428, "Precondition Required"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {451, "Unavailable For Legal Reasons"},
      {500, "Internal Server Error"},
      {501, "Not Implemented"},
      {502, "Bad Gateway"},
      {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
      {505, "HTTP Version Not Supported"},
  };
  for (const Phrase& phrase : kPhrases) {
    if (phrase.status == status) return phrase.text;
  }
  return "Unknown";
}

std::string serialize(const RequestHead& head) {
  std::string out;
  out.reserve(head.method.size() + head.target.size() + 12 + headers_size_hint(head.headers));
  append_sanitized(out, head.method);
  out.push_back(' ');
  append_sanitized(out, head.target);
  out.push_back(' ');
  append_version(out, head.version_major, head.version_minor);
  out += "\r\n";
  append_headers(out, head.headers);
  return out;
}

std::string serialize(const ResponseHead& head) {
  const std::string_view reason = head.reason.empty() ? reason_phrase(head.status) : head.reason;
  std::string out;
  out.reserve(reason.size() + 16 + headers_size_hint(head.headers));
  append_version(out, head.version_major, head.version_minor);
  out.push_back(' ');
  out += std::to_string(head.status);
  out.push_back(' ');
  append_sanitized(out, reason);
  out += "\r\n";
  append_headers(out, head.headers);
  return out;
}

}  // namespace wsgate::h1
