// Shared WebSocket proxy handshake logic; see proxy_handshake.hpp.
#include "gateway/proxy_handshake.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "ws/frame.hpp"
#include "ws/handshake.hpp"
#include "ws/permessage_deflate.hpp"

namespace wsgate::gw {

namespace {

// RFC 9110 §7.6.1 hop-by-hop fields, plus the handshake fields the gateway
// regenerates for its own upstream handshake.
constexpr std::array<std::string_view, 16> kNotForwarded = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-accept",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "forwarded",
    "content-length",
};

// Fields of the backend's answer that the gateway writes itself (or that are
// hop-by-hop, or do not exist in HTTP/2).
constexpr std::array<std::string_view, 10> kNotForwardedBack = {
    "connection", "keep-alive",           "proxy-connection", "te",   "trailer", "transfer-encoding",
    "upgrade",    "sec-websocket-accept", "content-length",   "date",
};

template <std::size_t N>
bool in_list(const std::array<std::string_view, N>& list, std::string_view name) {
  return std::any_of(list.begin(), list.end(), [&](std::string_view n) { return iequals(n, name); });
}

// Offers the route allows: the subprotocol allow-list.
std::optional<std::string> allowed_subprotocols(const RouteConfig& route, const h1::Headers& headers) {
  auto offered = headers.get_joined("Sec-WebSocket-Protocol");
  if (!offered) return std::nullopt;
  std::string out;
  for (const std::string& p : ws::split_header_list(*offered)) {
    if (!route.subprotocols.empty() &&
        std::find(route.subprotocols.begin(), route.subprotocols.end(), p) == route.subprotocols.end()) {
      continue;
    }
    if (!out.empty()) out += ", ";
    out += p;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace

std::vector<std::string> offered_subprotocols(const h1::Headers& headers) {
  auto offered = headers.get_joined("Sec-WebSocket-Protocol");
  if (!offered) return {};
  return ws::split_header_list(*offered);
}

bool subprotocol_requirement_met(const RouteConfig& route, const h1::Headers& headers) {
  return !route.require_subprotocol || allowed_subprotocols(route, headers).has_value();
}

namespace {

// Extension offers the route allows: permessage-deflate is stripped for compression: off.
std::optional<std::string> allowed_extensions(const RouteConfig& route, const h1::Headers& headers) {
  auto offered = headers.get_joined("Sec-WebSocket-Extensions");
  if (!offered) return std::nullopt;
  if (route.compression == Compression::kPassthrough) return offered;
  auto parsed = ws::parse_extensions(*offered);
  if (!parsed) return std::nullopt;  // a malformed offer is not forwarded
  std::vector<ws::Extension> kept;
  for (auto& e : *parsed) {
    if (!iequals(e.name, "permessage-deflate")) kept.push_back(std::move(e));
  }
  if (kept.empty()) return std::nullopt;
  return ws::format_extensions(kept);
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool origin_allowed(const RouteConfig& route, const h1::Headers& headers) {
  if (route.allowed_origins.empty()) return true;
  auto origin = headers.get("Origin");
  if (!origin) return true;
  return std::any_of(route.allowed_origins.begin(), route.allowed_origins.end(),
                     [&](const std::string& o) { return o == "*" || iequals(o, *origin); });
}

h1::RequestHead build_upstream_request(const RouteConfig& route, const ClientRequest& client) {
  h1::RequestHead up;
  up.method = "GET";
  up.target = client.target;
  up.headers.add("Host", client.host);
  std::vector<std::string> connection_tokens;
  for (std::string_view v : client.headers.get_all("Connection")) {
    for (auto& t : ws::split_header_list(v)) connection_tokens.push_back(t);
  }
  for (const auto& h : client.headers) {
    if (in_list(kNotForwarded, h.name) || iequals(h.name, "Host")) continue;
    if (iequals(h.name, "Sec-WebSocket-Protocol") || iequals(h.name, "Sec-WebSocket-Extensions")) continue;
    if (std::any_of(connection_tokens.begin(), connection_tokens.end(),
                    [&](const std::string& t) { return iequals(t, h.name); })) {
      continue;  // RFC 9110 §7.6.1: fields named in Connection are hop-by-hop
    }
    up.headers.add(h.name, h.value);
  }
  up.headers.add("Upgrade", "websocket");
  up.headers.add("Connection", "Upgrade");
  up.headers.add("Sec-WebSocket-Key", ws::generate_key());
  up.headers.add("Sec-WebSocket-Version", "13");
  if (auto protocols = allowed_subprotocols(route, client.headers)) {
    up.headers.add("Sec-WebSocket-Protocol", *protocols);
  }
  if (auto extensions = allowed_extensions(route, client.headers)) {
    up.headers.add("Sec-WebSocket-Extensions", *extensions);
  }
  const std::string& ip = client.client_ip;
  const std::string proto = client.tls ? "https" : "http";
  auto xff = client.headers.get_joined("X-Forwarded-For");
  up.headers.add("X-Forwarded-For", xff ? *xff + ", " + ip : ip);
  up.headers.add("X-Forwarded-Proto", proto);
  if (!client.host.empty()) up.headers.add("X-Forwarded-Host", client.host);
  // RFC 7239 §4-§6: IPv6 nodes are quoted and bracketed.
  std::string node = ip.find(':') != std::string::npos ? "\"[" + ip + "]\"" : ip;
  std::string forwarded = "for=" + node + ";proto=" + proto;
  if (!client.host.empty()) forwarded += ";host=\"" + client.host + "\"";
  auto prior = client.headers.get_joined("Forwarded");
  up.headers.add("Forwarded", prior ? *prior + ", " + forwarded : forwarded);
  return up;
}

AcceptedUpgrade accept_backend_upgrade(const RouteConfig& route, const ClientRequest& client,
                                       const h1::ResponseHead& backend_answer) {
  AcceptedUpgrade out;
  if (auto chosen = backend_answer.headers.get("Sec-WebSocket-Protocol")) {
    auto offered = allowed_subprotocols(route, client.headers);
    auto list = offered ? ws::split_header_list(*offered) : std::vector<std::string>{};
    if (std::find(list.begin(), list.end(), std::string(*chosen)) == list.end()) {
      out.error = "backend chose a subprotocol that was not offered";
      return out;
    }
  }
  if (auto chosen = backend_answer.headers.get_joined("Sec-WebSocket-Extensions")) {
    auto accepted = ws::parse_extensions(*chosen);
    auto offered_text = allowed_extensions(route, client.headers);
    auto offered = offered_text ? ws::parse_extensions(*offered_text) : std::nullopt;
    if (!accepted) {
      out.error = "backend answered a malformed Sec-WebSocket-Extensions";
      return out;
    }
    for (const auto& e : *accepted) {
      bool was_offered =
          offered && std::any_of(offered->begin(), offered->end(),
                                 [&](const ws::Extension& o) { return iequals(o.name, e.name); });
      if (!was_offered) {
        out.error = "backend accepted an extension that was not offered";
        return out;
      }
      if (iequals(e.name, "permessage-deflate")) {
        out.deflate = true;
        out.allowed_rsv |= ws::kRsv1;  // RFC 7692 §6: RSV1 marks a compressed message
      } else {
        out.allowed_rsv |= ws::kRsv1 | ws::kRsv2 | ws::kRsv3;  // unknown extension: its bits pass through
      }
    }
  }
  for (const auto& h : backend_answer.headers) {
    if (in_list(kNotForwardedBack, h.name)) continue;
    out.client_headers.add(h.name, h.value);
  }
  // RFC 7692 termination: the backend was offered no permessage-deflate. Should it have
  // agreed to another extension, whose RSV bits and order are unknown here, stay out of the way.
  if (route.compression == Compression::kTerminate && out.allowed_rsv == 0) {
    if (auto offered = client.headers.get_joined("Sec-WebSocket-Extensions")) {
      ws::DeflateServerOptions server;
      server.server_max_window_bits = route.deflate.server_max_window_bits;
      server.client_max_window_bits = route.deflate.client_max_window_bits;
      server.server_no_context_takeover = route.deflate.server_no_context_takeover;
      server.client_no_context_takeover = route.deflate.client_no_context_takeover;
      if (auto agreement = ws::negotiate_deflate(*offered, server)) {
        out.terminated_deflate = agreement->params;
        out.client_headers.add("Sec-WebSocket-Extensions", ws::format_extensions({agreement->response}));
      }
    }
  }
  return out;
}

std::optional<DeflateChannelOptions> deflate_channel_options(const RouteConfig& route, const AcceptedUpgrade& upgrade,
                                                             const RelayOptions& relay) {
  if (!upgrade.terminated_deflate) return std::nullopt;
  DeflateChannelOptions o;
  o.params = *upgrade.terminated_deflate;
  o.max_message_bytes = relay.client_frames.max_message_bytes;  // the same limit on both, see relay_options
  o.min_message_bytes = route.deflate.min_message_bytes;
  o.level = route.deflate.level;
  o.mem_level = route.deflate.mem_level;
  o.client_frames = relay.client_frames.frame;
  return o;
}

h1::Headers passthrough_answer_headers(const h1::ResponseHead& backend_answer) {
  h1::Headers out;
  for (const auto& h : backend_answer.headers) {
    if (in_list(kNotForwardedBack, h.name)) continue;
    out.add(h.name, h.value);
  }
  return out;
}

RelayOptions relay_options(const Config& config, const RouteConfig& route, const AcceptedUpgrade& upgrade) {
  RelayOptions options;
  options.buffer_bytes = config.limits.buffer_per_direction;
  options.close_timeout = route.close_timeout.value_or(config.limits.close_timeout);
  options.write_stall_timeout = config.limits.write_stall_timeout;
  options.keepalive[static_cast<int>(Side::kClient)] = {route.keepalive.interval, route.keepalive.timeout};
  options.keepalive[static_cast<int>(Side::kBackend)] = {route.backend_keepalive.interval,
                                                         route.backend_keepalive.timeout};
  options.answer_pings = route.peer_pings == PeerPings::kAnswer;
  options.idle_timeout = route.idle_timeout;
  auto frame_rules = [&](ws::Sender sender) {
    ws::FrameScannerOptions o;
    o.frame.sender = sender;
    o.frame.allowed_rsv = upgrade.allowed_rsv;
    o.max_message_bytes = route.max_message_bytes;
    o.frame.max_frame_bytes = route.max_frame_bytes;
    if (route.validate == Validate::kOff) {
      // Tunnel: only frame boundaries are tracked (for clean closes).
      o.frame.check_mask = false;
      o.frame.strict_lengths = false;
      o.frame.allowed_rsv = ws::kRsv1 | ws::kRsv2 | ws::kRsv3;
      o.check_messages = false;
    }
    // Compressed text cannot be checked without inflating it.
    o.validate_utf8 = route.validate == Validate::kFull && !upgrade.deflate;
    return o;
  };
  options.client_frames = frame_rules(ws::Sender::kClient);
  options.backend_frames = frame_rules(ws::Sender::kServer);
  if (upgrade.terminated_deflate) {
    // The relay sees inflated client messages: one limit serves max_message_bytes and the
    // bomb limit, so the DeflateChannel can make the relay close with 1009 (deflate_channel.hpp).
    std::uint64_t& limit = options.client_frames.max_message_bytes;
    limit = limit == 0 ? route.deflate.max_inflated_message_bytes
                       : std::min(limit, route.deflate.max_inflated_message_bytes);
  }
  return options;
}

}  // namespace wsgate::gw
