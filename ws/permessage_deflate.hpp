// permessage-deflate (RFC 7692), sans-I/O: parsing offers and building the server's
// answer (§5, §7.1), and streaming message compression/decompression with zlib (§7.2).
//
// Memory per stream (zlib 1.2.x, measured in tests/ws/permessage_deflate_test.cpp):
//   Deflater: (1 << (window_bits + 2)) + (1 << (mem_level + 9)) + ~6 KiB state
//             (window 15, mem_level 8: 256 KiB; window 15, mem_level 1: 129 KiB; window 9: 4.5 KiB + hash)
//   Inflater: (1 << window_bits) + ~7 KiB state (window 15: 39 KiB; window 9: 7.5 KiB)
// Both are allocated on the first message that needs them. Without context takeover
// they are released after every message, so an idle stream holds none of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ws/handshake.hpp"

struct z_stream_s;

namespace wsgate::ws {

constexpr std::string_view kPermessageDeflate = "permessage-deflate";
constexpr int kMinWindowBits = 8;
constexpr int kMaxWindowBits = 15;

// One permessage-deflate offer as the client sent it (RFC 7692 §7.1).
struct DeflateOffer {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  std::optional<int> server_max_window_bits;  // 8..15 when present
  bool client_max_window_bits = false;        // present (with or without a value)
  std::optional<int> client_max_window_bits_value;
};

// Parses the parameters of one "permessage-deflate" element. nullopt when the
// offer must be declined (RFC 7692 §7.1: an unknown parameter, a parameter given
// twice, or a bad value).
std::optional<DeflateOffer> parse_deflate_offer(const Extension& extension);

// What the server is willing to do (like ASP.NET Core's WebSocketDeflateOptions).
struct DeflateServerOptions {
  int server_max_window_bits = 15;          // our compressor's window, at most
  int client_max_window_bits = 15;          // the client's compressor window we accept, at most
  bool server_no_context_takeover = false;  // reset our compressor after every message
  bool client_no_context_takeover = false;  // demand the client resets after every message
};

// The agreed parameters, from the server's point of view.
struct DeflateParams {
  int server_max_window_bits = 15;  // window the server compresses with (the client inflates with)
  int client_max_window_bits = 15;  // window the client compresses with (the server inflates with)
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  friend bool operator==(const DeflateParams&, const DeflateParams&) = default;
};

struct DeflateAgreement {
  DeflateParams params;
  Extension response;  // the element for the server's Sec-WebSocket-Extensions
};

// Picks the first acceptable permessage-deflate offer in `offers` (the client's
// Sec-WebSocket-Extensions, all values joined) under `options`, and builds the
// answer. nullopt: no acceptable offer (the connection goes on uncompressed).
// An offer is declined when it is malformed, when it asks for a server window
// smaller than 8, or when the server must limit the client's window
// (client_max_window_bits < 15) but the offer did not say the client supports that
// (RFC 7692 §7.1.2.2: the answer may only carry client_max_window_bits if offered).
std::optional<DeflateAgreement> negotiate_deflate(std::string_view offers, const DeflateServerOptions& options);
std::optional<DeflateAgreement> negotiate_deflate(const std::vector<Extension>& offers,
                                                  const DeflateServerOptions& options);

// zlib streams are released with deflateEnd/inflateEnd, then freed.
struct DeflateStreamDeleter {
  void operator()(z_stream_s* stream) const;
};
struct InflateStreamDeleter {
  void operator()(z_stream_s* stream) const;
};

// Compresses messages (RFC 7692 §7.2.1). Feed a message's payload in any number of
// pieces; the output of each call is appended to `out` and can be sent at once.
class Deflater {
 public:
  // window_bits 8..15 (8 cannot be made by zlib's deflate: see the .cpp); level 0..9
  // (-1: zlib's default 6); mem_level 1..9.
  Deflater(int window_bits, bool no_context_takeover, int level = -1, int mem_level = 8);

  // Appends compressed bytes for `payload`. With `message_end`, flushes the message
  // and drops the 00 00 FF FF tail (§7.2.1). False only if zlib failed (out of memory).
  bool compress(std::span<const std::uint8_t> payload, bool message_end, std::vector<std::uint8_t>& out);
  // True while zlib state is allocated (an idle stream without context takeover holds none).
  bool holds_memory() const { return stream_ != nullptr; }

 private:
  bool ensure_stream();
  int window_bits_;
  bool no_context_takeover_;
  int level_;
  int mem_level_;
  std::unique_ptr<z_stream_s, DeflateStreamDeleter> stream_;
};

enum class InflateStatus : std::uint8_t {
  kOk,        // progress made; call again with more input or more output space
  kTooBig,    // the message inflates past max_message_bytes (a bomb): fail with 1009
  kBadData,   // not a valid DEFLATE stream (or out of memory): fail the connection
};

struct InflateStep {
  InflateStatus status = InflateStatus::kOk;
  std::size_t consumed = 0;  // input bytes used
  std::size_t produced = 0;  // output bytes written
  bool message_done = false; // finish_message(): all of the message's output was produced
};

// Decompresses messages (RFC 7692 §7.2.2) lazily: output never exceeds the space
// the caller offers, so a small bomb never materialises beyond that space.
class Inflater {
 public:
  // max_message_bytes: inflated size limit per message (0 = none).
  Inflater(int window_bits, bool no_context_takeover, std::uint64_t max_message_bytes);

  // Inflates part of the current message's compressed payload. Stops when `in` is
  // used up or `out` is full; when `out` filled up, call again (zlib may hold more).
  InflateStep inflate(std::span<const std::uint8_t> in, std::span<std::uint8_t> out);
  // After the message's last compressed byte: inflates the implied 00 00 FF FF tail
  // and what zlib still holds. Call until message_done; then the next message starts.
  InflateStep finish_message(std::span<std::uint8_t> out);
  std::uint64_t message_bytes() const { return message_bytes_; }
  bool holds_memory() const { return stream_ != nullptr; }

 private:
  bool ensure_stream();
  InflateStep run(std::span<const std::uint8_t> in, std::span<std::uint8_t> out);
  int window_bits_;
  bool no_context_takeover_;
  std::uint64_t max_message_bytes_;
  std::uint64_t message_bytes_ = 0;
  std::size_t tail_fed_ = 0;        // bytes of 00 00 FF FF given to zlib for this message
  bool stream_ended_ = false;       // a BFINAL block ended the DEFLATE stream in this message
  std::unique_ptr<z_stream_s, InflateStreamDeleter> stream_;
};

// Whole-message helpers (tests, tools).
std::vector<std::uint8_t> deflate_message(Deflater& deflater, std::span<const std::uint8_t> payload);
std::optional<std::vector<std::uint8_t>> inflate_message(Inflater& inflater, std::span<const std::uint8_t> payload);

}  // namespace wsgate::ws
