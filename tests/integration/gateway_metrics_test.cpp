// Observability end to end (docs/observability.md): real wsgate + wsgate-echo processes, WebSockets
// over HTTP/1.1 and h2c (RFC 8441), and the admin listener scraped over HTTP. Exact values for the
// Prometheus series (streams, handshakes by code, messages/frames/bytes per direction, closes by
// initiator and code, client connections, upstream connect errors), /healthz and /readyz (503 while
// a SIGTERM drain runs), the status page and /status.json, and the JSON access log.
// Every wait is bounded; counters that settle after a close are polled on /metrics.
#include <signal.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "tests/integration/client_helpers.hpp"
#include "tests/integration/gateway_test_util.hpp"
#include "tests/integration/h2_client.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/ws_client.hpp"

namespace wsgate::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// A minimal JSON reader (RFC 8259), enough to probe /status.json and access-log lines.

struct Json {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;

  bool is_null() const { return kind == Kind::kNull; }
  bool is_string() const { return kind == Kind::kString; }
  bool is_number() const { return kind == Kind::kNumber; }
  bool has(std::string_view key) const { return find(key) != nullptr; }
  const Json* find(std::string_view key) const {
    if (kind != Kind::kObject) return nullptr;
    for (const auto& [k, v] : object) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  // The member, or a null value when it is absent (so chains never crash; has() tells them apart).
  const Json& operator[](std::string_view key) const {
    static const Json kNull;
    const Json* found = find(key);
    return found != nullptr ? *found : kNull;
  }
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : text_(text) {}

  std::optional<Json> document() {
    Json value;
    if (!parse_value(value, 0)) return std::nullopt;
    skip_space();
    if (pos_ != text_.size()) {
      fail("trailing bytes");
      return std::nullopt;
    }
    return value;
  }
  const std::string& error() const { return error_; }

 private:
  bool fail(const std::string& what) {
    if (error_.empty()) error_ = what + " at byte " + std::to_string(pos_);
    return false;
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  bool parse_value(Json& out, int depth) {
    if (depth > 64) return fail("too deep");
    skip_space();
    if (pos_ >= text_.size()) return fail("unexpected end");
    const char c = text_[pos_];
    if (c == '{') return parse_object(out, depth);
    if (c == '[') return parse_array(out, depth);
    if (c == '"') {
      out.kind = Json::Kind::kString;
      return parse_string(out.string);
    }
    if (literal("null")) {
      out.kind = Json::Kind::kNull;
      return true;
    }
    if (literal("true") || literal("false")) {
      out.kind = Json::Kind::kBool;
      out.boolean = text_[pos_ - 1] == 'e' && text_[pos_ - 2] == 'u';
      return true;
    }
    return parse_number(out);
  }
  bool parse_number(Json& out) {
    const std::size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    const std::size_t digits = pos_;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_])) != 0) ++pos_;
    if (pos_ == digits) return fail("bad value");
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      const std::size_t frac = pos_;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_])) != 0) ++pos_;
      if (pos_ == frac) return fail("bad fraction");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      const std::size_t exp = pos_;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_])) != 0) ++pos_;
      if (pos_ == exp) return fail("bad exponent");
    }
    out.kind = Json::Kind::kNumber;
    out.number = std::strtod(std::string(text_.substr(start, pos_ - start)).c_str(), nullptr);
    return true;
  }
  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  bool hex4(std::uint32_t& cp) {
    if (pos_ + 4 > text_.size()) return false;
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[pos_++];
      cp <<= 4;
      if (h >= '0' && h <= '9') cp |= static_cast<std::uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') cp |= static_cast<std::uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') cp |= static_cast<std::uint32_t>(h - 'A' + 10);
      else return false;
    }
    return true;
  }
  bool parse_string(std::string& out) {
    ++pos_;  // opening quote
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return fail("raw control character");
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      const char e = text_[pos_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(cp)) return fail("bad \\u escape");
          if (cp >= 0xD800 && cp < 0xDC00 && text_.substr(pos_, 2) == "\\u") {
            pos_ += 2;
            std::uint32_t low = 0;
            if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return fail("bad surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          return fail("bad escape");
      }
    }
    return fail("unterminated string");
  }
  bool parse_array(Json& out, int depth) {
    out.kind = Json::Kind::kArray;
    ++pos_;
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      Json item;
      if (!parse_value(item, depth + 1)) return false;
      out.array.push_back(std::move(item));
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return fail("expected , or ]");
    }
  }
  bool parse_object(Json& out, int depth) {
    out.kind = Json::Kind::kObject;
    ++pos_;
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != '"') return fail("expected a key");
      std::string key;
      if (!parse_string(key)) return false;
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != ':') return fail("expected :");
      ++pos_;
      Json value;
      if (!parse_value(value, depth + 1)) return false;
      out.object.emplace_back(std::move(key), std::move(value));
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return fail("expected , or }");
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::string error_;
};

::testing::AssertionResult parse_json(std::string_view text, Json& out) {
  JsonReader reader(text);
  std::optional<Json> doc = reader.document();
  if (!doc) {
    return ::testing::AssertionFailure() << "invalid JSON (" << reader.error() << "): "
                                         << text.substr(0, 400);
  }
  out = std::move(*doc);
  return ::testing::AssertionSuccess();
}

