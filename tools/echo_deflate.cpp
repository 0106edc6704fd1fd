// permessage-deflate for the echo backend (RFC 7692 §5, §7).
#include "tools/echo_deflate.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "ws/handshake.hpp"

namespace wsgate::tools {

namespace {

constexpr std::array<std::uint8_t, 4> kTail = {0x00, 0x00, 0xff, 0xff};  // RFC 7692 §7.2.1
constexpr std::size_t kChunkBytes = 16 * 1024;

// RFC 7692 §7.1.2: a window-bits value is 8-15 written as 1*DIGIT.
std::optional<int> window_bits(const std::optional<std::string>& value) {
  if (!value || value->empty() || value->size() > 2) return std::nullopt;
  int bits = 0;
  const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), bits);
  if (ec != std::errc() || end != value->data() + value->size() || bits < 8 || bits > 15) return std::nullopt;
  return bits;
}

// The agreement for one offer, or nullopt if it is invalid or cannot be honoured.
std::optional<DeflateAgreement> accept_offer(const ws::Extension& offer) {
  DeflateAgreement agreement;
  bool seen_server_nct = false, seen_client_nct = false, seen_server_bits = false, seen_client_bits = false;
  for (const ws::ExtensionParam& p : offer.params) {
    if (p.name == "server_no_context_takeover" && !p.value && !seen_server_nct) {
      seen_server_nct = true;
      agreement.params.server_no_context_takeover = true;
    } else if (p.name == "client_no_context_takeover" && !p.value && !seen_client_nct) {
      seen_client_nct = true;  // the client's own promise; our inflater copes either way
    } else if (p.name == "server_max_window_bits" && !seen_server_bits) {
      seen_server_bits = true;
      const auto bits = window_bits(p.value);
      if (!bits || *bits < 9) return std::nullopt;  // zlib's raw deflate needs a 512-byte window or more
      agreement.params.server_max_window_bits = *bits;
    } else if (p.name == "client_max_window_bits" && !seen_client_bits) {
      seen_client_bits = true;  // a hint we may ignore: our inflater always has a 32 KiB window
      if (p.value && !window_bits(p.value)) return std::nullopt;
    } else {
      return std::nullopt;  // unknown or repeated parameter (§7.1)
    }
  }
  agreement.response = "permessage-deflate";
  if (agreement.params.server_no_context_takeover) agreement.response += "; server_no_context_takeover";
  if (seen_server_bits) {
    agreement.response +=
        "; server_max_window_bits=" + std::to_string(agreement.params.server_max_window_bits);
  }
  return agreement;
}

}  // namespace

std::optional<DeflateAgreement> negotiate_deflate(std::string_view offers) {
  const auto extensions = ws::parse_extensions(offers);
  if (!extensions) return std::nullopt;
  for (const ws::Extension& e : *extensions) {
    if (e.name != "permessage-deflate") continue;
    if (auto agreement = accept_offer(e)) return agreement;
  }
  return std::nullopt;
}

MessageDeflate::Inflater::~Inflater() {
  if (ready) inflateEnd(&z);
}

MessageDeflate::Deflater::~Deflater() {
  if (ready) deflateEnd(&z);
}

MessageDeflate::MessageDeflate(DeflateParams params) : params_(params) {
  // A 15-bit window reads whatever window the client used (RFC 7692 §7.1.2.2).
  inflater_->ready = inflateInit2(&inflater_->z, -15) == Z_OK;
  deflater_->ready = deflateInit2(&deflater_->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
                                  -params.server_max_window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK;
}

bool MessageDeflate::inflate_message(std::span<const std::uint8_t> compressed, std::vector<std::uint8_t>& out,
                                     std::size_t max_bytes) {
  out.clear();
  if (!inflater_->ready) return false;
  z_stream& z = inflater_->z;
  for (std::span<const std::uint8_t> input : {compressed, std::span<const std::uint8_t>(kTail)}) {
    z.next_in = const_cast<Bytef*>(input.data());  // zlib's API is not const-correct
    z.avail_in = static_cast<uInt>(input.size());
    do {
      const std::size_t before = out.size();
      out.resize(before + kChunkBytes);
      z.next_out = out.data() + before;
      z.avail_out = static_cast<uInt>(kChunkBytes);
      const int rc = inflate(&z, Z_SYNC_FLUSH);
      out.resize(before + (kChunkBytes - z.avail_out));
      if (out.size() > max_bytes) return false;
      if (rc == Z_STREAM_END) {
        // The client ended the stream with a final block (allowed, RFC 7692 §7.2.3.4): the next
        // message starts a new one; anything after the final block is ignored.
        return inflateReset(&z) == Z_OK;
      }
      if (rc == Z_BUF_ERROR) break;  // no progress possible: this input is used up
      if (rc != Z_OK) return false;  // corrupt data
    } while (z.avail_in > 0 || z.avail_out == 0);
  }
  return true;
}

bool MessageDeflate::deflate_message(std::span<const std::uint8_t> data, std::vector<std::uint8_t>& out) {
  out.clear();
  if (!deflater_->ready) return false;
  z_stream& z = deflater_->z;
  if (params_.server_no_context_takeover && deflateReset(&z) != Z_OK) return false;
  z.next_in = const_cast<Bytef*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  do {
    const std::size_t before = out.size();
    out.resize(before + kChunkBytes);
    z.next_out = out.data() + before;
    z.avail_out = static_cast<uInt>(kChunkBytes);
    if (deflate(&z, Z_SYNC_FLUSH) == Z_STREAM_ERROR) return false;
    out.resize(before + (kChunkBytes - z.avail_out));
  } while (z.avail_out == 0 || z.avail_in > 0);
  // RFC 7692 §7.2.1: the sync flush's empty stored block (00 00 ff ff) is not sent.
  if (out.size() >= kTail.size() && std::equal(kTail.begin(), kTail.end(), out.end() - 4))
    out.resize(out.size() - 4);
  // RFC 7692 §7.2.3.6: an empty message right after a flush gives zlib nothing to do (no
  // output at all); it is sent as one 0x00 byte. An empty payload would leave the peer's
  // inflater inside a stored block ("invalid stored block lengths" on the next message).
  if (out.empty()) out.push_back(0x00);
  return true;
}

}  // namespace wsgate::tools
