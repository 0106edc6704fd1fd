// Header block helpers: request classification (RFC 8441 §4, RFC 9113 §8.5) and field lookup.
#include "h2/headers.hpp"

#include <algorithm>

namespace wsgate::h2 {
namespace {

std::string_view find_header(const std::vector<Header>& headers, std::string_view name) {
  const auto it =
      std::find_if(headers.begin(), headers.end(), [&](const Header& h) { return h.name == name; });
  return it == headers.end() ? std::string_view() : std::string_view(it->value);
}

}  // namespace

std::string_view to_string(HeaderIssue issue) {
  switch (issue) {
    case HeaderIssue::kNone:
      return "none";
    case HeaderIssue::kHeaderListTooLarge:
      return "header list too large";
    case HeaderIssue::kContentLengthOnExtendedConnect:
      return "content-length on extended CONNECT";
  }
  return "unknown";
}

RequestKind RequestHeaders::kind() const {
  if (method != "CONNECT") return RequestKind::kOther;
  return protocol.empty() ? RequestKind::kPlainConnect : RequestKind::kExtendedConnect;
}

std::string_view RequestHeaders::header(std::string_view name) const { return find_header(headers, name); }

std::string_view ResponseHeaders::header(std::string_view name) const { return find_header(headers, name); }

}  // namespace wsgate::h2