// The object in `array` whose "name" member is `name`, or nullptr.
const Json* by_name(const Json& array, std::string_view name) {
  for (const Json& item : array.array) {
    if (item["name"].string == name) return &item;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Prometheus text exposition format 0.0.4: samples keyed by name and (sorted) labels.

using Labels = std::map<std::string, std::string>;

class Scrape {
 public:
  static std::optional<Scrape> parse(std::string_view text, std::string* error) {
    Scrape s;
    std::size_t line_start = 0;
    while (line_start < text.size()) {
      std::size_t line_end = text.find('\n', line_start);
      if (line_end == std::string_view::npos) line_end = text.size();
      std::string_view line = text.substr(line_start, line_end - line_start);
      line_start = line_end + 1;
      if (line.empty() || line.front() == '#') continue;
      std::size_t i = 0;
      while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
      std::string name(line.substr(0, i));
      Labels labels;
      if (i < line.size() && line[i] == '{') {
        ++i;
        while (i < line.size() && line[i] != '}') {
          const std::size_t eq = line.find('=', i);
          if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
            if (error) *error = "bad label in: " + std::string(line);
            return std::nullopt;
          }
          std::string key(line.substr(i, eq - i));
          std::string value;
          std::size_t j = eq + 2;
          for (; j < line.size() && line[j] != '"'; ++j) {
            if (line[j] == '\\' && j + 1 < line.size()) {
              ++j;
              value.push_back(line[j] == 'n' ? '\n' : line[j]);
            } else {
              value.push_back(line[j]);
            }
          }
          if (j >= line.size()) {
            if (error) *error = "unterminated label value in: " + std::string(line);
            return std::nullopt;
          }
          labels[key] = value;
          i = j + 1;
          if (i < line.size() && line[i] == ',') ++i;
        }
        ++i;  // '}'
      }
      while (i < line.size() && line[i] == ' ') ++i;
      const std::string value_text(line.substr(i, line.find(' ', i) - i));
      char* end = nullptr;
      const double value = value_text == "+Inf"   ? INFINITY
                           : value_text == "-Inf" ? -INFINITY
                                                  : std::strtod(value_text.c_str(), &end);
      if (value_text.empty() || (end != nullptr && *end != '\0')) {
        if (error) *error = "bad value in: " + std::string(line);
        return std::nullopt;
      }
      s.samples_.push_back({std::move(name), std::move(labels), value});
    }
    return s;
  }

  // The sample with exactly these labels.
  std::optional<double> value(std::string_view name, const Labels& labels = {}) const {
    for (const auto& sample : samples_) {
      if (sample.name == name && sample.labels == labels) return sample.value;
    }
    return std::nullopt;
  }
  // Sum over every sample of `name` whose labels include `subset`.
  double sum(std::string_view name, const Labels& subset = {}) const {
    double total = 0;
    for (const auto& sample : samples_) {
      if (sample.name != name) continue;
      const bool matches = std::all_of(subset.begin(), subset.end(), [&](const auto& kv) {
        auto it = sample.labels.find(kv.first);
        return it != sample.labels.end() && it->second == kv.second;
      });
      if (matches) total += sample.value;
    }
    return total;
  }
  std::size_t count(std::string_view name) const {
    return static_cast<std::size_t>(
        std::count_if(samples_.begin(), samples_.end(), [&](const auto& s) { return s.name == name; }));
  }

 private:
  struct Sample {
    std::string name;
    Labels labels;
    double value = 0;
  };
  std::vector<Sample> samples_;
};

std::string describe(std::string_view name, const Labels& labels) {
  std::string out(name);
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k + "=\"" + v + "\"";
  }
  return out + '}';
}

// GET /metrics on the admin port, parsed.
::testing::AssertionResult scrape(std::uint16_t admin_port, Scrape& out, std::string* raw = nullptr) {
  const HttpResponse response = http_get(admin_port, "/metrics", 5s);
  if (response.status != 200) {
    return ::testing::AssertionFailure() << "GET /metrics: status " << response.status << " " << response.error;
  }
  if (raw != nullptr) *raw = response.body;
  std::string error;
  auto parsed = Scrape::parse(response.body, &error);
  if (!parsed) return ::testing::AssertionFailure() << "unparsable /metrics: " << error;
  out = std::move(*parsed);
  return ::testing::AssertionSuccess();
}

// Expected exact values, checked against one scrape; lists every mismatch.
using Expectations = std::vector<std::pair<std::pair<std::string, Labels>, double>>;

::testing::AssertionResult matches(const Scrape& s, const Expectations& expected) {
  std::string mismatches;
  for (const auto& [key, want] : expected) {
    const std::optional<double> got = s.value(key.first, key.second);
    if (!got || *got != want) {
      mismatches += "\n  " + describe(key.first, key.second) + " = " + (got ? std::to_string(*got) : "absent") +
                    ", want " + std::to_string(want);
    }
  }
  if (mismatches.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "metrics differ:" << mismatches;
}

// Scrapes until every expectation holds (counters settle shortly after a close), at most `timeout`;
// the last scrape is left in `last`.
::testing::AssertionResult settle(std::uint16_t admin_port, const Expectations& expected, Scrape& last,
                                  std::chrono::milliseconds timeout = 10s) {
  const auto deadline = Clock::now() + timeout;
  ::testing::AssertionResult result = ::testing::AssertionFailure() << "no scrape";
  for (;;) {
    if (auto scraped = scrape(admin_port, last); !scraped) {
      result = scraped;
    } else {
      result = matches(last, expected);
      if (result) return result;
    }
    if (Clock::now() >= deadline) return result;
    std::this_thread::sleep_for(50ms);
  }
}

// ---------------------------------------------------------------------------------------------
// Wire sizes of WebSocket frames (RFC 6455 §5.2): clients mask, servers do not.

std::uint64_t frame_bytes(std::size_t payload, bool masked) {
  std::uint64_t header = 2;
  if (payload >= 65536) header += 8;
  else if (payload >= 126) header += 2;
  if (masked) header += 4;
  return header + payload;
}

struct Traffic {
  std::uint64_t frames = 0;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
};

struct Flow {
  Traffic c2b;  // client_to_backend
  Traffic b2c;  // backend_to_client
  // One echoed message of `fragments` frames with these payload sizes.
  void echoed_message(const std::vector<std::size_t>& fragments) {
    for (std::size_t size : fragments) {
      c2b.frames++;
      c2b.bytes += frame_bytes(size, true);
      b2c.frames++;
      b2c.bytes += frame_bytes(size, false);
    }
    c2b.messages++;
    b2c.messages++;
  }
  void client_frame(std::size_t payload) {
    c2b.frames++;
    c2b.bytes += frame_bytes(payload, true);
  }
  void backend_frame(std::size_t payload) {
    b2c.frames++;
    b2c.bytes += frame_bytes(payload, false);
  }
};

void expect_traffic(Expectations& e, std::string_view route, const Flow& flow) {
  for (const auto& [dir, t] : {std::pair{"client_to_backend", flow.c2b}, std::pair{"backend_to_client", flow.b2c}}) {
    const Labels labels{{"route", std::string(route)}, {"direction", dir}};
    e.push_back({{"wsgate_websocket_messages_total", labels}, static_cast<double>(t.messages)});
    e.push_back({{"wsgate_websocket_frames_total", labels}, static_cast<double>(t.frames)});
    e.push_back({{"wsgate_websocket_bytes_total", labels}, static_cast<double>(t.bytes)});
  }
}

// ---------------------------------------------------------------------------------------------

// Two workers, so that the per-worker cells are folded at scrape time; one listener with h2c and
// http/1.1; route echo to wsgate-echo, route dead to a closed port. No `admin:` key: the harness adds
// `admin: {address: 127.0.0.1:0}`.
constexpr std::string_view kConfig = R"(
workers: 2
drain_timeout: ${DRAIN}
listeners:
  - name: main
    address: 127.0.0.1:0
    protocols: [h2c, http/1.1]
access_log:
  path: ${ACCESS_LOG}
routes:
  - name: echo
    match: {path_prefix: /echo}
    backend: echo
  - name: dead
    match: {path_prefix: /dead}
    backend: dead
backends:
  - name: echo
    endpoints: [${ECHO}]
  - name: dead
    endpoints: [127.0.0.1:${CLOSED}]
    connect_timeout: 1s
)";

