// permessage-deflate (RFC 7692 §5 negotiation, §7.1 parameters, §7.2 compression); see the header.
#include "ws/permessage_deflate.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace wsgate::ws {

namespace {

// RFC 7692 §7.2.1: a flushed message ends with this empty stored block tail, which is
// dropped by the sender and appended again by the receiver.
constexpr std::array<std::uint8_t, 4> kTail = {0x00, 0x00, 0xFF, 0xFF};

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// RFC 7692 §7.1.2.1: 1*DIGIT with the value 8..15, no leading zeros ("%x38-39 / "1" %x30-35").
std::optional<int> window_bits_value(std::string_view text) {
  if (text.size() == 1 && (text[0] == '8' || text[0] == '9')) return text[0] - '0';
  if (text.size() == 2 && text[0] == '1' && text[1] >= '0' && text[1] <= '5') return 10 + (text[1] - '0');
  return std::nullopt;
}

// zlib's raw deflate cannot use a 256-byte window (deflateInit2 refuses -8).
// When 8 is agreed, compress with 9 but with Z_RLE, whose matches all have
// distance 1: valid for any window, so a peer inflating with 256 bytes is safe.
constexpr int kZlibMinDeflateWindow = 9;

}  // namespace

void DeflateStreamDeleter::operator()(z_stream_s* stream) const {
  deflateEnd(stream);
  delete stream;
}
void InflateStreamDeleter::operator()(z_stream_s* stream) const {
  inflateEnd(stream);
  delete stream;
}

std::optional<DeflateOffer> parse_deflate_offer(const Extension& extension) {
  if (!iequal(extension.name, kPermessageDeflate)) return std::nullopt;
  DeflateOffer offer;
  bool seen_snct = false, seen_cnct = false, seen_smwb = false, seen_cmwb = false;
  for (const auto& p : extension.params) {
    if (iequal(p.name, "server_no_context_takeover") || iequal(p.name, "client_no_context_takeover")) {
      // §7.1.1: these take no value.
      const bool server = iequal(p.name, "server_no_context_takeover");
      bool& seen = server ? seen_snct : seen_cnct;
      if (seen || p.value) return std::nullopt;
      seen = true;
      (server ? offer.server_no_context_takeover : offer.client_no_context_takeover) = true;
    } else if (iequal(p.name, "server_max_window_bits")) {
      // §7.1.2.1: a value is required.
      if (seen_smwb || !p.value) return std::nullopt;
      seen_smwb = true;
      offer.server_max_window_bits = window_bits_value(*p.value);
      if (!offer.server_max_window_bits) return std::nullopt;
    } else if (iequal(p.name, "client_max_window_bits")) {
      // §7.1.2.2: the value is optional in an offer.
      if (seen_cmwb) return std::nullopt;
      seen_cmwb = true;
      offer.client_max_window_bits = true;
      if (p.value) {
        offer.client_max_window_bits_value = window_bits_value(*p.value);
        if (!offer.client_max_window_bits_value) return std::nullopt;
      }
    } else {
      return std::nullopt;  // §7.1: an unknown parameter declines the offer
    }
  }
  return offer;
}

