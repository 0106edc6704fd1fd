// permessage-deflate for the echo backend (RFC 7692): the server's answer to the client's offers
// (§5, §7.1) and per-message compression with zlib (§7.2). Transport-neutral, like EchoEngine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <zlib.h>

namespace wsgate::tools {

struct DeflateParams {
  bool server_no_context_takeover = false;  // our compressor starts afresh for each message
  int server_max_window_bits = 15;          // our compressor's LZ77 window (9-15)
};

struct DeflateAgreement {
  DeflateParams params;
  std::string response;  // the Sec-WebSocket-Extensions value of the 101
};

// Accepts the first permessage-deflate offer (in the client's order) whose parameters are valid
// (RFC 7692 §7.1: known names, no duplicates, window bits 8-15) and that zlib can honour: a raw
// deflate window of 256 bytes (server_max_window_bits=8) cannot be, so such an offer is skipped.
// `offers` is the joined Sec-WebSocket-Extensions value; nullopt when no offer is acceptable.
std::optional<DeflateAgreement> negotiate_deflate(std::string_view offers);

// One connection's compression state: inflates the client's messages, deflates the echoes.
class MessageDeflate {
 public:
  explicit MessageDeflate(DeflateParams params);

  // Inflates one message (RFC 7692 §7.2.2: the payload plus 00 00 ff ff) into `out`, replacing its
  // contents. False on corrupt data or when the result would exceed `max_bytes`.
  bool inflate_message(std::span<const std::uint8_t> compressed, std::vector<std::uint8_t>& out,
                       std::size_t max_bytes);
  // Deflates one message into `out` (replacing it), ending with a sync flush whose 00 00 ff ff tail
  // is removed (§7.2.1).
  bool deflate_message(std::span<const std::uint8_t> data, std::vector<std::uint8_t>& out);

 private:
  // RAII for the two zlib streams; heap-held because an initialised z_stream must not move.
  struct Inflater {
    z_stream z{};
    bool ready = false;
    ~Inflater();
  };
  struct Deflater {
    z_stream z{};
    bool ready = false;
    ~Deflater();
  };

  DeflateParams params_;
  std::unique_ptr<Inflater> inflater_ = std::make_unique<Inflater>();
  std::unique_ptr<Deflater> deflater_ = std::make_unique<Deflater>();
};

}  // namespace wsgate::tools
