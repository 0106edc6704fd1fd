// The echo backend's answer to an HTTP/1.1 opening handshake (RFC 6455 §4.2.2).
#include "tools/echo_handshake.hpp"

#include <algorithm>
#include <vector>

#include "h1/upgrade.hpp"
#include "ws/handshake.hpp"

namespace wsgate::tools {

namespace {

// A short plain-text answer that ends the connection.
std::string text_response(int status, std::string_view text, bool with_ws_version) {
  // RFC 9110 §15.3.5, §15.4.5: 204 and 304 carry no content.
  const bool no_content = status == 204 || status == 304;
  const std::string body = no_content ? std::string() : "echo: " + std::string(text) + "\n";
  h1::ResponseHead head;
  head.status = status;
  if (with_ws_version) head.headers.add("Sec-WebSocket-Version", "13");  // RFC 6455 §4.2.2 step 4
  head.headers.add("Content-Type", "text/plain; charset=utf-8");
  if (!no_content) head.headers.add("Content-Length", std::to_string(body.size()));
  head.headers.add("Connection", "close");
  return h1::serialize(head) + body;
}

}  // namespace

std::optional<std::string> select_subprotocol(std::span<const std::string> offered,
                                              std::span<const std::string> supported) {
  for (const std::string& name : offered) {
    // Subprotocol names are tokens compared exactly (RFC 6455 §4.1, §11.3.4).
    if (std::find(supported.begin(), supported.end(), name) != supported.end()) return name;
  }
  return std::nullopt;
}

H1HandshakeAnswer answer_h1_handshake(const h1::RequestHead& request,
                                      std::span<const std::string> subprotocols, bool deflate) {
  H1HandshakeAnswer answer;
  const h1::UpgradeClassification check = h1::classify_upgrade(request);
  if (check.check != h1::UpgradeCheck::kOk) {
    answer.response = text_response(check.status, check.reason, true);
    return answer;
  }
  HooksParseResult hooks = parse_hooks(request.target);
  if (!hooks.error.empty()) {
    answer.response = text_response(400, hooks.error, false);
    return answer;
  }
  if (hooks.hooks.status) {
    answer.response =
        text_response(*hooks.hooks.status, "status " + std::to_string(*hooks.hooks.status), false);
    return answer;
  }

  h1::ResponseHead head;
  head.status = 101;
  head.headers.add("Upgrade", "websocket");
  head.headers.add("Connection", "Upgrade");
  head.headers.add("Sec-WebSocket-Accept",
                   ws::compute_accept(request.headers.get("Sec-WebSocket-Key").value_or(std::string_view{})));
  if (const auto offered = request.headers.get_joined("Sec-WebSocket-Protocol")) {
    const std::vector<std::string> offers = ws::split_header_list(*offered);
    if (const auto chosen = select_subprotocol(offers, subprotocols)) {
      head.headers.add("Sec-WebSocket-Protocol", *chosen);
    }
  }
  // RFC 7692 §5: permessage-deflate is the only extension; other offers are declined by omission.
  if (const auto offered = request.headers.get_joined("Sec-WebSocket-Extensions"); offered && deflate) {
    if (auto agreement = negotiate_deflate(*offered)) {
      head.headers.add("Sec-WebSocket-Extensions", agreement->response);
      answer.deflate = agreement->params;
    }
  }
  answer.upgrade = true;
  answer.response = h1::serialize(head);
  answer.hooks = hooks.hooks;
  return answer;
}

H1HandshakeAnswer answer_bad_head(h1::ParseError error) {
  H1HandshakeAnswer answer;
  const bool too_large = error == h1::ParseError::kHeadTooLarge || error == h1::ParseError::kTooManyHeaders ||
                         error == h1::ParseError::kLineTooLong;
  answer.response = text_response(too_large ? 431 : 400, h1::to_string(error), false);
  return answer;
}

}  // namespace wsgate::tools
