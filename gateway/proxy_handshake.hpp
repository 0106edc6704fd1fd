// The protocol-neutral part of proxying a WebSocket handshake, shared by the
// HTTP/1.1 and HTTP/2 front ends: the checks a route makes (Origin), the
// upstream RFC 6455 request built from the client's, the validation of the
// backend's 101 and the client-facing answer headers, and the relay's rules.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gateway/config.hpp"
#include "gateway/deflate_channel.hpp"
#include "gateway/relay.hpp"
#include "h1/message.hpp"

namespace wsgate::gw {

// What either front end knows about a client's WebSocket request.
struct ClientRequest {
  std::string host;     // Host header or :authority (may carry a port)
  std::string target;   // origin-form request-target ("/path?query")
  h1::Headers headers;  // end-to-end fields as received (h2: lower-case names)
  std::string client_ip;
  bool tls = false;
};

// RFC 6455 §10.2 / ASP.NET Core AllowedOrigins: false when the route has an
// allow-list and the request's Origin is not on it. No Origin (a non-browser
// client) passes.
bool origin_allowed(const RouteConfig& route, const h1::Headers& headers);

// Subprotocols the client offers (Sec-WebSocket-Protocol, all fields), in order.
std::vector<std::string> offered_subprotocols(const h1::Headers& headers);

// routes[].require_subprotocol: false when the route requires one and no offer
// survives its allow-list (the handshake is answered 400).
bool subprotocol_requirement_met(const RouteConfig& route, const h1::Headers& headers);

// The gateway's own upgrade request to the backend: the client's end-to-end
// fields minus hop-by-hop ones, a fresh Sec-WebSocket-Key, the offers the route
// allows, and X-Forwarded-For/-Proto/-Host plus Forwarded (RFC 7239).
h1::RequestHead build_upstream_request(const RouteConfig& route, const ClientRequest& client);

struct AcceptedUpgrade {
  std::string error;             // non-empty: the backend's 101 must be refused (502)
  h1::Headers client_headers;    // fields for the client's answer (subprotocol, extensions, cookies...)
  std::uint8_t allowed_rsv = 0;  // RSV bits the negotiated extensions use
  bool deflate = false;          // permessage-deflate was negotiated end to end
  std::optional<ws::DeflateParams> terminated_deflate;  // compression: terminate: agreed with the client
};

// Validates the backend's 101 against what the client offered (RFC 6455 §4.1:
// a subprotocol or extension that was not offered fails the handshake) and
// collects the headers to pass on. Upgrade/Connection/Accept are not included.
// With compression: terminate, negotiates permessage-deflate with the client's
// offer (RFC 7692 §5) and adds the answer to client_headers.
AcceptedUpgrade accept_backend_upgrade(const RouteConfig& route, const ClientRequest& client,
                                       const h1::ResponseHead& backend_answer);

// Headers of a backend's non-101 answer worth passing to the client.
h1::Headers passthrough_answer_headers(const h1::ResponseHead& backend_answer);

// The relay's rules for this route and negotiation.
RelayOptions relay_options(const Config& config, const RouteConfig& route, const AcceptedUpgrade& upgrade);

// compression: terminate with an agreement: how the client Channel is wrapped
// (gateway/deflate_channel.hpp); nullopt: the client Channel is used as it is.
std::optional<DeflateChannelOptions> deflate_channel_options(const RouteConfig& route, const AcceptedUpgrade& upgrade,
                                                             const RelayOptions& relay);

bool iequals(std::string_view a, std::string_view b);

}  // namespace wsgate::gw
