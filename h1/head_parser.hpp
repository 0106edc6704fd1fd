// Incremental HTTP/1.1 request-head and response-head parsing with size limits
// (RFC 9112 §2-§5). Only the head is consumed: bytes after it (WebSocket frames,
// a body) are left to the caller.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "h1/message.hpp"

namespace wsgate::h1 {

struct HeadLimits {
  std::size_t max_head_bytes = 64 * 1024;  // whole head incl. request/status line and final CRLF
  std::size_t max_header_count = 100;
  std::size_t max_line_bytes = 16 * 1024;  // any single line
};

enum class ParseStatus { kNeedMore, kComplete, kError };

enum class ParseError {
  kNone,
  kMalformed,       // syntax error (bad request line, bad header line, bad chars, obs-fold, ...)
  kHeadTooLarge,    // max_head_bytes exceeded  -> 431 for requests
  kTooManyHeaders,  // max_header_count exceeded -> 431
  kLineTooLong,     // max_line_bytes exceeded   -> 431 (414 for a request line is also fine)
  kBadVersion,      // not HTTP/1.x             -> 505 / 400
};

std::string_view to_string(ParseError error);

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  // Bytes of THIS input used. kNeedMore: all of it. kComplete: input[consumed..] is after the head.
  // kError: up to and including the byte where the error was found.
  std::size_t consumed = 0;
  ParseError error = ParseError::kNone;
};

// Feed any split of bytes; the parser keeps what it needs between calls and every split gives the same
// result. Lines must end in CRLF (a bare LF is kMalformed). After kComplete or kError, feed() returns
// the same status with consumed 0 until reset().
class RequestHeadParser {
 public:
  explicit RequestHeadParser(HeadLimits limits = {});
  ~RequestHeadParser();
  RequestHeadParser(RequestHeadParser&&) noexcept;
  RequestHeadParser& operator=(RequestHeadParser&&) noexcept;

  ParseResult feed(std::string_view data);
  const RequestHead& head() const;  // valid after kComplete
  RequestHead take_head();          // moves the head out
  void reset();                     // parse another head

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class ResponseHeadParser {
 public:
  explicit ResponseHeadParser(HeadLimits limits = {});
  ~ResponseHeadParser();
  ResponseHeadParser(ResponseHeadParser&&) noexcept;
  ResponseHeadParser& operator=(ResponseHeadParser&&) noexcept;

  ParseResult feed(std::string_view data);
  const ResponseHead& head() const;
  ResponseHead take_head();
  void reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wsgate::h1
