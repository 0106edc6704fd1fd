// Route matching; see router.hpp.
#include "gateway/router.hpp"

#include <algorithm>
#include <cctype>

namespace wsgate::gw {

namespace {
bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}
}  // namespace

std::string_view Router::strip_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  auto colon = host.rfind(':');
  if (colon != std::string_view::npos && host.find(':') == colon) return host.substr(0, colon);
  return host;
}

bool Router::host_matches(std::string_view pattern, std::string_view host) {
  host = strip_port(host);
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);  // absolute FQDN
  if (pattern.starts_with("*.")) {
    std::string_view suffix = pattern.substr(1);  // ".example.com"
    // "*.example.com" matches "a.example.com" and "a.b.example.com", not "example.com".
    return host.size() > suffix.size() && iequals(host.substr(host.size() - suffix.size()), suffix);
  }
  return iequals(pattern, host);
}

bool Router::path_matches(const RouteConfig& route, std::string_view path) {
  if (route.path) return path == *route.path;
  if (route.path_prefix) {
    const std::string& prefix = *route.path_prefix;
    if (!path.starts_with(prefix)) return false;
    // "/echo" matches "/echo", "/echo/x" and "/echo?x", not "/echoes"; a prefix ending in "/" matches all
    // below.
    return path.size() == prefix.size() || prefix.back() == '/' || path[prefix.size()] == '/';
  }
  return true;
}

const RouteConfig* Router::match(std::string_view host, std::string_view target,
                                 std::span<const std::string> offered) const {
  std::string_view path = target.substr(0, target.find_first_of("?#"));
  for (const RouteConfig& route : config_.routes) {
    if (route.host && !host_matches(*route.host, host)) continue;
    if (!path_matches(route, path)) continue;
    // Subprotocol names are case-sensitive tokens (RFC 6455 §4.1, §11.5).
    if (route.subprotocol && std::find(offered.begin(), offered.end(), *route.subprotocol) == offered.end()) {
      continue;
    }
    return &route;
  }
  return nullptr;
}

}  // namespace wsgate::gw