class GatewayMetrics : public ::testing::Test {
 protected:
  void start(std::string access_log = "off", std::string drain = "3s") {
    echo_ = std::make_unique<EchoBackend>();
    gateway_ = std::make_unique<Gateway>(format_template(kConfig, {{"ECHO", echo_->address()},
                                                                   {"CLOSED", std::to_string(closed_port())},
                                                                   {"ACCESS_LOG", std::move(access_log)},
                                                                   {"DRAIN", std::move(drain)}}));
    ASSERT_TRUE(gateway_->admin_port()) << "no admin listening line:\n" << gateway_->process().log_tail();
    admin_ = *gateway_->admin_port();
    port_ = gateway_->port("main");
  }

  // An h1 WebSocket on `path`, upgraded.
  ::testing::AssertionResult open_h1(WsClient& client, std::string_view path = "/echo") {
    return upgrade_client(client, port_, ClientTransport::kPlain, path);
  }

  // An h2 stream on `path`; the stream id, or -1 (with a test failure).
  std::int32_t open_h2(H2Client& client, std::string_view path = "/echo") {
    const std::int32_t stream = client.open_websocket(path);
    EXPECT_GT(stream, 0) << client.last_error();
    if (stream <= 0) return -1;
    const auto response = client.wait_response(stream);
    EXPECT_TRUE(response) << "stream " << stream << ": " << client.last_error();
    if (!response) return -1;
    EXPECT_EQ(response->status, 200) << "stream " << stream;
    return response->status == 200 ? stream : -1;
  }

