// Header blocks as the h2 sessions surface them: an RFC 8441 extended CONNECT request, the
// response to it, and the problems our checks add on top of nghttp2's own RFC 9113 §8.3 checks.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wsgate::h2 {

// One regular header field; names are lower-case on the wire (RFC 9113 §8.2.1).
struct Header {
  std::string name;
  std::string value;
};

// A problem found in an otherwise well-formed header block; the stream is still open so the app
// can answer it with a status instead of a bare RST_STREAM.
enum class HeaderIssue {
  kNone,
  kHeaderListTooLarge,              // over Settings::max_header_list_bytes: answer 431; fields are truncated
  kContentLengthOnExtendedConnect,  // RFC 8441 §4 / RFC 9113 §8.5: a CONNECT has no content: answer 400
};

std::string_view to_string(HeaderIssue issue);

enum class RequestKind {
  kExtendedConnect,  // :method CONNECT with :protocol (RFC 8441 §4)
  kPlainConnect,     // :method CONNECT without :protocol (RFC 9113 §8.5): a tunnel we do not offer
  kOther,            // any other method
};

struct RequestHeaders {
  std::string method;           // :method
  std::string scheme;           // :scheme (empty on a plain CONNECT)
  std::string authority;        // :authority
  std::string path;             // :path (empty on a plain CONNECT)
  std::string protocol;         // :protocol (RFC 8441 §4), empty if absent
  std::vector<Header> headers;  // regular fields in arrival order
  HeaderIssue issue = HeaderIssue::kNone;
  bool end_stream = false;  // the HEADERS frame carried END_STREAM (no data will follow)

  RequestKind kind() const;
  // First value of a regular field, empty if absent; name must be lower-case.
  std::string_view header(std::string_view name) const;
};

struct ResponseHeaders {
  int status = 0;               // :status, a final (non-1xx) status
  std::vector<Header> headers;  // regular fields in arrival order
  HeaderIssue issue = HeaderIssue::kNone;
  bool end_stream = false;  // the HEADERS frame carried END_STREAM

  std::string_view header(std::string_view name) const;
};

}  // namespace wsgate::h2
