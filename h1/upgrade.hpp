// Classifying a request as an RFC 6455 §4.2.1 opening handshake, and why not.
#pragma once

#include <string_view>

#include "h1/message.hpp"

namespace wsgate::h1 {

enum class UpgradeCheck {
  kOk,
  kNotUpgrade,      // no "Upgrade: websocket" at all: a plain HTTP request (400 on a WebSocket route)
  kBadMethod,       // Upgrade: websocket but method is not GET -> 400 (405 acceptable)
  kBadHttpVersion,  // HTTP/1.0 or lower -> 400
  kMissingHost,     // -> 400
  kMissingConnectionUpgrade,  // Connection lacks the "upgrade" token -> 400
  kMissingKey,                // -> 400
  kBadKey,                    // not base64 of 16 bytes -> 400
  kMissingVersion,  // -> 426 with Sec-WebSocket-Version: 13 (RFC 6455 §4.2.2 step 4 says 400 is fine too; we
                    // use 426)
  kUnsupportedVersion,  // Sec-WebSocket-Version != 13 -> 426 with Sec-WebSocket-Version: 13
};

struct UpgradeClassification {
  UpgradeCheck check = UpgradeCheck::kOk;
  int status = 101;         // the HTTP status to answer with when check != kOk (400 or 426)
  std::string_view reason;  // short human text for the response body ("missing Sec-WebSocket-Key")
};

UpgradeClassification classify_upgrade(const RequestHead& request);

}  // namespace wsgate::h1