std::optional<DeflateAgreement> negotiate_deflate(const std::vector<Extension>& offers,
                                                  const DeflateServerOptions& options) {
  const int server_limit = std::clamp(options.server_max_window_bits, kMinWindowBits, kMaxWindowBits);
  const int client_limit = std::clamp(options.client_max_window_bits, kMinWindowBits, kMaxWindowBits);
  for (const Extension& e : offers) {
    if (!iequal(e.name, kPermessageDeflate)) continue;
    auto offer = parse_deflate_offer(e);
    if (!offer) continue;
    DeflateAgreement agreement;
    DeflateParams& params = agreement.params;
    // §7.1.2.2: without client_max_window_bits in the offer the answer must not carry it,
    // and the client may use a 32 KiB window: a stricter server declines this offer.
    if (!offer->client_max_window_bits && client_limit < kMaxWindowBits) continue;
    params.server_max_window_bits = std::min(server_limit, offer->server_max_window_bits.value_or(kMaxWindowBits));
    params.client_max_window_bits =
        offer->client_max_window_bits ? std::min(client_limit, offer->client_max_window_bits_value.value_or(15))
                                      : kMaxWindowBits;
    // §7.1.1.1: a server_no_context_takeover offer must be accepted; the server may add it.
    params.server_no_context_takeover = offer->server_no_context_takeover || options.server_no_context_takeover;
    // §7.1.1.2: the client's hint is taken (the gateway may then drop its inflate window between messages).
    params.client_no_context_takeover = offer->client_no_context_takeover || options.client_no_context_takeover;

    Extension& r = agreement.response;
    r.name = std::string(kPermessageDeflate);
    if (params.server_no_context_takeover) r.params.push_back({"server_no_context_takeover", std::nullopt});
    if (params.client_no_context_takeover) r.params.push_back({"client_no_context_takeover", std::nullopt});
    // §7.1.2.1: answer server_max_window_bits when it was offered (with a value <= the offer) or when smaller.
    if (offer->server_max_window_bits || params.server_max_window_bits < kMaxWindowBits) {
      r.params.push_back({"server_max_window_bits", std::to_string(params.server_max_window_bits)});
    }
    if (offer->client_max_window_bits &&
        (params.client_max_window_bits < kMaxWindowBits || offer->client_max_window_bits_value)) {
      r.params.push_back({"client_max_window_bits", std::to_string(params.client_max_window_bits)});
    }
    return agreement;
  }
  return std::nullopt;
}

std::optional<DeflateAgreement> negotiate_deflate(std::string_view offers, const DeflateServerOptions& options) {
  auto parsed = parse_extensions(offers);
  if (!parsed) return std::nullopt;
  return negotiate_deflate(*parsed, options);
}

// ---------------------------------------------------------------------------------------------
// Deflater

Deflater::Deflater(int window_bits, bool no_context_takeover, int level, int mem_level)
    : window_bits_(std::clamp(window_bits, kMinWindowBits, kMaxWindowBits)),
      no_context_takeover_(no_context_takeover),
      level_(std::clamp(level, -1, 9)),
      mem_level_(std::clamp(mem_level, 1, 9)) {}

bool Deflater::ensure_stream() {
  if (stream_) return true;
  auto stream = std::make_unique<z_stream_s>();
  const bool tiny = window_bits_ < kZlibMinDeflateWindow;
  // Negative window bits: raw DEFLATE, no zlib header or trailer (§7.2.1).
  if (deflateInit2(stream.get(), level_, Z_DEFLATED, -std::max(window_bits_, kZlibMinDeflateWindow), mem_level_,
                   tiny ? Z_RLE : Z_DEFAULT_STRATEGY) != Z_OK) {
    return false;
  }
  stream_.reset(stream.release());
  return true;
}

