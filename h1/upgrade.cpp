// Classifying a request as an RFC 6455 §4.2.1 opening handshake, and why not.
//
// The key check and the token-list match are done here rather than through ws/handshake.hpp so that
// h1/ depends only on std (ARCHITECTURE.md layer table); they implement the same rules.
#include "h1/upgrade.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace wsgate::h1 {
namespace {

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// RFC 6455 §4.2.1 item 5: base64 of a 16-byte nonce is 22 alphabet characters and "==". Like common
// decoders, non-zero pad bits in the 22nd character are accepted.
bool is_valid_websocket_key(std::string_view key) {
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  for (std::size_t i = 0; i < 22; ++i) {
    if (!is_base64_char(key[i])) return false;
  }
  return true;
}

UpgradeClassification reject(UpgradeCheck check, int status, std::string_view reason) {
  return UpgradeClassification{check, status, reason};
}

}  // namespace

UpgradeClassification classify_upgrade(const RequestHead& request) {
  const Headers& headers = request.headers;
  // RFC 6455 §4.2.1 item 3: an Upgrade header field containing "websocket" (ASCII case-insensitive).
  if (!headers.has_token("Upgrade", "websocket")) {
    return reject(UpgradeCheck::kNotUpgrade, 400, "not a WebSocket handshake");
  }
  // Item 1: an HTTP/1.1 or higher GET request.
  if (request.method != "GET")
    return reject(UpgradeCheck::kBadMethod, 400, "WebSocket handshake must use GET");
  if (request.version_major < 1 || (request.version_major == 1 && request.version_minor < 1)) {
    return reject(UpgradeCheck::kBadHttpVersion, 400, "WebSocket handshake needs HTTP/1.1");
  }
  // Item 2: a Host header field; RFC 9112 §3.2 also makes more than one Host a 400.
  const std::vector<std::string_view> hosts = headers.get_all("Host");
  if (hosts.empty()) return reject(UpgradeCheck::kMissingHost, 400, "missing Host");
  if (hosts.size() > 1) return reject(UpgradeCheck::kMissingHost, 400, "more than one Host");
  // Item 4: Connection includes the "Upgrade" token (ASCII case-insensitive), among others.
  if (!headers.has_token("Connection", "upgrade")) {
    return reject(UpgradeCheck::kMissingConnectionUpgrade, 400, "missing Connection: Upgrade");
  }
  // Item 5. A repeated key is joined to "a, b", which is not a valid key (RFC 6455 §11.3.1: once only).
  const std::optional<std::string> key = headers.get_joined("Sec-WebSocket-Key");
  if (!key) return reject(UpgradeCheck::kMissingKey, 400, "missing Sec-WebSocket-Key");
  if (!is_valid_websocket_key(*key)) return reject(UpgradeCheck::kBadKey, 400, "invalid Sec-WebSocket-Key");
  // Item 6; RFC 6455 §4.2.2 step 4: answer 426 with the versions we speak.
  const std::optional<std::string> version = headers.get_joined("Sec-WebSocket-Version");
  if (!version) return reject(UpgradeCheck::kMissingVersion, 426, "missing Sec-WebSocket-Version");
  if (*version != "13")
    return reject(UpgradeCheck::kUnsupportedVersion, 426, "unsupported Sec-WebSocket-Version");
  return UpgradeClassification{UpgradeCheck::kOk, 101, {}};
}

}  // namespace wsgate::h1
