// Router: picks the route for a request by host and path; first match in
// config order wins (host exact or "*.suffix", path exact or prefix).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "gateway/config.hpp"

namespace wsgate::gw {

class Router {
 public:
  explicit Router(const Config& config) : config_(config) {}

  // `host` is the Host header / :authority (a port suffix is ignored);
  // `target` the request-target (a query string is ignored). nullptr = no route.
  // `offered`: the subprotocols the client offers (a route with match.subprotocol
  // matches only when it is among them).
  const RouteConfig* match(std::string_view host, std::string_view target,
                           std::span<const std::string> offered = {}) const;

  static bool host_matches(std::string_view pattern, std::string_view host);
  static bool path_matches(const RouteConfig& route, std::string_view path);
  // "chat.example.com:8443" -> "chat.example.com"; "[::1]:80" -> "[::1]"
  static std::string_view strip_port(std::string_view host);

 private:
  const Config& config_;
};

}  // namespace wsgate::gw