  // Sends `payload` (in fragments of `fragment` bytes if nonzero) and checks the echo; records it in `flow`.
  ::testing::AssertionResult echo_h1(WsClient& client, const std::string& payload, Flow& flow,
                                     std::size_t fragment = 0) {
    if (!client.send_message(ws::Opcode::kText, payload, fragment)) {
      return ::testing::AssertionFailure() << "send: " << client.last_error();
    }
    const auto message = client.recv_message();
    if (!message) return ::testing::AssertionFailure() << "no echo: " << client.last_error();
    if (message->payload != payload) return ::testing::AssertionFailure() << "wrong echo: " << message->payload;
    flow.echoed_message(fragment_sizes(payload.size(), fragment));
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult echo_h2(H2Client& client, std::int32_t stream, const std::string& payload,
                                     Flow& flow) {
    if (!client.send_message(stream, ws::Opcode::kText, payload)) {
      return ::testing::AssertionFailure() << "send on stream " << stream << ": " << client.last_error();
    }
    const auto message = client.recv_message(stream);
    if (!message) return ::testing::AssertionFailure() << "no echo on " << stream << ": " << client.last_error();
    if (message->payload != payload) return ::testing::AssertionFailure() << "wrong echo: " << message->payload;
    flow.echoed_message({payload.size()});
    return ::testing::AssertionSuccess();
  }

  static std::vector<std::size_t> fragment_sizes(std::size_t size, std::size_t fragment) {
    if (fragment == 0 || size <= fragment) return {size};
    std::vector<std::size_t> sizes;
    for (std::size_t done = 0; done < size; done += fragment) sizes.push_back(std::min(fragment, size - done));
    return sizes;
  }

  // The h2 close handshake on one stream, started by the client with `code` (no reason), then both
  // ends of the stream closed.
  ::testing::AssertionResult close_h2(H2Client& client, std::int32_t stream, std::uint16_t code) {
    const auto peer = client.close_and_wait(stream, code);
    if (!peer) return ::testing::AssertionFailure() << "no close back on " << stream << ": " << client.last_error();
    if (peer->close_code != std::optional<std::uint16_t>(code)) {
      return ::testing::AssertionFailure() << "close code " << peer->close_code.value_or(0) << " on " << stream;
    }
    if (!client.run_until([&] { return client.stream_ended_by_peer(stream); }, 5s)) {
      return ::testing::AssertionFailure() << "stream " << stream << " not ended by the gateway";
    }
    client.end_stream(stream);
    if (!client.wait_stream_closed(stream, 5s)) {
      return ::testing::AssertionFailure() << "stream " << stream << " not closed: " << client.last_error();
    }
    return ::testing::AssertionSuccess();
  }

  // The h1 close handshake started by the client; then the gateway closes TCP.
  ::testing::AssertionResult close_h1(WsClient& client, std::uint16_t code) {
    const auto peer = client.close_and_wait(code);
    if (!peer) return ::testing::AssertionFailure() << "no close back: " << client.last_error();
    if (peer->close_code != std::optional<std::uint16_t>(code)) {
      return ::testing::AssertionFailure() << "close code " << peer->close_code.value_or(0);
    }
    if (!client.wait_eof(5s)) return ::testing::AssertionFailure() << "gateway kept TCP open after the close";
    client.disconnect();
    return ::testing::AssertionSuccess();
  }

  std::unique_ptr<EchoBackend> echo_;
  std::unique_ptr<Gateway> gateway_;
  std::uint16_t admin_ = 0;
  std::uint16_t port_ = 0;
};

Labels L(std::initializer_list<std::pair<const std::string, std::string>> labels) { return Labels(labels); }

// ---------------------------------------------------------------------------------------------

TEST_F(GatewayMetrics, ExactCountsForH1AndH2WebSockets) {
  ASSERT_NO_FATAL_FAILURE(start());

  // Before any traffic: the label sets known from the config are there, at 0.
  Scrape s;
  ASSERT_TRUE(scrape(admin_, s));
  {
    Expectations zero;
    for (const char* route : {"echo", "dead"}) {
      for (const char* protocol : {"h1", "h2"}) {
        zero.push_back({{"wsgate_websocket_streams_active", L({{"route", route}, {"protocol", protocol}})}, 0});
        zero.push_back({{"wsgate_websocket_streams_total", L({{"route", route}, {"protocol", protocol}})}, 0});
      }
      for (const char* dir : {"client_to_backend", "backend_to_client"}) {
        zero.push_back({{"wsgate_websocket_messages_total", L({{"route", route}, {"direction", dir}})}, 0});
      }
    }
    for (const char* protocol : {"h1", "h2"}) {
      zero.push_back({{"wsgate_downstream_connections_active", L({{"listener", "main"}, {"protocol", protocol}})}, 0});
    }
    zero.push_back({{"wsgate_workers", {}}, 2});
    zero.push_back({{"wsgate_ready", {}}, 1});
    zero.push_back({{"wsgate_draining", {}}, 0});
    zero.push_back({{"wsgate_backend_endpoints", L({{"backend", "echo"}, {"state", "healthy"}})}, 1});
    zero.push_back({{"wsgate_backend_endpoints", L({{"backend", "echo"}, {"state", "unhealthy"}})}, 0});
    EXPECT_TRUE(matches(s, zero));
    EXPECT_EQ(s.sum("wsgate_websocket_handshakes_total"), 0);
    EXPECT_EQ(s.count("wsgate_websocket_closes_total"), 0u) << "close series appear with their first close";
    EXPECT_EQ(s.count("wsgate_build_info"), 1u);
    EXPECT_EQ(s.sum("wsgate_build_info"), 1);
  }

  // ---- phase 1: K=5 h1 WebSockets, K=4 h2 streams on one h2c connection, known traffic ----
  Flow flow;
  std::vector<WsClient> h1(5);
  for (std::size_t i = 0; i < h1.size(); ++i) ASSERT_TRUE(open_h1(h1[i])) << "h1 #" << i;
  for (std::size_t i = 0; i < h1.size(); ++i) {
    for (std::size_t j = 0; j <= i; ++j) {  // 1 + 2 + 3 + 4 + 5 = 15 messages
      ASSERT_TRUE(echo_h1(h1[i], "h1 client " + std::to_string(i) + " message " + std::to_string(j), flow));
    }
  }
  // One fragmented message: 1 message, 4 frames (200 bytes in 64-byte pieces, the first with a 16-bit length).
  ASSERT_TRUE(echo_h1(h1[0], text_payload(200, 7), flow, 64));
  // One message over 125 bytes in a single frame (16-bit length on the wire).
  ASSERT_TRUE(echo_h1(h1[1], text_payload(300, 9), flow));

  H2Client h2;
  ASSERT_TRUE(h2.connect("127.0.0.1", port_, false)) << h2.last_error();
  std::vector<std::int32_t> streams;
  for (int i = 0; i < 4; ++i) {
    streams.push_back(open_h2(h2));
    ASSERT_GT(streams.back(), 0);
  }
  for (std::size_t i = 0; i < streams.size(); ++i) {  // 2 messages each: 8
    for (int j = 0; j < 2; ++j) {
      ASSERT_TRUE(echo_h2(h2, streams[i], "h2 stream " + std::to_string(i) + " message " + std::to_string(j), flow));
    }
  }
  ASSERT_EQ(flow.c2b.messages, 15u + 2 + 8);
  ASSERT_EQ(flow.c2b.frames, 15u + 4 + 1 + 8);

  // Refused handshakes: no route over h1 and over h2 (route="none"), a refused backend (502).
  {
    WsClient none;
    ASSERT_TRUE(connect_client(none, port_, ClientTransport::kPlain));
    EXPECT_EQ(none.handshake("/nowhere").status, 404);
    WsClient dead;
    ASSERT_TRUE(connect_client(dead, port_, ClientTransport::kPlain));
    EXPECT_EQ(dead.handshake("/dead").status, 502);
  }
  {
    const std::int32_t stream = h2.open_websocket("/nowhere");
    ASSERT_GT(stream, 0) << h2.last_error();
    const auto response = h2.wait_response(stream);
    ASSERT_TRUE(response) << h2.last_error();
    EXPECT_EQ(response->status, 404);
  }

  Expectations phase1 = {
      {{"wsgate_websocket_streams_active", L({{"route", "echo"}, {"protocol", "h1"}})}, 5},
      {{"wsgate_websocket_streams_active", L({{"route", "echo"}, {"protocol", "h2"}})}, 4},
      {{"wsgate_websocket_streams_total", L({{"route", "echo"}, {"protocol", "h1"}})}, 5},
      {{"wsgate_websocket_streams_total", L({{"route", "echo"}, {"protocol", "h2"}})}, 4},
      {{"wsgate_websocket_streams_active", L({{"route", "dead"}, {"protocol", "h1"}})}, 0},
      {{"wsgate_websocket_handshakes_total", L({{"route", "echo"}, {"protocol", "h1"}, {"code", "101"}})}, 5},
      {{"wsgate_websocket_handshakes_total", L({{"route", "echo"}, {"protocol", "h2"}, {"code", "200"}})}, 4},
      {{"wsgate_websocket_handshakes_total", L({{"route", "none"}, {"protocol", "h1"}, {"code", "404"}})}, 1},
      {{"wsgate_websocket_handshakes_total", L({{"route", "none"}, {"protocol", "h2"}, {"code", "404"}})}, 1},
      {{"wsgate_websocket_handshakes_total", L({{"route", "dead"}, {"protocol", "h1"}, {"code", "502"}})}, 1},
      {{"wsgate_upstream_connect_errors_total", L({{"backend", "dead"}, {"reason", "refused"}})}, 1},
      // The 404 and 502 connections are closed by the gateway after their answer (Connection: close).
      {{"wsgate_downstream_connections_active", L({{"listener", "main"}, {"protocol", "h1"}})}, 5},
      {{"wsgate_downstream_connections_active", L({{"listener", "main"}, {"protocol", "h2"}})}, 1},
      {{"wsgate_downstream_connections_total", L({{"listener", "main"}, {"protocol", "h1"}})}, 7},
      {{"wsgate_downstream_connections_total", L({{"listener", "main"}, {"protocol", "h2"}})}, 1},
      {{"wsgate_handshake_duration_seconds_count", L({{"route", "echo"}})}, 9},
      {{"wsgate_handshake_duration_seconds_count", L({{"route", "none"}})}, 2},
      {{"wsgate_handshake_duration_seconds_count", L({{"route", "dead"}})}, 1},
      {{"wsgate_websocket_duration_seconds_count", L({{"route", "echo"}})}, 0},
  };
  expect_traffic(phase1, "echo", flow);
  ASSERT_TRUE(settle(admin_, phase1, s));
  EXPECT_EQ(s.sum("wsgate_websocket_closes_total"), 0);
  EXPECT_EQ(s.sum("wsgate_upstream_connect_errors_total", L({{"backend", "echo"}})), 0);

  // ---- phase 2: closes with known initiators and codes ----
  // Client 1000 on h1 #0 and h2 stream 0, client 4001 ("4xxx") on h2 stream 1.
  ASSERT_TRUE(close_h1(h1[0], 1000));
  flow.client_frame(2);
  flow.backend_frame(2);
  ASSERT_TRUE(close_h2(h2, streams[0], 1000));
  flow.client_frame(2);
  flow.backend_frame(2);
  ASSERT_TRUE(close_h2(h2, streams[1], 4001));
  flow.client_frame(2);
  flow.backend_frame(2);
  // The backend closes one more h1 WebSocket (1000 "bye" after 50 ms); the client answers.
  {
    WsClient closed_by_backend;
    ASSERT_TRUE(open_h1(closed_by_backend, "/echo?close_after_ms=50"));
    const auto close = closed_by_backend.expect_close();
    ASSERT_TRUE(close) << closed_by_backend.last_error();
    EXPECT_EQ(close->close_code, std::optional<std::uint16_t>(1000));
    flow.backend_frame(2 + close->close_reason.size());
    ASSERT_TRUE(closed_by_backend.close(1000));
    flow.client_frame(2);
    EXPECT_TRUE(closed_by_backend.wait_eof(5s)) << "gateway kept TCP open after the close handshake";
  }

  Expectations phase2 = {
      {{"wsgate_websocket_streams_active", L({{"route", "echo"}, {"protocol", "h1"}})}, 4},
      {{"wsgate_websocket_streams_active", L({{"route", "echo"}, {"protocol", "h2"}})}, 2},
      {{"wsgate_websocket_streams_total", L({{"route", "echo"}, {"protocol", "h1"}})}, 6},
      {{"wsgate_websocket_streams_total", L({{"route", "echo"}, {"protocol", "h2"}})}, 4},
      {{"wsgate_websocket_handshakes_total", L({{"route", "echo"}, {"protocol", "h1"}, {"code", "101"}})}, 6},
      {{"wsgate_websocket_handshakes_total", L({{"route", "echo"}, {"protocol", "h2"}, {"code", "200"}})}, 4},
      {{"wsgate_websocket_closes_total", L({{"route", "echo"}, {"initiator", "client"}, {"code", "1000"}})}, 2},
      {{"wsgate_websocket_closes_total", L({{"route", "echo"}, {"initiator", "client"}, {"code", "4xxx"}})}, 1},
      {{"wsgate_websocket_closes_total", L({{"route", "echo"}, {"initiator", "backend"}, {"code", "1000"}})}, 1},
      {{"wsgate_websocket_duration_seconds_count", L({{"route", "echo"}})}, 4},
      {{"wsgate_downstream_connections_active", L({{"listener", "main"}, {"protocol", "h1"}})}, 4},
      {{"wsgate_downstream_connections_active", L({{"listener", "main"}, {"protocol", "h2"}})}, 1},
      {{"wsgate_downstream_connections_total", L({{"listener", "main"}, {"protocol", "h1"}})}, 8},
  };
  expect_traffic(phase2, "echo", flow);
  ASSERT_TRUE(settle(admin_, phase2, s));
  EXPECT_EQ(s.sum("wsgate_websocket_closes_total"), 4) << "no other close series";
  EXPECT_EQ(s.sum("wsgate_websocket_closes_total", L({{"initiator", "gateway"}})), 0);

  // Everything closes cleanly (client, 1000): the gauges return to 0 and the h2 connection, once
  // gone, is observed in h2_streams_per_connection.
  // (A client connection that drops with streams still open is GatewayMetrics.H2ConnectionLoss...)
  ASSERT_TRUE(close_h2(h2, streams[2], 1000));
  ASSERT_TRUE(close_h2(h2, streams[3], 1000));
  h2.transport().disconnect();
  for (std::size_t i = 1; i < h1.size(); ++i) ASSERT_TRUE(close_h1(h1[i], 1000));
  Expectations phase3 = {
      {{"wsgate_websocket_streams_active", L({{"route", "echo"}, {"protocol", "h1"}})}, 0},
      {{"wsgate_websocket_streams_active", L({{"route", "echo"}, {"protocol", "h2"}})}, 0},
      {{"wsgate_downstream_connections_active", L({{"listener", "main"}, {"protocol", "h1"}})}, 0},
      {{"wsgate_downstream_connections_active", L({{"listener", "main"}, {"protocol", "h2"}})}, 0},
      {{"wsgate_websocket_closes_total", L({{"route", "echo"}, {"initiator", "client"}, {"code", "1000"}})}, 8},
      {{"wsgate_h2_streams_per_connection_count", {}}, 1},
  };
  ASSERT_TRUE(settle(admin_, phase3, s));
  // 4 WebSockets, plus the refused 404 stream if every request stream counts.
  const double h2_streams = s.value("wsgate_h2_streams_per_connection_sum").value_or(-1);
  EXPECT_TRUE(h2_streams == 4 || h2_streams == 5) << h2_streams;
  EXPECT_EQ(s.sum("wsgate_websocket_closes_total"), 10) << "no other close series";
  EXPECT_EQ(s.value("wsgate_websocket_duration_seconds_count", L({{"route", "echo"}})), 10);
  EXPECT_EQ(gateway_->stop(), 0);
}

// A backend on a closed port: every attempt is a refused connect, every handshake a 502, over h1 and h2.
TEST_F(GatewayMetrics, UpstreamConnectErrorsAreCountedByReason) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (int i = 0; i < 3; ++i) {
    WsClient client;
    ASSERT_TRUE(connect_client(client, port_, ClientTransport::kPlain));
    const HandshakeResult result = client.handshake("/dead");
    EXPECT_EQ(result.status, 502) << result.body;
  }
  H2Client h2;
  ASSERT_TRUE(h2.connect("127.0.0.1", port_, false)) << h2.last_error();
  const std::int32_t stream = h2.open_websocket("/dead");
  ASSERT_GT(stream, 0);
  const auto response = h2.wait_response(stream);
  ASSERT_TRUE(response) << h2.last_error();
  EXPECT_EQ(response->status, 502);

