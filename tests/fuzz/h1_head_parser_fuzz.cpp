// libFuzzer target for h1/head_parser.*: both parsers, input split at a fuzzer-chosen point and fed
// whole, must agree; completed requests go through classify_upgrade and a serialize -> parse round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "h1/head_parser.hpp"
#include "h1/message.hpp"
#include "h1/upgrade.hpp"

namespace {

using wsgate::h1::HeadLimits;
using wsgate::h1::ParseResult;
using wsgate::h1::ParseStatus;

void check(bool condition) {
  if (!condition) std::abort();
}

struct Run {
  ParseStatus status = ParseStatus::kNeedMore;
  wsgate::h1::ParseError error = wsgate::h1::ParseError::kNone;
  std::size_t stream_consumed = 0;  // offset in the whole input where the parser stopped
};

// Feeds `input` as two pieces cut at `cut`; checks each result's own invariants.
template <class Parser>
Run feed_split(Parser& parser, std::string_view input, std::size_t cut) {
  Run run;
  const std::string_view pieces[] = {input.substr(0, cut), input.substr(cut)};
  std::size_t offset = 0;
  for (const std::string_view piece : pieces) {
    const ParseResult result = parser.feed(piece);
    check(result.consumed <= piece.size());
    check((result.status == ParseStatus::kError) == (result.error != wsgate::h1::ParseError::kNone));
    if (result.status == ParseStatus::kNeedMore) {
      check(result.consumed == piece.size());
      offset += piece.size();
      continue;
    }
    run.status = result.status;
    run.error = result.error;
    run.stream_consumed = offset + result.consumed;
    const ParseResult again = parser.feed(piece);
    check(again.status == result.status && again.consumed == 0);
    return run;
  }
  run.stream_consumed = input.size();
  return run;
}

template <class Parser>
void fuzz_parser(std::string_view input, std::size_t cut, HeadLimits limits) {
  Parser split_parser(limits);
  const Run split = feed_split(split_parser, input, cut);
  Parser whole_parser(limits);
  const Run whole = feed_split(whole_parser, input, input.size());
  // The split never changes the outcome.
  check(split.status == whole.status && split.error == whole.error &&
        split.stream_consumed == whole.stream_consumed);
  check(split.stream_consumed <= input.size());
  if (split.status != ParseStatus::kComplete) return;
  check(split.stream_consumed <= limits.max_head_bytes);

  // A parsed head serialises to a head that parses back to the same serialisation.
  const std::string text = serialize(split_parser.head());
  check(text == serialize(whole_parser.head()));
  Parser reparser(HeadLimits{text.size(), limits.max_header_count, text.size()});
  const ParseResult reparsed = reparser.feed(text);
  check(reparsed.status == ParseStatus::kComplete && reparsed.consumed == text.size());
  check(serialize(reparser.head()) == text);
  check(reparser.head().headers.size() == split_parser.head().headers.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  // Byte 0: the cut point; bytes 1-2: small limits half of the time, so the limit paths are reached.
  const std::string_view input(reinterpret_cast<const char*>(data) + 3, size - 3);
  const std::size_t cut = input.empty() ? 0 : data[0] % (input.size() + 1);
  HeadLimits limits;
  if (data[1] & 1) {
    limits.max_head_bytes = 16 + data[1];
    limits.max_line_bytes = data[2];
    limits.max_header_count = data[2] % 8;
  }
  fuzz_parser<wsgate::h1::RequestHeadParser>(input, cut, limits);
  fuzz_parser<wsgate::h1::ResponseHeadParser>(input, cut, limits);

  wsgate::h1::RequestHeadParser parser(limits);
  if (parser.feed(input).status == ParseStatus::kComplete) {
    const wsgate::h1::UpgradeClassification verdict = wsgate::h1::classify_upgrade(parser.head());
    check(verdict.status == 101 || verdict.status == 400 || verdict.status == 426);
    check((verdict.check == wsgate::h1::UpgradeCheck::kOk) == (verdict.status == 101));
    check(verdict.check == wsgate::h1::UpgradeCheck::kOk || !verdict.reason.empty());
    wsgate::h1::ResponseHead answer;
    answer.status = verdict.status;
    answer.headers.add("Content-Length", std::to_string(verdict.reason.size()));
    check(!serialize(answer).empty());
  }
  return 0;
}
