// Tests for ws/permessage_deflate: offer parsing and answers (RFC 7692 §7.1), compression
// and decompression (§7.2), the §7.2.3 examples, window sizes, context takeover, bombs.
#include "ws/permessage_deflate.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>

#include "tests/ws/ws_test_util.hpp"

namespace wsgate::ws {
namespace {

using test::Bytes;
using test::bytes_of;

std::string answer_of(std::string_view offers, DeflateServerOptions options = {}) {
  auto agreement = negotiate_deflate(offers, options);
  if (!agreement) return "<declined>";
  return format_extensions({agreement->response});
}

DeflateParams params_of(std::string_view offers, DeflateServerOptions options = {}) {
  auto agreement = negotiate_deflate(offers, options);
  EXPECT_TRUE(agreement) << offers;
  return agreement ? agreement->params : DeflateParams{};
}

TEST(DeflateNegotiation, PlainOfferGetsPlainAnswer) {
  EXPECT_EQ(answer_of("permessage-deflate"), "permessage-deflate");
  EXPECT_EQ(params_of("permessage-deflate"), DeflateParams{});
  EXPECT_EQ(answer_of("PerMessage-Deflate"), "permessage-deflate");
}

TEST(DeflateNegotiation, NoOfferOrOtherExtensionsOnly) {
  EXPECT_EQ(answer_of("x-webkit-deflate-frame"), "<declined>");
  EXPECT_EQ(answer_of("foo, bar; baz=1"), "<declined>");
  EXPECT_EQ(answer_of(";;;"), "<declined>");  // malformed header
}

TEST(DeflateNegotiation, ChromiumAndPythonOffers) {
  // What Chromium and python-websockets send.
  EXPECT_EQ(answer_of("permessage-deflate; client_max_window_bits"), "permessage-deflate");
  EXPECT_EQ(params_of("permessage-deflate; client_max_window_bits").client_max_window_bits, 15);
  // Firefox.
  EXPECT_EQ(answer_of("permessage-deflate"), "permessage-deflate");
}

TEST(DeflateNegotiation, ServerNoContextTakeoverOfferedIsAccepted) {
  EXPECT_EQ(answer_of("permessage-deflate; server_no_context_takeover"),
            "permessage-deflate; server_no_context_takeover");
  EXPECT_TRUE(params_of("permessage-deflate; server_no_context_takeover").server_no_context_takeover);
}

TEST(DeflateNegotiation, ClientNoContextTakeoverHintIsTaken) {
  EXPECT_EQ(answer_of("permessage-deflate; client_no_context_takeover"),
            "permessage-deflate; client_no_context_takeover");
  EXPECT_TRUE(params_of("permessage-deflate; client_no_context_takeover").client_no_context_takeover);
}

TEST(DeflateNegotiation, ServerOptionsAddTakeoverParams) {
  DeflateServerOptions o;
  o.server_no_context_takeover = true;
  o.client_no_context_takeover = true;
  EXPECT_EQ(answer_of("permessage-deflate", o),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  auto p = params_of("permessage-deflate", o);
  EXPECT_TRUE(p.server_no_context_takeover);
  EXPECT_TRUE(p.client_no_context_takeover);
}

TEST(DeflateNegotiation, ServerMaxWindowBitsEveryValue) {
  for (int offered = 8; offered <= 15; ++offered) {
    for (int limit = 8; limit <= 15; ++limit) {
      DeflateServerOptions o;
      o.server_max_window_bits = limit;
      std::string offer = "permessage-deflate; server_max_window_bits=" + std::to_string(offered);
      int expected = std::min(offered, limit);
      EXPECT_EQ(answer_of(offer, o), "permessage-deflate; server_max_window_bits=" + std::to_string(expected))
          << offer << " limit " << limit;
      EXPECT_EQ(params_of(offer, o).server_max_window_bits, expected);
    }
  }
}

TEST(DeflateNegotiation, ServerLimitWithoutOfferIsAnnounced) {
  DeflateServerOptions o;
  o.server_max_window_bits = 10;
  EXPECT_EQ(answer_of("permessage-deflate", o), "permessage-deflate; server_max_window_bits=10");
  o.server_max_window_bits = 15;
  EXPECT_EQ(answer_of("permessage-deflate", o), "permessage-deflate");
}

TEST(DeflateNegotiation, ClientMaxWindowBitsEveryValue) {
  for (int offered = 8; offered <= 15; ++offered) {
    for (int limit = 8; limit <= 15; ++limit) {
      DeflateServerOptions o;
      o.client_max_window_bits = limit;
      std::string offer = "permessage-deflate; client_max_window_bits=" + std::to_string(offered);
      int expected = std::min(offered, limit);
      EXPECT_EQ(answer_of(offer, o), "permessage-deflate; client_max_window_bits=" + std::to_string(expected))
          << offer << " limit " << limit;
      EXPECT_EQ(params_of(offer, o).client_max_window_bits, expected);
    }
    // Valueless: the server picks its limit (or says nothing for 15).
    DeflateServerOptions o;
    o.client_max_window_bits = offered;
    EXPECT_EQ(answer_of("permessage-deflate; client_max_window_bits", o),
              offered == 15 ? "permessage-deflate"
                            : "permessage-deflate; client_max_window_bits=" + std::to_string(offered));
  }
}

TEST(DeflateNegotiation, ClientLimitNeedsTheClientsConsent) {
  // §7.1.2.2: no client_max_window_bits in the offer -> it must not be in the answer;
  // a server that cannot inflate with 32 KiB declines that offer and takes the next.
  DeflateServerOptions o;
  o.client_max_window_bits = 10;
  EXPECT_EQ(answer_of("permessage-deflate", o), "<declined>");
  EXPECT_EQ(answer_of("permessage-deflate, permessage-deflate; client_max_window_bits", o),
            "permessage-deflate; client_max_window_bits=10");
}

TEST(DeflateNegotiation, AllParametersTogether) {
  EXPECT_EQ(answer_of("permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                      "server_max_window_bits=12; client_max_window_bits=9"),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=12; client_max_window_bits=9");
  auto p = params_of("permessage-deflate; client_max_window_bits=\"10\"; server_max_window_bits=\"11\"");
  EXPECT_EQ(p.client_max_window_bits, 10);
  EXPECT_EQ(p.server_max_window_bits, 11);
}

TEST(DeflateNegotiation, InvalidOffersAreDeclined) {
  for (const char* bad : {
           "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
           "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
           "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
           "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
           "permessage-deflate; server_no_context_takeover=1",
           "permessage-deflate; client_no_context_takeover=true",
           "permessage-deflate; server_max_window_bits",
           "permessage-deflate; server_max_window_bits=7",
           "permessage-deflate; server_max_window_bits=16",
           "permessage-deflate; server_max_window_bits=010",
           "permessage-deflate; server_max_window_bits=0x9",
           "permessage-deflate; client_max_window_bits=7",
           "permessage-deflate; client_max_window_bits=16",
           "permessage-deflate; client_max_window_bits=08",
           "permessage-deflate; client_max_window_bits=abc",
           "permessage-deflate; mux",
       }) {
    EXPECT_EQ(answer_of(bad), "<declined>") << bad;
    // ... and the next, valid offer is taken.
    EXPECT_EQ(answer_of(std::string(bad) + ", permessage-deflate"), "permessage-deflate") << bad;
  }
}

TEST(DeflateNegotiation, FirstAcceptableOfferWins) {
  EXPECT_EQ(answer_of("foo, permessage-deflate; server_max_window_bits=10, permessage-deflate"),
            "permessage-deflate; server_max_window_bits=10");
}

// ---- compression ----

Bytes deflate(Deflater& d, std::string_view text) { return deflate_message(d, bytes_of(text)); }

std::string inflate(Inflater& i, const Bytes& compressed) {
  auto out = inflate_message(i, compressed);
  EXPECT_TRUE(out);
  return out ? std::string(out->begin(), out->end()) : std::string("<error>");
}

TEST(DeflateCodec, Rfc7692HelloExample) {
  // §7.2.3.1: "Hello" compresses to f2 48 cd c9 c9 07 00.
  Deflater d(15, false);
  EXPECT_EQ(deflate(d, "Hello"), (Bytes{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  // §7.2.3.2: with the shared window the second "Hello" is f2 00 11 00 00.
  EXPECT_EQ(deflate(d, "Hello"), (Bytes{0xf2, 0x00, 0x11, 0x00, 0x00}));
  // Without context takeover the second one is self-contained again.
  Deflater fresh(15, true);
  EXPECT_EQ(deflate(fresh, "Hello"), (Bytes{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  EXPECT_EQ(deflate(fresh, "Hello"), (Bytes{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  EXPECT_FALSE(fresh.holds_memory());
}

TEST(DeflateCodec, Rfc7692ExamplesInflate) {
  Inflater i(15, false, 0);
  EXPECT_EQ(inflate(i, {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), "Hello");
  EXPECT_EQ(inflate(i, {0xf2, 0x00, 0x11, 0x00, 0x00}), "Hello");  // §7.2.3.2 shared window
  // §7.2.3.3: an uncompressed (stored) block.
  Inflater stored(15, false, 0);
  EXPECT_EQ(inflate(stored, {0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}), "Hello");
  // §7.2.3.4: a block with BFINAL set.
  Inflater final_block(15, false, 0);
  EXPECT_EQ(inflate(final_block, {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}), "Hello");
  EXPECT_EQ(inflate(final_block, {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), "Hello");  // next message fine
  // §7.2.3.5: two DEFLATE blocks in one message.
  Inflater two(15, false, 0);
  EXPECT_EQ(inflate(two, {0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}), "Hello");
  // §7.2.3.6: an empty message.
  Inflater empty(15, false, 0);
  EXPECT_EQ(inflate(empty, {0x00}), "");
  EXPECT_EQ(inflate(empty, {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), "Hello");
}

TEST(DeflateCodec, EmptyMessagesCompressToOneByte) {
  Deflater d(15, false);
  EXPECT_EQ(deflate(d, ""), Bytes{0x00});
  EXPECT_EQ(deflate(d, ""), Bytes{0x00});  // a second flush in a row gives zlib nothing to do
  Inflater i(15, false, 0);
  EXPECT_EQ(inflate(i, {0x00}), "");
  EXPECT_EQ(inflate(i, {0x00}), "");
  EXPECT_EQ(inflate(i, deflate(d, "after")), "after");
}

TEST(DeflateCodec, FragmentedCompressedMessage) {
  // §7.2.3.1 fragmented: the compressed bytes of one message split over two frames.
  Inflater i(15, false, 0);
  std::array<std::uint8_t, 64> out{};
  const Bytes part1 = {0xf2, 0x48, 0xcd};
  const Bytes part2 = {0xc9, 0xc9, 0x07, 0x00};
  std::string got;
  for (const Bytes* part : {&part1, &part2}) {
    std::span<const std::uint8_t> in(*part);
    while (!in.empty()) {
      auto step = i.inflate(in, out);
      ASSERT_EQ(step.status, InflateStatus::kOk);
      got.append(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(step.produced));
      in = in.subspan(step.consumed);
    }
  }
  while (true) {
    auto step = i.finish_message(out);
    ASSERT_EQ(step.status, InflateStatus::kOk);
    got.append(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(step.produced));
    if (step.message_done) break;
  }
  EXPECT_EQ(got, "Hello");
}

std::string sample_text(std::size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  static const char* words[] = {"alpha ", "beta ", "gamma ", "{\"id\":", "42,", "\"name\":\"x\"}", "\n", "delta "};
  std::string s;
  while (s.size() < size) s += words[rng() % 8];
  s.resize(size);
  return s;
}

TEST(DeflateCodec, RoundTripEveryWindowAndTakeoverMode) {
  for (int bits = 8; bits <= 15; ++bits) {
    for (bool no_takeover : {false, true}) {
      Deflater d(bits, no_takeover);
      Inflater i(bits, no_takeover, 0);
      for (unsigned m = 0; m < 6; ++m) {
        std::string text = sample_text(m * 7000 + 1, m + static_cast<unsigned>(bits));
        Bytes compressed = deflate(d, text);
        ASSERT_FALSE(compressed.empty());
        if (text.size() > 1000) {
          EXPECT_LT(compressed.size(), text.size()) << bits;
        }
        ASSERT_EQ(inflate(i, compressed), text) << "bits " << bits << " takeover " << !no_takeover << " m " << m;
      }
      EXPECT_EQ(d.holds_memory(), !no_takeover);
      EXPECT_EQ(i.holds_memory(), !no_takeover);
    }
  }
}

TEST(DeflateCodec, WindowEightStaysWithinItsWindow) {
  // Compressed with window "8" (zlib 9 + RLE), the output inflates with a raw 256-byte window.
  Deflater d(8, false);
  z_stream z{};
  ASSERT_EQ(inflateInit2(&z, -8), Z_OK);
  for (unsigned m = 0; m < 4; ++m) {
    std::string text = sample_text(5000, m) + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    Bytes compressed = deflate(d, text);
    compressed.insert(compressed.end(), {0x00, 0x00, 0xff, 0xff});
    std::string out(text.size() + 16, '\0');
    z.next_in = compressed.data();
    z.avail_in = static_cast<uInt>(compressed.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int rc = ::inflate(&z, Z_SYNC_FLUSH);
    ASSERT_TRUE(rc == Z_OK || rc == Z_BUF_ERROR) << rc;
    out.resize(out.size() - z.avail_out);
    EXPECT_EQ(out, text);
  }
  inflateEnd(&z);
}

TEST(DeflateCodec, StreamingCompressionInPieces) {
  Deflater d(15, false);
  Inflater i(15, false, 0);
  std::string text = sample_text(100000, 7);
  for (std::size_t piece : {1u, 7u, 1000u, 65536u}) {
    Bytes compressed;
    for (std::size_t at = 0; at < text.size(); at += piece) {
      std::size_t n = std::min(piece, text.size() - at);
      ASSERT_TRUE(d.compress(std::span(reinterpret_cast<const std::uint8_t*>(text.data()) + at, n),
                             at + n == text.size(), compressed));
    }
    EXPECT_EQ(inflate(i, compressed), text) << piece;
  }
}

TEST(DeflateCodec, BombIsStoppedAtTheLimit) {
  // 10 MiB of zeros compress to ~10 KiB; the inflater stops just past 1 MiB.
  Deflater d(15, true);
  Bytes zeros(10 * 1024 * 1024, 0);
  Bytes bomb = deflate_message(d, zeros);
  ASSERT_LT(bomb.size(), 20000u);
  Inflater i(15, false, 1024 * 1024);
  std::array<std::uint8_t, 16 * 1024> out{};
  std::span<const std::uint8_t> in(bomb);
  std::uint64_t produced = 0;
  InflateStatus status = InflateStatus::kOk;
  while (status == InflateStatus::kOk && !in.empty()) {
    auto step = i.inflate(in, out);
    status = step.status;
    produced += step.produced;
    in = in.subspan(step.consumed);
  }
  EXPECT_EQ(status, InflateStatus::kTooBig);
  EXPECT_LE(produced, 1024 * 1024 + out.size());
  EXPECT_FALSE(inflate_message(i, bomb).has_value());
  // Exactly at the limit is fine.
  Inflater exact(15, false, zeros.size());
  auto whole = inflate_message(exact, bomb);
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->size(), zeros.size());
}

TEST(DeflateCodec, CorruptDataIsAnError) {
  Inflater i(15, false, 0);
  EXPECT_FALSE(inflate_message(i, Bytes{0xff, 0xff, 0xff, 0xff, 0x00}).has_value());
  Inflater wrong_window(9, false, 0);
  Deflater big(15, false);
  std::string text = sample_text(20000, 3);
  text += text;  // repeats at distance 20000: beyond a 512-byte window
  EXPECT_FALSE(inflate_message(wrong_window, deflate(big, text)).has_value());
}

// zlib's documented memory use, checked with a counting allocator: deflate needs
// (1 << (windowBits+2)) + (1 << (memLevel+9)) plus its state, inflate 1 << windowBits plus ~7 KiB.
struct Counted {
  std::size_t bytes = 0;
};
voidpf counting_alloc(voidpf opaque, uInt items, uInt size) {
  static_cast<Counted*>(opaque)->bytes += std::size_t(items) * size;
  return calloc(items, size);
}
void counting_free(voidpf, voidpf p) { free(p); }

TEST(DeflateCodec, MemoryPerStreamMatchesZlibsFormula) {
  for (int bits = 9; bits <= 15; ++bits) {
    for (int mem_level : {1, 4, 8}) {
      Counted c;
      z_stream z{};
      z.zalloc = counting_alloc;
      z.zfree = counting_free;
      z.opaque = &c;
      ASSERT_EQ(deflateInit2(&z, 6, Z_DEFLATED, -bits, mem_level, Z_DEFAULT_STRATEGY), Z_OK);
      std::size_t formula = (std::size_t{1} << (bits + 2)) + (std::size_t{1} << (mem_level + 9));
      EXPECT_GE(c.bytes, formula);
      EXPECT_LE(c.bytes, formula + 8 * 1024) << "deflate bits " << bits << " memLevel " << mem_level;
      deflateEnd(&z);
    }
    Counted c;
    z_stream z{};
    z.zalloc = counting_alloc;
    z.zfree = counting_free;
    z.opaque = &c;
    ASSERT_EQ(inflateInit2(&z, -bits), Z_OK);
    Bytes hello = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff};
    std::array<std::uint8_t, 16> out{};
    z.next_in = hello.data();
    z.avail_in = static_cast<uInt>(hello.size());
    z.next_out = out.data();
    z.avail_out = out.size();
    ::inflate(&z, Z_SYNC_FLUSH);  // the window is allocated on first use
    EXPECT_GE(c.bytes, std::size_t{1} << bits);
    EXPECT_LE(c.bytes, (std::size_t{1} << bits) + 8 * 1024) << "inflate bits " << bits;
    inflateEnd(&z);
  }
}

}  // namespace
}  // namespace wsgate::ws