  Scrape s;
  ASSERT_TRUE(settle(admin_,
                     {{{"wsgate_websocket_handshakes_total", L({{"route", "dead"}, {"protocol", "h1"}, {"code", "502"}})}, 3},
                      {{"wsgate_websocket_handshakes_total", L({{"route", "dead"}, {"protocol", "h2"}, {"code", "502"}})}, 1},
                      {{"wsgate_websocket_streams_total", L({{"route", "dead"}, {"protocol", "h1"}})}, 0}},
                     s));
  // One endpoint: one attempt per handshake (at least one counted, as the alerts need).
  const std::optional<double> refused =
      s.value("wsgate_upstream_connect_errors_total", L({{"backend", "dead"}, {"reason", "refused"}}));
  ASSERT_TRUE(refused) << "no refused series";
  EXPECT_GE(*refused, 1);
  EXPECT_EQ(*refused, 4) << "one refused connect per handshake (single endpoint)";
  EXPECT_EQ(s.sum("wsgate_upstream_connect_errors_total", L({{"backend", "echo"}})), 0);
  EXPECT_EQ(s.value("wsgate_upstream_connect_duration_seconds_count", L({{"backend", "dead"}})), 0)
      << "no usable backend WebSocket, so no connect duration";
  // The endpoint that failed is marked unhealthy for a while.
  EXPECT_EQ(s.value("wsgate_backend_endpoints", L({{"backend", "dead"}, {"state", "unhealthy"}})), 1);
}

