// Opening handshake helpers: key/accept (RFC 6455 §1.3, §4.1, §4.2.2), header lists and the
// Sec-WebSocket-Extensions grammar (RFC 6455 §9.1, RFC 7230 §3.2.6 token and quoted-string).
#include "ws/handshake.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace wsgate::ws {

namespace {

// RFC 6455 §1.3: the GUID appended to the key before hashing.
constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

constexpr std::size_t kKeyBytes = 16;  // RFC 6455 §4.1: a randomly selected 16-byte value
constexpr std::size_t kKeyChars = 24;  // its base64 form

std::string base64_encode(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');  // + NUL written by EVP_EncodeBlock
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(std::max(written, 0)));
  return out;
}

constexpr bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// RFC 7230 §3.2.6: tchar.
constexpr bool is_tchar(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return c != '\0' && std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

constexpr bool is_ows(char c) { return c == ' ' || c == '\t'; }

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar);
}

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && is_ows(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_ows(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

// A cursor over a Sec-WebSocket-Extensions value.
class ExtensionReader {
 public:
  explicit ExtensionReader(std::string_view text) : text_(text) {}

  void skip_ows() {
    while (pos_ < text_.size() && is_ows(text_[pos_])) {
      ++pos_;
    }
  }
  bool at_end() const { return pos_ == text_.size(); }
  bool consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  std::optional<std::string> token() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && is_tchar(text_[pos_])) {
      ++pos_;
    }
    if (pos_ == start) {
      return std::nullopt;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  // RFC 7230 §3.2.6: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE.
  std::optional<std::string> quoted_string() {
    if (!consume('"')) {
      return std::nullopt;
    }
    std::string value;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') {
        return value;
      }
      if (c == '\\') {
        if (pos_ == text_.size()) {
          return std::nullopt;
        }
        const char escaped = text_[pos_++];
        if (!is_quoted_char(escaped)) {
          return std::nullopt;
        }
        value.push_back(escaped);
        continue;
      }
      if (!is_quoted_char(c)) {
        return std::nullopt;
      }
      value.push_back(c);
    }
    return std::nullopt;  // unterminated
  }

 private:
  // HTAB, SP, VCHAR and obs-text; no other control characters.
  static bool is_quoted_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7F);
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string compute_accept(std::string_view key) {
  std::string input;
  input.reserve(key.size() + kAcceptGuid.size());
  input.append(key);
  input.append(kAcceptGuid);
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
  return base64_encode(digest.data(), digest.size());
}

bool is_valid_key(std::string_view key) {
  // 16 bytes encode as 22 base64 characters plus "==". The last data character
  // carries 2 bits of data and 4 padding bits; like common decoders we do not
  // insist that the padding bits are zero, since the key still decodes to 16 bytes.
  if (key.size() != kKeyChars || key.substr(22) != "==") {
    return false;
  }
  return std::all_of(key.begin(), key.begin() + 22, is_base64_char);
}

std::string generate_key() {
  std::array<unsigned char, kKeyBytes> nonce{};
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) {
    // Not the data path: a handshake cannot proceed without a random nonce.
    throw std::runtime_error("RAND_bytes failed to generate a Sec-WebSocket-Key");
  }
  return base64_encode(nonce.data(), nonce.size());
}

std::vector<std::string> split_header_list(std::string_view value) {
  std::vector<std::string> elements;
  while (true) {
    const std::size_t comma = value.find(',');
    const std::string_view element = trim_ows(value.substr(0, comma));
    if (!element.empty()) {
      elements.emplace_back(element);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    value.remove_prefix(comma + 1);
  }
  return elements;
}

bool header_list_has_token(std::string_view value, std::string_view token) {
  while (true) {
    const std::size_t comma = value.find(',');
    if (iequals(trim_ows(value.substr(0, comma)), token)) {
      return true;
    }
    if (comma == std::string_view::npos) {
      return false;
    }
    value.remove_prefix(comma + 1);
  }
}

std::optional<std::vector<Extension>> parse_extensions(std::string_view value) {
  std::vector<Extension> extensions;
  ExtensionReader reader(value);
  // RFC 7230 §7: empty list elements (", ,") are tolerated.
  while (true) {
    reader.skip_ows();
    if (reader.at_end()) {
      break;
    }
    if (reader.consume(',')) {
      continue;
    }
    Extension extension;
    auto name = reader.token();
    if (!name) {
      return std::nullopt;
    }
    extension.name = std::move(*name);
    reader.skip_ows();
    while (reader.consume(';')) {
      reader.skip_ows();
      ExtensionParam param;
      auto param_name = reader.token();
      if (!param_name) {
        return std::nullopt;
      }
      param.name = std::move(*param_name);
      reader.skip_ows();
      if (reader.consume('=')) {
        reader.skip_ows();
        std::optional<std::string> param_value;
        if (reader.peek() == '"') {
          param_value = reader.quoted_string();
          // RFC 6455 §9.1: a quoted value, once unescaped, must still be a token.
          if (param_value && !is_token(*param_value)) {
            return std::nullopt;
          }
        } else {
          param_value = reader.token();
        }
        if (!param_value) {
          return std::nullopt;
        }
        param.value = std::move(param_value);
        reader.skip_ows();
      }
      extension.params.push_back(std::move(param));
    }
    extensions.push_back(std::move(extension));
    if (reader.at_end()) {
      break;
    }
    if (!reader.consume(',')) {
      return std::nullopt;
    }
  }
  // RFC 6455 §9.1: extension-list = 1#extension.
  if (extensions.empty()) {
    return std::nullopt;
  }
  return extensions;
}

std::string format_extensions(const std::vector<Extension>& extensions) {
  std::string out;
  for (const Extension& extension : extensions) {
    if (!out.empty()) {
      out += ", ";
    }
    out += extension.name;
    for (const ExtensionParam& param : extension.params) {
      out += "; ";
      out += param.name;
      if (param.value) {
        out += '=';
        if (is_token(*param.value)) {
          out += *param.value;
        } else {
          out += '"';
          for (const char c : *param.value) {
            if (c == '"' || c == '\\') {
              out += '\\';
            }
            out += c;
          }
          out += '"';
        }
      }
    }
  }
  return out;
}

}  // namespace wsgate::ws
