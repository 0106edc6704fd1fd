// Opening handshake helpers (RFC 6455 §4.1, §4.2, §9.1; RFC 7692 §5 extension syntax).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsgate::ws {

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
std::string compute_accept(std::string_view key);

// True if `key` is the base64 encoding of exactly 16 bytes (24 chars, "==" pad).
bool is_valid_key(std::string_view key);

// A fresh random key (16 random bytes from OpenSSL's RAND_bytes, base64).
std::string generate_key();

// Splits a comma-separated header list into trimmed, non-empty elements
// (e.g. Sec-WebSocket-Protocol: "chat, superchat" -> {"chat", "superchat"}).
std::vector<std::string> split_header_list(std::string_view value);

// True if the comma-separated list `value` contains `token` (ASCII case-insensitive).
bool header_list_has_token(std::string_view value, std::string_view token);

// Sec-WebSocket-Extensions grammar (RFC 6455 §9.1):
//   extension-list = 1#extension; extension = name *( ";" param )
//   param = token [ "=" (token | quoted-string) ]
struct ExtensionParam {
  std::string name;
  std::optional<std::string> value;  // unquoted
};
struct Extension {
  std::string name;
  std::vector<ExtensionParam> params;
};

// Parses one or more header values; returns nullopt on a syntax error.
std::optional<std::vector<Extension>> parse_extensions(std::string_view value);

// Serialises extensions back to header syntax ("permessage-deflate; client_max_window_bits=10").
std::string format_extensions(const std::vector<Extension>& extensions);

}  // namespace wsgate::ws