TEST_F(GatewayMetrics, HealthzReadyzAndDrain) {
  ASSERT_NO_FATAL_FAILURE(start("off", "3s"));
  const HttpResponse health = http_get(admin_, "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  const HttpResponse ready = http_get(admin_, "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "ready\n");
  EXPECT_EQ(ready.headers.get("Cache-Control"), std::optional<std::string_view>("no-store"));

  // A WebSocket whose client never answers the gateway's close 1001: the drain lasts drain_timeout.
  WsClient stubborn;
  ASSERT_TRUE(open_h1(stubborn));
  Flow unused;
  ASSERT_TRUE(echo_h1(stubborn, "before the drain", unused));

  const auto sent = Clock::now();
  ASSERT_TRUE(gateway_->process().send_signal(SIGTERM));
  // Right after SIGTERM readiness goes 503 (poll: the signal thread may take a moment).
  HttpResponse during;
  const bool not_ready = wait_until(
      [&] {
        during = http_get(admin_, "/readyz", 2s);
        return during.status == 503;
      },
      2s);
  ASSERT_TRUE(not_ready) << "/readyz stayed " << during.status << " " << during.body << " after SIGTERM";
  EXPECT_EQ(during.body, "draining\n");
  EXPECT_LT(Clock::now() - sent, 2s);
  EXPECT_TRUE(gateway_->process().running()) << "the drain should still be waiting for the stubborn client";
  EXPECT_EQ(http_get(admin_, "/healthz", 2s).status, 200) << "liveness holds during the drain";
  Scrape s;
  ASSERT_TRUE(scrape(admin_, s));
  EXPECT_EQ(s.value("wsgate_draining"), 1);
  EXPECT_EQ(s.value("wsgate_ready"), 0);
  EXPECT_EQ(s.value("wsgate_websocket_streams_active", L({{"route", "echo"}, {"protocol", "h1"}})), 1);
  const HttpResponse json = http_get(admin_, "/status.json", 2s);
  Json doc;
  ASSERT_TRUE(parse_json(json.body, doc));
  EXPECT_TRUE(doc["draining"].boolean);
  EXPECT_FALSE(doc["ready"].boolean);

  // The client sees close 1001 and stays silent; the gateway gives up after drain_timeout and exits 0.
  const auto close = stubborn.recv_message(5s);
  ASSERT_TRUE(close) << stubborn.last_error();
  EXPECT_TRUE(close->is_close());
  EXPECT_EQ(close->close_code, std::optional<std::uint16_t>(1001));
  EXPECT_EQ(gateway_->process().wait_exit(10s), std::optional<int>(0));
  const auto drained_after = Clock::now() - sent;
  EXPECT_GE(drained_after, 2500ms) << "the drain should have waited for drain_timeout (3 s)";
  EXPECT_LT(drained_after, 8s);
}

TEST_F(GatewayMetrics, StatusPageAndJsonShowOpenStreams) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::vector<WsClient> clients(2);
  for (auto& c : clients) ASSERT_TRUE(open_h1(c));
  H2Client h2;
  ASSERT_TRUE(h2.connect("127.0.0.1", port_, false)) << h2.last_error();
  ASSERT_GT(open_h2(h2), 0);
  Flow flow;
  ASSERT_TRUE(echo_h1(clients[0], "one message", flow));

  const HttpResponse page = http_get(admin_, "/");
  ASSERT_EQ(page.status, 200) << page.error;
  EXPECT_NE(page.headers.get("Content-Type").value_or("").find("text/html"), std::string_view::npos);
  EXPECT_NE(page.body.find("<td>echo</td>"), std::string::npos) << page.body.substr(0, 2000);
  EXPECT_NE(page.body.find("<td>dead</td>"), std::string::npos);
  EXPECT_NE(page.body.find("<td>main</td>"), std::string::npos);
  EXPECT_NE(page.body.find("3 open WebSockets"), std::string::npos) << page.body.substr(0, 2000);

  const HttpResponse json = http_get(admin_, "/status.json");
  ASSERT_EQ(json.status, 200) << json.error;
  EXPECT_NE(json.headers.get("Content-Type").value_or("").find("application/json"), std::string_view::npos);
  Json doc;
  ASSERT_TRUE(parse_json(json.body, doc));
  EXPECT_TRUE(doc["ready"].boolean);
  EXPECT_FALSE(doc["draining"].boolean);
  EXPECT_EQ(doc["workers"].number, 2);
  EXPECT_EQ(doc["open_websockets"].number, 3);
  EXPECT_EQ(doc["websockets_total"].number, 3);
  EXPECT_EQ(doc["open_connections"].number, 3);
  EXPECT_TRUE(doc["version"].is_string());
  EXPECT_TRUE(doc["uptime_seconds"].is_number());
  const Json* echo_route = by_name(doc["routes"], "echo");
  ASSERT_NE(echo_route, nullptr) << json.body;
  EXPECT_EQ((*echo_route)["open_websockets"].number, 3);
  EXPECT_EQ((*echo_route)["handshakes_total"].number, 3);
  EXPECT_EQ((*echo_route)["handshakes_failed"].number, 0);
  EXPECT_EQ((*echo_route)["client_to_backend_messages"].number, 1);
  EXPECT_EQ((*echo_route)["backend_to_client_messages"].number, 1);
  EXPECT_EQ((*echo_route)["client_to_backend_bytes"].number, static_cast<double>(flow.c2b.bytes));
  EXPECT_EQ((*echo_route)["backend"].string, "echo");
  const Json* dead_route = by_name(doc["routes"], "dead");
  ASSERT_NE(dead_route, nullptr);
  EXPECT_EQ((*dead_route)["open_websockets"].number, 0);
  const Json* listener = by_name(doc["listeners"], "main");
  ASSERT_NE(listener, nullptr);
  EXPECT_EQ((*listener)["open_connections"].number, 3);
  std::vector<std::string> protocols;
  for (const Json& p : (*listener)["protocols"].array) protocols.push_back(p.string);
  EXPECT_EQ(protocols, (std::vector<std::string>{"h2c", "http/1.1"}));
  const Json* backend = by_name(doc["backends"], "echo");
  ASSERT_NE(backend, nullptr);
  ASSERT_EQ((*backend)["endpoints"].array.size(), 1u);
  EXPECT_EQ((*backend)["endpoints"].array[0]["address"].string, echo_->address());
  EXPECT_TRUE((*backend)["endpoints"].array[0]["healthy"].boolean);

  // The rest of the admin table: /metrics content type, HEAD, 404, 405, query strings ignored.
  const HttpResponse metrics = http_get(admin_, "/metrics?x=1");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.headers.get("Content-Type"),
            std::optional<std::string_view>("text/plain; version=0.0.4; charset=utf-8"));
  EXPECT_EQ(metrics.headers.get("Cache-Control"), std::optional<std::string_view>("no-store"));
  EXPECT_EQ(http_get(admin_, "/nope").status, 404);
  const HttpResponse post = http_request("127.0.0.1", admin_, "POST", "/metrics", {}, "x");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.headers.get("Allow"), std::optional<std::string_view>("GET, HEAD"));
  const HttpResponse head = http_request("127.0.0.1", admin_, "HEAD", "/status.json");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
}

