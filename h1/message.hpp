// HTTP/1.1 message heads (RFC 9112 §2-§5): the parsed form and serialisation.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::h1 {

struct Header {
  std::string name;   // as received
  std::string value;  // leading/trailing whitespace removed
};

// Ordered header list with case-insensitive lookup; repeated headers kept.
class Headers {
 public:
  void add(std::string name, std::string value);
  // First value of `name`, if present.
  std::optional<std::string_view> get(std::string_view name) const;
  // All values of `name` in order (repeated headers).
  std::vector<std::string_view> get_all(std::string_view name) const;
  // All values of `name` joined with ", " (RFC 9110 §5.3 list semantics).
  std::optional<std::string> get_joined(std::string_view name) const;
  // True if any value of `name`, read as a comma list, has `token` (case-insensitive).
  bool has_token(std::string_view name, std::string_view token) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }
  void remove(std::string_view name);
  std::size_t size() const { return items_.size(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<Header> items_;
};

struct RequestHead {
  std::string method;
  std::string target;  // request-target as sent (origin-form "/path?q" normally)
  int version_major = 1;
  int version_minor = 1;
  Headers headers;
};

struct ResponseHead {
  int status = 200;
  std::string reason;  // empty = standard reason phrase for `status`
  int version_major = 1;
  int version_minor = 1;
  Headers headers;
};

// Standard reason phrase ("Switching Protocols" for 101, ...), "Unknown" otherwise.
std::string_view reason_phrase(int status);

// "GET /x HTTP/1.1\r\nName: value\r\n...\r\n\r\n". The version is taken from the head. CR, LF and NUL
// in a caller-supplied field are written as spaces so one header never becomes two lines.
std::string serialize(const RequestHead& head);
// "HTTP/1.1 101 Switching Protocols\r\n...\r\n\r\n"
std::string serialize(const ResponseHead& head);

}  // namespace wsgate::h1
