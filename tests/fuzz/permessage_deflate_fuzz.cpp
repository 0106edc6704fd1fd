// libFuzzer target for ws/permessage_deflate: the input is read as a Sec-WebSocket-Extensions offer
// (negotiate_deflate under options from the first byte; the answer must parse and agree with what
// was offered) and as a compressed message (the Inflater, in pieces of fuzzer-chosen size, must stay
// within its 64 KiB limit and its output space, and never crash on any bytes).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "ws/handshake.hpp"
#include "ws/permessage_deflate.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

constexpr std::uint64_t kLimit = 64 * 1024;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t knobs = data[0];
  const std::size_t piece = 1 + data[1] % 64;
  const auto input = std::span(data + 2, size - 2);

  wsgate::ws::DeflateServerOptions options;
  options.server_max_window_bits = 8 + (knobs & 7);
  options.client_max_window_bits = 8 + ((knobs >> 3) & 7);
  options.server_no_context_takeover = (knobs & 0x40) != 0;
  options.client_no_context_takeover = (knobs & 0x80) != 0;
  const std::string_view text(reinterpret_cast<const char*>(input.data()), input.size());
  if (auto agreement = wsgate::ws::negotiate_deflate(text, options)) {
    const auto& p = agreement->params;
    check(p.server_max_window_bits >= 8 && p.server_max_window_bits <= options.server_max_window_bits);
    check(p.client_max_window_bits >= 8 && p.client_max_window_bits <= 15);
    auto reparsed = wsgate::ws::parse_extensions(wsgate::ws::format_extensions({agreement->response}));
    check(reparsed && reparsed->size() == 1 && wsgate::ws::parse_deflate_offer(reparsed->front()).has_value());
  }

  wsgate::ws::Inflater inflater(8 + (knobs & 7), (knobs & 0x40) != 0, kLimit);
  std::array<std::uint8_t, 4096> out;
  std::uint64_t produced = 0;
  for (std::size_t at = 0; at < input.size();) {
    const auto chunk = input.subspan(at, std::min(piece, input.size() - at));
    const auto step = inflater.inflate(chunk, out);
    check(step.produced <= out.size() && step.consumed <= chunk.size());
    produced += step.produced;
    if (step.status != wsgate::ws::InflateStatus::kOk) return 0;
    check(produced <= kLimit);
    if (step.consumed == 0 && step.produced == 0) return 0;
    at += step.consumed;
  }
  for (int rounds = 0; rounds < 64; ++rounds) {
    const auto step = inflater.finish_message(out);
    produced += step.produced;
    if (step.status != wsgate::ws::InflateStatus::kOk || step.message_done) break;
    check(produced <= kLimit);
  }
  return 0;
}