// Reads the access log's lines once there are at least `count` (the writer thread is asynchronous).
std::vector<std::string> wait_for_log_lines(const std::filesystem::path& path, std::size_t count,
                                            std::chrono::milliseconds timeout = 5s) {
  std::vector<std::string> lines;
  wait_until(
      [&] {
        lines.clear();
        std::ifstream in(path);
        for (std::string line; std::getline(in, line);) {
          if (!line.empty()) lines.push_back(line);
        }
        return lines.size() >= count;
      },
      timeout);
  return lines;
}

TEST_F(GatewayMetrics, AccessLogHasOneJsonLinePerWebSocketAndRefusal) {
  TempDir dir("wsgate-it-accesslog");
  const std::filesystem::path log_path = dir.path() / "access.log";
  ASSERT_NO_FATAL_FAILURE(start(log_path.string()));

  // 1. An h1 WebSocket: 2 messages each way, closed by the client with 1000.
  Flow flow;
  {
    WsClient client;
    ASSERT_TRUE(open_h1(client));
    ASSERT_TRUE(echo_h1(client, "hello", flow));
    ASSERT_TRUE(echo_h1(client, "world!", flow));
    ASSERT_TRUE(close_h1(client, 1000));
    flow.client_frame(2);
    flow.backend_frame(2);
  }
  std::vector<std::string> lines = wait_for_log_lines(log_path, 1);
  ASSERT_EQ(lines.size(), 1u) << "one line once the WebSocket ended";
  // 2. A refused handshake (404).
  {
    WsClient client;
    ASSERT_TRUE(connect_client(client, port_, ClientTransport::kPlain));
    EXPECT_EQ(client.handshake("/nowhere").status, 404);
  }
  // 3. An h2 WebSocket closed by the backend (close_after_ms): initiator backend.
  H2Client h2;
  ASSERT_TRUE(h2.connect("127.0.0.1", port_, false)) << h2.last_error();
  const std::int32_t stream = open_h2(h2, "/echo?close_after_ms=50");
  ASSERT_GT(stream, 0);
  const auto backend_close = h2.expect_close(stream);
  ASSERT_TRUE(backend_close) << h2.last_error();
  ASSERT_TRUE(h2.close(stream, 1000));
  ASSERT_TRUE(h2.run_until([&] { return h2.stream_ended_by_peer(stream); }, 5s));
  h2.end_stream(stream);

  lines = wait_for_log_lines(log_path, 3);
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& line : lines) EXPECT_EQ(line.find('\n'), std::string::npos);

  Json ws;
  ASSERT_TRUE(parse_json(lines[0], ws));
  for (const char* key : {"time", "client", "listener", "protocol", "stream_id", "route", "backend", "status",
                          "duration_ms", "client_to_backend_messages", "client_to_backend_bytes",
                          "backend_to_client_messages", "backend_to_client_bytes", "close_code",
                          "close_initiator", "error"}) {
    EXPECT_TRUE(ws.has(key)) << "missing " << key << ": " << lines[0];
  }
  EXPECT_EQ(ws["route"].string, "echo") << lines[0];
  EXPECT_EQ(ws["status"].number, 101);
  EXPECT_EQ(ws["protocol"].string, "h1");
  EXPECT_EQ(ws["stream_id"].number, 0);
  EXPECT_EQ(ws["listener"].string, "main");
  EXPECT_EQ(ws["backend"].string, echo_->address());
  EXPECT_EQ(ws["client"].string.rfind("127.0.0.1:", 0), 0u) << ws["client"].string;
  EXPECT_EQ(ws["client_to_backend_messages"].number, 2);
  EXPECT_EQ(ws["backend_to_client_messages"].number, 2);
  EXPECT_EQ(ws["client_to_backend_bytes"].number, static_cast<double>(flow.c2b.bytes)) << lines[0];
  EXPECT_EQ(ws["backend_to_client_bytes"].number, static_cast<double>(flow.b2c.bytes)) << lines[0];
  EXPECT_EQ(ws["close_code"].number, 1000);
  EXPECT_EQ(ws["close_initiator"].string, "client");
  EXPECT_TRUE(ws["error"].is_null()) << lines[0];
  EXPECT_GE(ws["duration_ms"].number, 0);
  EXPECT_EQ(ws["time"].string.size(), std::string_view("2024-05-01T12:34:56.789Z").size()) << ws["time"].string;
  EXPECT_EQ(ws["time"].string.back(), 'Z');

  Json refused;
  ASSERT_TRUE(parse_json(lines[1], refused));
  EXPECT_EQ(refused["status"].number, 404) << lines[1];
  EXPECT_TRUE(refused.has("route") && refused["route"].is_null()) << lines[1];
  EXPECT_TRUE(refused["backend"].is_null()) << lines[1];
  EXPECT_TRUE(refused["close_code"].is_null()) << lines[1];
  EXPECT_TRUE(refused["close_initiator"].is_null()) << lines[1];
  EXPECT_TRUE(refused["error"].is_string()) << lines[1];
  EXPECT_EQ(refused["client_to_backend_messages"].number, 0);

  Json h2line;
  ASSERT_TRUE(parse_json(lines[2], h2line));
  EXPECT_EQ(h2line["protocol"].string, "h2") << lines[2];
  EXPECT_EQ(h2line["status"].number, 200);
  EXPECT_EQ(h2line["stream_id"].number, stream);
  EXPECT_EQ(h2line["route"].string, "echo");
  EXPECT_EQ(h2line["close_code"].number, 1000);
  EXPECT_EQ(h2line["close_initiator"].string, "backend");

  // The metrics agree with the log for the one h1 WebSocket... plus the h2 one's close frames.
  Scrape s;
  ASSERT_TRUE(settle(admin_,
                     {{{"wsgate_websocket_closes_total", L({{"route", "echo"}, {"initiator", "client"}, {"code", "1000"}})}, 1},
                      {{"wsgate_websocket_closes_total", L({{"route", "echo"}, {"initiator", "backend"}, {"code", "1000"}})}, 1},
                      {{"wsgate_access_log_dropped_total", {}}, 0}},
                     s));
}


