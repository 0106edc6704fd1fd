// Incremental HTTP/1.1 request-head and response-head parsing (RFC 9112 §2.2, §3, §4, §5).
//
// Hand-written rather than built on Boost.Beast's basic_parser: Beast has no per-line or header-count
// limit, needs the whole head in one contiguous buffer before it reports how much it used, and
// tolerates obs-fold. Here each limit trips at the exact byte that crosses it (whatever the split of
// the input), `consumed` is exact, and only the current unfinished line is copied between calls.
//
// Strictness choices (a proxy must not read a head differently from the backend behind it):
//   - lines end with CRLF; a bare LF or a bare CR is kMalformed (RFC 9112 §2.2 permits either
//     tolerating a bare LF or rejecting it; rejecting closes a request-smuggling gap);
//   - no empty lines before the start line (RFC 9112 §2.2's "SHOULD ignore" is not taken);
//   - request-line: exactly `token SP 1*VCHAR SP HTTP/D.D` (RFC 9112 §3);
//   - status-line: `HTTP/D.D SP 3DIGIT [SP reason]`, reason of HTAB/SP/VCHAR/obs-text (RFC 9112 §4);
//     a missing SP before an empty reason is tolerated, as many servers omit it;
//   - header: `token ":" OWS value OWS`; whitespace before the colon and obs-fold (a line starting
//     with SP/HTAB) are rejected (RFC 9112 §5.1, §5.2); CTLs other than HTAB in a value are rejected.
//   - a well-formed HTTP-version whose major is not 1 is kBadVersion; a garbled one is kMalformed.
//
// Limits: a line's length excludes its CRLF; the head's length includes the start line and the final
// CRLF. When two limits trip at the same byte, kHeadTooLarge wins.
#include "h1/head_parser.hpp"

#include <limits>
#include <optional>
#include <string>
#include <utility>

namespace wsgate::h1 {
namespace {

constexpr std::size_t kNpos = std::string_view::npos;

// RFC 9110 §5.6.2 tchar.
bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != kNpos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool is_vchar(unsigned char c) { return c >= 0x21 && c <= 0x7E; }

// RFC 9110 §5.5 field-vchar / SP / HTAB; also the reason-phrase alphabet (RFC 9112 §4).
bool is_field_text(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\t' || c == ' ' || is_vchar(c) || c >= 0x80) continue;
    return false;
  }
  return true;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// RFC 9112 §2.3: HTTP-version = "HTTP" "/" DIGIT "." DIGIT (case-sensitive).
ParseError parse_version(std::string_view text, int& major, int& minor) {
  if (text.size() != 8 || text.substr(0, 5) != "HTTP/" || !is_digit(text[5]) || text[6] != '.' ||
      !is_digit(text[7])) {
    return ParseError::kMalformed;
  }
  major = text[5] - '0';
  minor = text[7] - '0';
  return major == 1 ? ParseError::kNone : ParseError::kBadVersion;
}

// RFC 9112 §5.1: field-line = field-name ":" OWS field-value OWS.
ParseError parse_header_line(std::string_view line, Headers& headers) {
  // RFC 9112 §5.2: obs-fold (a continuation line) is rejected, not unfolded.
  if (!line.empty() && is_ows(line.front())) return ParseError::kMalformed;
  const std::size_t colon = line.find(':');
  if (colon == kNpos) return ParseError::kMalformed;
  const std::string_view name = line.substr(0, colon);
  // A name with whitespace before the colon fails is_token (RFC 9112 §5.1 MUST reject).
  if (!is_token(name)) return ParseError::kMalformed;
  const std::string_view value = line.substr(colon + 1);
  if (!is_field_text(value)) return ParseError::kMalformed;
  headers.add(std::string(name), std::string(trim_ows(value)));
  return ParseError::kNone;
}

// RFC 9112 §3: request-line = method SP request-target SP HTTP-version.
ParseError parse_request_line(std::string_view line, RequestHead& head) {
  const std::size_t first_space = line.find(' ');
  if (first_space == kNpos) return ParseError::kMalformed;
  const std::size_t second_space = line.find(' ', first_space + 1);
  if (second_space == kNpos) return ParseError::kMalformed;
  const std::string_view method = line.substr(0, first_space);
  const std::string_view target = line.substr(first_space + 1, second_space - first_space - 1);
  const std::string_view version = line.substr(second_space + 1);
  if (!is_token(method) || target.empty()) return ParseError::kMalformed;
  for (char c : target) {
    if (!is_vchar(static_cast<unsigned char>(c))) return ParseError::kMalformed;
  }
  const ParseError version_error = parse_version(version, head.version_major, head.version_minor);
  if (version_error != ParseError::kNone) return version_error;
  head.method = method;
  head.target = target;
  return ParseError::kNone;
}

// RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ].
ParseError parse_status_line(std::string_view line, ResponseHead& head) {
  const std::size_t first_space = line.find(' ');
  if (first_space == kNpos) return ParseError::kMalformed;
  const ParseError version_error =
      parse_version(line.substr(0, first_space), head.version_major, head.version_minor);
  if (version_error != ParseError::kNone) return version_error;
  const std::string_view rest = line.substr(first_space + 1);
  if (rest.size() < 3 || !is_digit(rest[0]) || !is_digit(rest[1]) || !is_digit(rest[2]) || rest[0] == '0') {
    return ParseError::kMalformed;
  }
  std::string_view reason;
  if (rest.size() > 3) {
    if (rest[3] != ' ') return ParseError::kMalformed;  // a 4th digit or other junk after the code
    reason = rest.substr(4);
  }
  if (!is_field_text(reason)) return ParseError::kMalformed;
  head.status = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
  head.reason = reason;
  return ParseError::kNone;
}

// Splits a byte stream into CRLF-terminated lines under the head limits, and tracks the parse state
// shared by both parsers. `on_line` gets each line without its CRLF and returns kNone to go on.
class LineReader {
 public:
  explicit LineReader(HeadLimits limits) : limits_(limits) {}

