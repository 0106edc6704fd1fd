// The echo backend's answer to an opening handshake (RFC 6455 §4.2.2): 101 with the accept key and
// subprotocol, or an HTTP error; the subprotocol choice is shared with a later RFC 8441 front end.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "h1/head_parser.hpp"
#include "h1/message.hpp"
#include "tools/echo_deflate.hpp"
#include "tools/echo_hooks.hpp"

namespace wsgate::tools {

// RFC 6455 §4.2.2 step 5: picks the first subprotocol the client offered (its preference order) that
// the server supports; nullopt if there is none in common, and the response names none.
std::optional<std::string> select_subprotocol(std::span<const std::string> offered,
                                              std::span<const std::string> supported);

struct H1HandshakeAnswer {
  bool upgrade = false;  // true: `response` is a 101 and WebSocket frames follow; false: close after it
  std::string response;  // the serialised response head, with its body if any
  EchoHooks hooks;       // what to do after the 101 (valid when upgrade)
  std::optional<DeflateParams> deflate;  // permessage-deflate agreed in the 101 (valid when upgrade)
};

// Answers a complete request head: 400/426 for a bad handshake (with Sec-WebSocket-Version: 13),
// 400 for a bad hook value, NNN for /status/NNN, else 101 (with permessage-deflate when `deflate`
// and the client offered an acceptable one).
H1HandshakeAnswer answer_h1_handshake(const h1::RequestHead& request,
                                      std::span<const std::string> subprotocols, bool deflate);

// Answers a request head the parser rejected: 431 for size limits, 400 otherwise.
H1HandshakeAnswer answer_bad_head(h1::ParseError error);

}  // namespace wsgate::tools