// A client connection that drops without any close frame ends its WebSockets: they are counted closed
// (1006, "no close frame at all"; the client went away first), the gauges return to 0, and each gets
// its access-log line. h1 is the control; over h2c the same must hold for every stream of the lost
// connection.
// Fails as of this writing: H2Session::connection_lost() closes the client transport and waits for
// the relays to end, but only in-flight Asio handlers hold the session strongly (the worker registry,
// the stream channels and the relays' completion callbacks all hold weak_ptrs), so the session is
// destroyed before the relays finish: finish() never runs (no connection_closed, no
// h2_streams_per_connection), and each relay's callback finds the weak_ptr expired, so
// StreamObserver::ended() never runs (no stream_closed / close, no access-log line).
TEST_F(GatewayMetrics, DroppedClientConnectionsEndTheirStreamsInMetricsAndLog) {
  TempDir dir("wsgate-it-accesslog");
  const std::filesystem::path log_path = dir.path() / "access.log";
  ASSERT_NO_FATAL_FAILURE(start(log_path.string()));
  Flow flow;

  // h1: drop the TCP connection with the WebSocket open.
  {
    WsClient client;
    ASSERT_TRUE(open_h1(client));
    ASSERT_TRUE(echo_h1(client, "about to vanish", flow));
    client.disconnect();
  }
  Scrape s;
  EXPECT_TRUE(settle(admin_,
                     {{{"wsgate_websocket_streams_active", L({{"route", "echo"}, {"protocol", "h1"}})}, 0},
                      {{"wsgate_downstream_connections_active", L({{"listener", "main"}, {"protocol", "h1"}})}, 0},
                      {{"wsgate_websocket_closes_total", L({{"route", "echo"}, {"initiator", "client"}, {"code", "1006"}})}, 1}},
                     s));
  EXPECT_EQ(wait_for_log_lines(log_path, 1).size(), 1u) << "h1: one access-log line";

  // h2c: two streams on one connection, then the connection drops.
  H2Client h2;
  ASSERT_TRUE(h2.connect("127.0.0.1", port_, false)) << h2.last_error();
  const std::int32_t a = open_h2(h2);
  const std::int32_t b = open_h2(h2);
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  ASSERT_TRUE(echo_h2(h2, a, "stream a", flow));
  ASSERT_TRUE(echo_h2(h2, b, "stream b", flow));
  ASSERT_TRUE(settle(admin_,
                     {{{"wsgate_websocket_streams_active", L({{"route", "echo"}, {"protocol", "h2"}})}, 2},
                      {{"wsgate_downstream_connections_active", L({{"listener", "main"}, {"protocol", "h2"}})}, 1}},
                     s));
  h2.transport().disconnect();
  EXPECT_TRUE(settle(admin_,
                     {{{"wsgate_websocket_streams_active", L({{"route", "echo"}, {"protocol", "h2"}})}, 0},
                      {{"wsgate_downstream_connections_active", L({{"listener", "main"}, {"protocol", "h2"}})}, 0},
                      {{"wsgate_websocket_closes_total", L({{"route", "echo"}, {"initiator", "client"}, {"code", "1006"}})}, 3},
                      {{"wsgate_websocket_duration_seconds_count", L({{"route", "echo"}})}, 3},
                      {{"wsgate_h2_streams_per_connection_count", {}}, 1}},
                     s))
      << "the WebSockets of a lost h2 connection must be counted closed";
  const HttpResponse json = http_get(admin_, "/status.json");
  Json doc;
  ASSERT_TRUE(parse_json(json.body, doc));
  EXPECT_EQ(doc["open_websockets"].number, 0) << json.body;
  EXPECT_EQ(doc["open_connections"].number, 0) << json.body;
  EXPECT_EQ(wait_for_log_lines(log_path, 3).size(), 3u) << "h2: one access-log line per stream";
}


// Clients that send a handshake and reset the connection at once: the gateway may find out only when
// it writes the 101. Whatever happens to those, no WebSocket stays counted open, the gauges are
// not skewed (closed never counted without an open), and a later WebSocket counts as 1.
// Fails as of this writing: when writing the 101 fails (H1Session::start_relay, the client reset the
// connection while the backend handshake ran), relay_->abort() runs the relay's completion, which
// calls StreamObserver::ended(): stream_closed() and close() are counted for a WebSocket that was
// never counted open (upgraded() runs only after a successful write; no handshake is counted either,
// and the access-log line says status 0). streams_active = opened - closed is clamped at 0, so from
// then on it under-counts: one open WebSocket shows as 0.
TEST_F(GatewayMetrics, HandshakesAbortedByTheClientLeaveTheGaugesExact) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (int i = 0; i < 40; ++i) {
    WsClient client;
    ASSERT_TRUE(connect_client(client, port_, ClientTransport::kPlain));
    ASSERT_FALSE(client.send_handshake_request("/echo").empty()) << client.last_error();
    std::this_thread::sleep_for(std::chrono::microseconds(100 * (i % 20)));
    client.abort();
  }
  Scrape s;
  ASSERT_TRUE(settle(admin_,
                     {{{"wsgate_downstream_connections_active", L({{"listener", "main"}, {"protocol", "h1"}})}, 0}},
                     s));
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(scrape(admin_, s));
  const double opened = s.sum("wsgate_websocket_streams_total", L({{"route", "echo"}}));
  const double closed = s.sum("wsgate_websocket_closes_total", L({{"route", "echo"}}));
  const double upgraded = s.sum("wsgate_websocket_handshakes_total", L({{"route", "echo"}, {"code", "101"}}));
  const double durations = s.value("wsgate_websocket_duration_seconds_count", L({{"route", "echo"}})).value_or(-1);
  std::printf("  40 aborted handshakes: %.0f upgraded, %.0f closes, %.0f durations\n", opened, closed, durations);
  EXPECT_EQ(opened, upgraded);
  EXPECT_EQ(closed, opened) << "every WebSocket counted closed was counted open, and the other way round";
  EXPECT_EQ(durations, opened);

  WsClient client;
  ASSERT_TRUE(open_h1(client));
  EXPECT_TRUE(settle(admin_, {{{"wsgate_websocket_streams_active", L({{"route", "echo"}, {"protocol", "h1"}})}, 1}}, s));
}

}  // namespace
}  // namespace wsgate::test