  bool start_line_done() const { return start_line_done_; }
  ParseStatus status() const { return status_; }
  ParseError error() const { return error_; }

  void reset() {
    line_.clear();
    head_bytes_ = 0;
    header_count_ = 0;
    start_line_done_ = false;
    status_ = ParseStatus::kNeedMore;
    error_ = ParseError::kNone;
  }

  // parse_start(line) -> ParseError, parse_header(line) -> ParseError.
  template <class ParseStart, class ParseHeader>
  ParseResult feed(std::string_view data, ParseStart&& parse_start, ParseHeader&& parse_header) {
    // A finished parser takes no more bytes until reset(); they belong to whatever follows.
    if (status_ != ParseStatus::kNeedMore) return ParseResult{status_, 0, error_};
    std::size_t pos = 0;
    while (pos < data.size()) {
      const std::string_view rest = data.substr(pos);
      const std::size_t lf = rest.find('\n');
      const std::size_t segment = lf == kNpos ? rest.size() : lf + 1;

      const std::size_t head_room = limits_.max_head_bytes - head_bytes_;  // head_bytes_ <= max always
      const std::size_t head_cross = head_room < segment ? head_room : kNpos;
      const std::size_t line_cross = first_line_overflow(rest, segment);
      if (head_cross != kNpos && head_cross <= line_cross)
        return fail(ParseError::kHeadTooLarge, pos + head_cross + 1);
      if (line_cross != kNpos) return fail(ParseError::kLineTooLong, pos + line_cross + 1);
      head_bytes_ += segment;

      if (lf == kNpos) {
        line_.append(rest);
        return ParseResult{ParseStatus::kNeedMore, data.size(), ParseError::kNone};
      }
      pos += segment;
      std::string_view raw = rest.substr(0, segment);
      if (!line_.empty()) {
        line_.append(raw);
        raw = line_;
      }
      if (raw.size() < 2 || raw[raw.size() - 2] != '\r') return fail(ParseError::kMalformed, pos);
      const std::string_view line = raw.substr(0, raw.size() - 2);

      ParseError error = ParseError::kNone;
      bool head_done = false;
      if (!start_line_done_) {
        // An empty or garbled first line is a missing start line.
        error = line.empty() ? ParseError::kMalformed : parse_start(line);
        start_line_done_ = true;
      } else if (line.empty()) {
        head_done = true;
      } else {
        error = parse_header(line);
        if (error == ParseError::kNone && ++header_count_ > limits_.max_header_count) {
          error = ParseError::kTooManyHeaders;
        }
      }
      line_.clear();
      if (error != ParseError::kNone) return fail(error, pos);
      if (head_done) {
        status_ = ParseStatus::kComplete;
        return ParseResult{ParseStatus::kComplete, pos, ParseError::kNone};
      }
    }
    return ParseResult{ParseStatus::kNeedMore, data.size(), ParseError::kNone};
  }

