// The echo backend's test hooks and their content.
#include "tools/echo_hooks.hpp"

#include <array>
#include <charconv>
#include <vector>

namespace wsgate::tools {

namespace {

constexpr std::uint64_t kMaxHookMs = 24ULL * 60 * 60 * 1000;  // a day: longer is surely a typo

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (byte < 0x20 || byte == 0x7F) {
      out += "\\u00";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    } else {
      out.push_back(c);  // obs-text (0x80-0xFF) passes through as received
    }
  }
  out.push_back('"');
}

}  // namespace

HooksParseResult parse_hooks(std::string_view target) {
  HooksParseResult result;
  const std::size_t query_at = target.find('?');
  const std::string_view path = target.substr(0, query_at);
  const std::string_view query =
      query_at == std::string_view::npos ? std::string_view{} : target.substr(query_at + 1);

  constexpr std::string_view kStatusPrefix = "/status/";
  if (path.starts_with(kStatusPrefix)) {
    const auto status = parse_decimal(path.substr(kStatusPrefix.size()));
    // 1xx would not end the exchange, so only final statuses make sense here.
    if (!status || *status < 200 || *status > 599) {
      result.error = "/status/NNN needs NNN in 200-599";
      return result;
    }
    result.hooks.status = static_cast<int>(*status);
  } else if (path == "/headers") {
    result.hooks.send_headers = true;
  }

  std::string_view rest = query;
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (name == "flood") {
      const auto bytes = parse_decimal(value);
      if (!bytes) {
        result.error = "flood needs a byte count";
        return result;
      }
      result.hooks.flood_bytes = *bytes;
    } else if (name == "close_after_ms" || name == "drop_after_ms") {
      const auto ms = parse_decimal(value);
      if (!ms || *ms > kMaxHookMs) {
        result.error = std::string(name) + " needs milliseconds (at most a day)";
        return result;
      }
      auto& slot = name == "close_after_ms" ? result.hooks.close_after : result.hooks.drop_after;
      slot = std::chrono::milliseconds(*ms);
    }
  }
  return result;
}

std::string headers_to_json(const h1::Headers& headers) {
  std::string out = "{";
  std::vector<std::string_view> seen;
  for (const h1::Header& header : headers) {
    bool repeated = false;
    for (const std::string_view name : seen) repeated = repeated || iequals(name, header.name);
    if (repeated) continue;
    seen.push_back(header.name);
    std::string name = header.name;
    for (char& c : name) c = ascii_lower(c);
    if (out.size() > 1) out.push_back(',');
    append_json_string(out, name);
    out.push_back(':');
    append_json_string(out, headers.get_joined(header.name).value_or(std::string{}));
  }
  out.push_back('}');
  return out;
}

std::span<const std::uint8_t> flood_message() {
  static const std::array<std::uint8_t, kFloodMessageBytes> kMessage = [] {
    std::array<std::uint8_t, kFloodMessageBytes> bytes{};
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>((i * 31 + 7) & 0xFF);
    return bytes;
  }();
  return kMessage;
}

}  // namespace wsgate::tools