bool Deflater::compress(std::span<const std::uint8_t> payload, bool message_end, std::vector<std::uint8_t>& out) {
  if (!ensure_stream()) return false;
  z_stream_s& z = *stream_;
  const std::size_t start = out.size();
  z.next_in = const_cast<Bytef*>(payload.data());
  z.avail_in = static_cast<uInt>(payload.size());
  const int flush = message_end ? Z_SYNC_FLUSH : Z_NO_FLUSH;
  while (true) {
    const std::size_t room = std::max<std::size_t>(256, payload.size() / 2 + 64);
    const std::size_t before = out.size();
    out.resize(before + room);
    z.next_out = out.data() + before;
    z.avail_out = static_cast<uInt>(room);
    const int rc = deflate(&z, flush);
    out.resize(out.size() - z.avail_out);
    // Z_BUF_ERROR: no progress possible (e.g. a sync flush right after another): not an error.
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      stream_.reset();  // deflateEnd
      out.resize(start);
      return false;
    }
    if (z.avail_in == 0 && z.avail_out != 0) break;
  }
  if (message_end) {
    if (out.size() - start >= kTail.size() && std::equal(kTail.begin(), kTail.end(), out.end() - 4)) {
      out.resize(out.size() - kTail.size());
    }
    // §7.2.3.6: a message with no output at all is sent as one 0x00 byte (an empty
    // stored block once the receiver appends the tail): an empty payload would not be.
    if (out.size() == start) out.push_back(0x00);
    // Released rather than reset: an idle stream without context takeover holds no zlib memory.
    if (no_context_takeover_) stream_.reset();
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Inflater

Inflater::Inflater(int window_bits, bool no_context_takeover, std::uint64_t max_message_bytes)
    // Some peers compress with 9 when 8 was agreed (zlib cannot deflate with 8); a larger
    // inflate window accepts both.
    : window_bits_(std::clamp(window_bits, kZlibMinDeflateWindow, kMaxWindowBits)),
      no_context_takeover_(no_context_takeover),
      max_message_bytes_(max_message_bytes) {}

bool Inflater::ensure_stream() {
  if (stream_) return true;
  auto stream = std::make_unique<z_stream_s>();
  if (inflateInit2(stream.get(), -window_bits_) != Z_OK) return false;
  stream_.reset(stream.release());
  return true;
}

InflateStep Inflater::run(std::span<const std::uint8_t> in, std::span<std::uint8_t> out) {
  InflateStep step;
  if (stream_ended_) {
    // §7.2.3.4: after a BFINAL block the rest of the message (the tail) carries nothing.
    step.consumed = in.size();
    return step;
  }
  if (!ensure_stream()) {
    step.status = InflateStatus::kBadData;
    return step;
  }
  z_stream_s& z = *stream_;
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = ::inflate(&z, Z_SYNC_FLUSH);
  step.consumed = in.size() - z.avail_in;
  step.produced = out.size() - z.avail_out;
  message_bytes_ += step.produced;
  if (rc == Z_STREAM_END) {
    stream_ended_ = true;
    step.consumed = in.size();
  } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
    step.status = InflateStatus::kBadData;
    return step;
  }
  if (max_message_bytes_ != 0 && message_bytes_ > max_message_bytes_) step.status = InflateStatus::kTooBig;
  return step;
}

InflateStep Inflater::inflate(std::span<const std::uint8_t> in, std::span<std::uint8_t> out) { return run(in, out); }

InflateStep Inflater::finish_message(std::span<std::uint8_t> out) {
  InflateStep step = run(std::span(kTail).subspan(std::min(tail_fed_, kTail.size())), out);
  tail_fed_ += step.consumed;
  if (step.status != InflateStatus::kOk) return step;
  // Everything is out once the tail is in and zlib left output space unused.
  if (stream_ended_ || (tail_fed_ >= kTail.size() && step.produced < out.size())) {
    step.message_done = true;
    message_bytes_ = 0;
    tail_fed_ = 0;
    // Released (not reset): an idle stream without context takeover holds no zlib memory.
    if (no_context_takeover_ || stream_ended_) stream_.reset();
    stream_ended_ = false;
  }
  return step;
}

std::vector<std::uint8_t> deflate_message(Deflater& deflater, std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> out;
  if (!deflater.compress(payload, true, out)) out.clear();
  return out;
}

std::optional<std::vector<std::uint8_t>> inflate_message(Inflater& inflater, std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> out;
  std::array<std::uint8_t, 4096> chunk;
  while (!payload.empty()) {
    InflateStep step = inflater.inflate(payload, chunk);
    if (step.status != InflateStatus::kOk) return std::nullopt;
    out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(step.produced));
    payload = payload.subspan(step.consumed);
    if (step.consumed == 0 && step.produced == 0) return std::nullopt;  // stuck: malformed
  }
  while (true) {
    InflateStep step = inflater.finish_message(chunk);
    if (step.status != InflateStatus::kOk) return std::nullopt;
    out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(step.produced));
    if (step.message_done) return out;
  }
}

}  // namespace wsgate::ws