 private:
  // Index in `rest[0, segment)` of the first byte after which the current line's content (excluding a
  // CR that may start its CRLF) exceeds max_line_bytes, or kNpos. With m = max_line_bytes, that is
  // line byte m+1 unless it is CR, else line byte m+2 unless it is LF.
  std::size_t first_line_overflow(std::string_view rest, std::size_t segment) const {
    const std::size_t max_line = limits_.max_line_bytes;
    if (max_line > std::numeric_limits<std::size_t>::max() - 2) return kNpos;
    const std::size_t base = line_.size();
    const std::size_t line_end = base + segment;  // 1-based position of the segment's last byte
    const auto byte_at = [&](std::size_t position) {
      return position <= base ? line_[position - 1] : rest[position - base - 1];
    };
    if (line_end < max_line + 1) return kNpos;
    if (byte_at(max_line + 1) != '\r') return max_line + 1 > base ? max_line - base : kNpos;
    if (line_end < max_line + 2) return kNpos;
    if (byte_at(max_line + 2) != '\n') return max_line + 2 > base ? max_line + 1 - base : kNpos;
    return kNpos;
  }

  ParseResult fail(ParseError error, std::size_t consumed) {
    status_ = ParseStatus::kError;
    error_ = error;
    line_.clear();
    return ParseResult{ParseStatus::kError, consumed, error};
  }

  HeadLimits limits_;
  std::string line_;              // the unfinished line carried between feed() calls, raw bytes
  std::size_t head_bytes_ = 0;    // bytes of the head seen so far, incl. CRLFs
  std::size_t header_count_ = 0;  // header lines accepted so far
  bool start_line_done_ = false;  // request-line / status-line parsed
  ParseStatus status_ = ParseStatus::kNeedMore;
  ParseError error_ = ParseError::kNone;
};

}  // namespace

std::string_view to_string(ParseError error) {
  switch (error) {
    case ParseError::kNone:
      return "none";
    case ParseError::kMalformed:
      return "malformed head";
    case ParseError::kHeadTooLarge:
      return "head too large";
    case ParseError::kTooManyHeaders:
      return "too many headers";
    case ParseError::kLineTooLong:
      return "line too long";
    case ParseError::kBadVersion:
      return "unsupported HTTP version";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------------------

struct RequestHeadParser::Impl {
  explicit Impl(HeadLimits limits) : reader(limits) {}
  LineReader reader;
  RequestHead head;
};

RequestHeadParser::RequestHeadParser(HeadLimits limits) : impl_(std::make_unique<Impl>(limits)) {}
RequestHeadParser::~RequestHeadParser() = default;
RequestHeadParser::RequestHeadParser(RequestHeadParser&&) noexcept = default;
RequestHeadParser& RequestHeadParser::operator=(RequestHeadParser&&) noexcept = default;

ParseResult RequestHeadParser::feed(std::string_view data) {
  Impl& impl = *impl_;
  return impl.reader.feed(
      data, [&impl](std::string_view line) { return parse_request_line(line, impl.head); },
      [&impl](std::string_view line) { return parse_header_line(line, impl.head.headers); });
}

const RequestHead& RequestHeadParser::head() const { return impl_->head; }

RequestHead RequestHeadParser::take_head() { return std::exchange(impl_->head, RequestHead{}); }

void RequestHeadParser::reset() {
  impl_->reader.reset();
  impl_->head = RequestHead{};
}

// ---------------------------------------------------------------------------------------------------

struct ResponseHeadParser::Impl {
  explicit Impl(HeadLimits limits) : reader(limits) {}
  LineReader reader;
  ResponseHead head;
};

ResponseHeadParser::ResponseHeadParser(HeadLimits limits) : impl_(std::make_unique<Impl>(limits)) {}
ResponseHeadParser::~ResponseHeadParser() = default;
ResponseHeadParser::ResponseHeadParser(ResponseHeadParser&&) noexcept = default;
ResponseHeadParser& ResponseHeadParser::operator=(ResponseHeadParser&&) noexcept = default;

ParseResult ResponseHeadParser::feed(std::string_view data) {
  Impl& impl = *impl_;
  return impl.reader.feed(
      data, [&impl](std::string_view line) { return parse_status_line(line, impl.head); },
      [&impl](std::string_view line) { return parse_header_line(line, impl.head.headers); });
}

const ResponseHead& ResponseHeadParser::head() const { return impl_->head; }

ResponseHead ResponseHeadParser::take_head() { return std::exchange(impl_->head, ResponseHead{}); }

void ResponseHeadParser::reset() {
  impl_->reader.reset();
  impl_->head = ResponseHead{};
}

}  // namespace wsgate::h1
