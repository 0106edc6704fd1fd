// Tests for gateway/deflate_channel: the permessage-deflate decorator over a fake inner Channel,
// read side (inflate, refragment, re-mask, errors as frames the relay rejects, flow-control credit)
// and write side (compress the relay's frames in any byte split, control frames unchanged).
#include "gateway/deflate_channel.hpp"

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <deque>
#include <string>

#include "ws/frame_scanner.hpp"

namespace wsgate::gw {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

// An inner Channel fed by the test.
class FakeChannel : public Channel {
 public:
  explicit FakeChannel(boost::asio::io_context& io) : io_(io) {}
  void async_wait_readable(Handler handler) override {
    if (!rx_.empty() || eof_) {
      boost::asio::post(io_, [handler] { handler({}); });
    } else {
      waiter_ = std::move(handler);
    }
  }
  std::size_t read_some(std::span<std::uint8_t> buffer, ErrorCode& ec) override {
    if (rx_.empty()) {
      ec = eof_ ? ErrorCode(boost::asio::error::eof) : ErrorCode(boost::asio::error::would_block);
      return 0;
    }
    std::size_t n = std::min(buffer.size(), std::min(rx_.size(), read_limit));
    std::copy_n(rx_.begin(), n, buffer.begin());
    rx_.erase(rx_.begin(), rx_.begin() + static_cast<std::ptrdiff_t>(n));
    ec = {};
    return n;
  }
  void async_write(std::span<const std::uint8_t> data, Handler handler) override {
    written.insert(written.end(), data.begin(), data.end());
    boost::asio::post(io_, [handler] { handler({}); });
  }
  void shutdown_write() override {}
  // Like the real channels: a pending wait completes with operation_aborted (which releases
  // the DeflateChannel its handler holds).
  void close() override {
    if (waiter_) {
      auto h = std::move(waiter_);
      waiter_ = nullptr;
      boost::asio::post(io_, [h] { h(boost::asio::error::operation_aborted); });
    }
  }
  void abort() override { close(); }
  void on_forwarded(std::size_t bytes) override { forwarded += bytes; }
  std::string remote_address() const override { return "fake"; }

  void feed(const Bytes& b) {
    rx_.insert(rx_.end(), b.begin(), b.end());
    fed += b.size();
    if (waiter_) {
      auto h = std::move(waiter_);
      waiter_ = nullptr;
      boost::asio::post(io_, [h] { h({}); });
    }
  }

  Bytes written;
  std::size_t forwarded = 0;
  std::size_t fed = 0;
  std::size_t read_limit = SIZE_MAX;

 private:
  boost::asio::io_context& io_;
  std::deque<std::uint8_t> rx_;
  bool eof_ = false;
  Handler waiter_;
};

Bytes client_frame(std::uint8_t opcode, const Bytes& payload, bool fin = true, std::uint8_t rsv = 0) {
  Bytes out(ws::kMaxHeaderBytes);
  const ws::MaskKey key{0x12, 0x34, 0x56, 0x78};
  out.resize(ws::write_frame_header(out, fin, opcode, payload.size(), key, rsv));
  const std::size_t start = out.size();
  out.insert(out.end(), payload.begin(), payload.end());
  ws::apply_mask(std::span(out).subspan(start), key);
  return out;
}

Bytes server_frame(std::uint8_t opcode, const Bytes& payload, bool fin = true) {
  Bytes out(ws::kMaxHeaderBytes);
  out.resize(ws::write_frame_header(out, fin, opcode, payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// Frames (payloads unmasked) parsed from a byte stream.
struct ParsedFrame {
  ws::FrameHeader header;
  Bytes payload;
};
std::vector<ParsedFrame> parse_frames(const Bytes& bytes, ws::Sender sender, std::uint8_t allowed_rsv) {
  ws::FrameParser parser({sender, allowed_rsv});
  std::vector<ParsedFrame> frames;
  std::span<const std::uint8_t> in(bytes);
  while (true) {
    auto ev = parser.next(in);
    in = in.subspan(ev.consumed);
    if (ev.kind == ws::FrameEvent::kNeedMore) break;
    EXPECT_NE(ev.kind, ws::FrameEvent::kError) << ws::to_string(ev.error);
    if (ev.kind == ws::FrameEvent::kError) break;
    if (ev.kind == ws::FrameEvent::kHeader) frames.push_back({ev.header, {}});
    if (ev.kind == ws::FrameEvent::kPayload) {
      Bytes chunk(ev.payload.begin(), ev.payload.end());
      if (ev.header.masked) ws::apply_mask(chunk, ev.header.mask_key, ev.payload_offset);
      frames.back().payload.insert(frames.back().payload.end(), chunk.begin(), chunk.end());
    }
  }
  return frames;
}

struct Fixture {
  explicit Fixture(DeflateChannelOptions o = {}, Bytes pending = {}) : inner(std::make_shared<FakeChannel>(io)) {
    o.chunk_bytes = chunk;
    channel = std::make_shared<DeflateChannel>(io.get_executor(), inner, o, std::move(pending));
  }
  ~Fixture() {
    channel->close();
    io.restart();
    io.poll();
  }
  // Reads everything the channel offers (as the relay would), forwarding it at once.
  Bytes drain() {
    Bytes out;
    while (true) {
      // A flag per wait: a handler left waiting from an earlier drain() must not count.
      auto ready = std::make_shared<bool>(false);
      channel->async_wait_readable([ready](const ErrorCode&) { *ready = true; });
      io.restart();
      io.poll();
      if (!*ready) break;
      std::array<std::uint8_t, 1000> buf;
      ErrorCode ec;
      std::size_t n = channel->read_some(buf, ec);
      if (n == 0) break;
      out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
      channel->on_forwarded(n);
    }
    io.restart();
    io.poll();
    return out;
  }
  void write(const Bytes& data) {
    bool done = false;
    channel->async_write(data, [&](const ErrorCode& ec) {
      EXPECT_FALSE(ec);
      done = true;
    });
    io.restart();
    io.poll();
    EXPECT_TRUE(done);
  }

  std::size_t chunk = 1024;
  boost::asio::io_context io;
  std::shared_ptr<FakeChannel> inner;
  std::shared_ptr<DeflateChannel> channel;
};

std::string text_of(std::size_t n) {
  std::string s;
  while (s.size() < n) s += "message " + std::to_string(s.size()) + "; ";
  s.resize(n);
  return s;
}

// Inflated client messages as the relay sees them: masked, no RSV, fragments of <= chunk bytes.
std::vector<std::string> messages_of(const Bytes& relay_input) {
  std::vector<std::string> messages;
  std::string current;
  for (const auto& f : parse_frames(relay_input, ws::Sender::kClient, 0)) {
    EXPECT_TRUE(f.header.masked);
    if (ws::is_control(f.header.opcode)) continue;
    current.append(f.payload.begin(), f.payload.end());
    if (f.header.fin) messages.push_back(std::exchange(current, {}));
  }
  return messages;
}

TEST(DeflateChannel, InflatesCompressedMessagesInEveryInputSplit) {
  ws::Deflater client(15, false);
  const std::string first = text_of(5000), second = "Hello";
  Bytes raw = client_frame(0x1, ws::deflate_message(client, bytes_of(first)), true, ws::kRsv1);
  Bytes more = client_frame(0x1, ws::deflate_message(client, bytes_of(second)), true, ws::kRsv1);
  raw.insert(raw.end(), more.begin(), more.end());
  for (std::size_t split = 1; split < raw.size(); split += 7) {
    Fixture f;
    f.inner->read_limit = split;
    f.inner->feed(raw);
    Bytes out = f.drain();
    EXPECT_EQ(messages_of(out), (std::vector<std::string>{first, second})) << "split " << split;
    // Every raw byte was credited once its output was forwarded (HTTP/2 flow control).
    EXPECT_EQ(f.inner->forwarded, raw.size()) << "split " << split;
  }
}

TEST(DeflateChannel, LargeMessageIsRefragmentedInBoundedFrames) {
  ws::Deflater client(15, false);
  const std::string text = text_of(200000);
  Fixture f;
  f.inner->feed(client_frame(0x2, ws::deflate_message(client, bytes_of(text)), true, ws::kRsv1));
  Bytes out = f.drain();
  auto frames = parse_frames(out, ws::Sender::kClient, 0);
  ASSERT_GT(frames.size(), 100u);
  EXPECT_EQ(frames.front().header.opcode, 0x2);
  for (std::size_t i = 1; i < frames.size(); ++i) EXPECT_EQ(frames[i].header.opcode, 0x0);
  for (const auto& fr : frames) EXPECT_LE(fr.payload.size(), f.chunk);
  EXPECT_EQ(messages_of(out), std::vector<std::string>{text});
}

TEST(DeflateChannel, PlainFramesAndControlFramesPassUnchanged) {
  ws::Deflater client(15, false);
  const Bytes compressed = ws::deflate_message(client, bytes_of("compressed one"));
  Bytes raw = client_frame(0x1, bytes_of("plain"));
  for (const Bytes& b : {client_frame(0x1, Bytes(compressed.begin(), compressed.begin() + 3), false, ws::kRsv1),
                         client_frame(0x9, bytes_of("ping")),
                         client_frame(0x0, Bytes(compressed.begin() + 3, compressed.end()), true),
                         client_frame(0x8, {0x03, 0xe8})}) {
    raw.insert(raw.end(), b.begin(), b.end());
  }
  Fixture f({}, raw);  // given as bytes read after the handshake
  Bytes out = f.drain();
  auto frames = parse_frames(out, ws::Sender::kClient, 0);
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(std::string(frames[0].payload.begin(), frames[0].payload.end()), "plain");
  EXPECT_EQ(frames[1].header.opcode, 0x9);  // the ping, between the fragments
  EXPECT_EQ(std::string(frames[2].payload.begin(), frames[2].payload.end()), "compressed one");
  EXPECT_EQ(frames[3].header.opcode, 0x8);
  EXPECT_EQ(f.inner->forwarded, raw.size());
}

ws::ScanResult scan_all(const Bytes& bytes, std::uint64_t max_message_bytes) {
  ws::FrameScannerOptions o;
  o.frame.sender = ws::Sender::kClient;
  o.max_message_bytes = max_message_bytes;
  ws::FrameScanner scanner(o);
  std::span<const std::uint8_t> in(bytes);
  ws::ScanResult r;
  while (!in.empty()) {
    r = scanner.scan(in);
    in = in.subspan(r.consumed);
    if (r.kind == ws::ScanResult::kError) return r;
    if (r.kind == ws::ScanResult::kNeedMore) break;
  }
  return r;
}

TEST(DeflateChannel, BombBecomesAFrameTheRelayRejectsAsTooBig) {
  ws::Deflater client(15, false);
  DeflateChannelOptions o;
  o.max_message_bytes = 100000;
  Fixture f(o);
  f.inner->feed(client_frame(0x2, ws::deflate_message(client, Bytes(50u << 20, 0)), true, ws::kRsv1));
  Bytes out = f.drain();
  EXPECT_LT(out.size(), 100000u + 4096u);  // never more than the limit materialised
  auto r = scan_all(out, o.max_message_bytes);
  ASSERT_EQ(r.kind, ws::ScanResult::kError);
  EXPECT_EQ(r.error, ws::ScanError::kMessageTooBig);
  // Later input is dropped (and credited) without output.
  f.inner->feed(client_frame(0x1, bytes_of("after")));
  EXPECT_TRUE(f.drain().empty());
  EXPECT_EQ(f.inner->forwarded, f.inner->fed);
}

TEST(DeflateChannel, InflatedFramesRespectMaxFrameBytes) {
  ws::Deflater client(15, false);
  DeflateChannelOptions o;
  o.client_frames.max_frame_bytes = 100;
  const std::string text = std::string(3000, 'a') + text_of(40) + std::string(2000, 'b');
  const Bytes compressed = ws::deflate_message(client, bytes_of(text));
  ASSERT_LE(compressed.size(), 100u);
  {
    Fixture f(o);
    f.inner->feed(client_frame(0x1, compressed, true, ws::kRsv1));
    Bytes out = f.drain();
    for (const auto& fr : parse_frames(out, ws::Sender::kClient, 0)) EXPECT_LE(fr.payload.size(), 100u);
    EXPECT_EQ(messages_of(out), std::vector<std::string>{text});
  }
  // A raw frame over the limit: a header the relay rejects as too large (1009).
  Fixture f(o);
  f.inner->feed(client_frame(0x1, Bytes(101, 'x')));
  ws::FrameScannerOptions scan;
  scan.frame.sender = ws::Sender::kClient;
  scan.frame.max_frame_bytes = 100;
  ws::FrameScanner scanner(scan);
  Bytes out = f.drain();
  auto r = scanner.scan(out);
  ASSERT_EQ(r.kind, ws::ScanResult::kError);
  EXPECT_EQ(r.frame_error, ws::FrameError::kFrameTooLarge);
}

TEST(DeflateChannel, ProtocolErrorsBecomeAFrameTheRelayRejects) {
  for (const Bytes& bad : {client_frame(0x1, bytes_of("\xff\xff\xff\xff garbage"), true, ws::kRsv1),  // corrupt
                           client_frame(0x9, bytes_of("x"), true, ws::kRsv1),                       // RSV1 on a ping
                           client_frame(0x0, bytes_of("x"), true, 0),                                // stray continuation
                           client_frame(0x1, bytes_of("x"), true, ws::kRsv2)}) {                     // RSV2
    Fixture f;
    f.inner->feed(bad);
    auto r = scan_all(f.drain(), 0);
    ASSERT_EQ(r.kind, ws::ScanResult::kError);
    EXPECT_EQ(r.error, ws::ScanError::kFrame);
    EXPECT_EQ(r.frame_error, ws::FrameError::kReservedOpcode);
  }
}

TEST(DeflateChannel, CompressesTheRelaysFramesInEveryWriteSplit) {
  const std::string text = text_of(3000);
  Bytes stream = server_frame(0x1, bytes_of(text), false);
  for (const Bytes& b : {server_frame(0x9, bytes_of("ping")), server_frame(0x0, bytes_of("tail"), true),
                         server_frame(0x2, bytes_of("second")), server_frame(0x8, {0x03, 0xe8})}) {
    stream.insert(stream.end(), b.begin(), b.end());
  }
  for (std::size_t split = 1; split <= stream.size(); split += 13) {
    Fixture f;
    for (std::size_t at = 0; at < stream.size(); at += split) {
      f.write(Bytes(stream.begin() + static_cast<std::ptrdiff_t>(at),
                    stream.begin() + static_cast<std::ptrdiff_t>(std::min(stream.size(), at + split))));
    }
    ws::Inflater client(15, false, 0);
    std::vector<std::string> messages;
    std::vector<std::uint8_t> controls;
    Bytes current;
    bool compressed = false;
    for (const auto& fr : parse_frames(f.inner->written, ws::Sender::kServer, ws::kRsv1)) {
      EXPECT_FALSE(fr.header.masked);
      if (ws::is_control(fr.header.opcode)) {
        EXPECT_EQ(fr.header.rsv, 0);
        controls.push_back(fr.header.opcode);
        continue;
      }
      if (fr.header.opcode != 0) compressed = (fr.header.rsv & ws::kRsv1) != 0;
      if (fr.header.opcode == 0) {
        EXPECT_EQ(fr.header.rsv, 0);  // RFC 7692 §6.1: RSV1 on the first frame only
      }
      current.insert(current.end(), fr.payload.begin(), fr.payload.end());
      if (!fr.header.fin) continue;
      EXPECT_TRUE(compressed);
      auto plain = ws::inflate_message(client, current);
      ASSERT_TRUE(plain) << "split " << split;
      messages.emplace_back(plain->begin(), plain->end());
      current.clear();
    }
    EXPECT_EQ(messages, (std::vector<std::string>{text + "tail", "second"})) << "split " << split;
    EXPECT_EQ(controls, (std::vector<std::uint8_t>{0x9, 0x8})) << "split " << split;
  }
}

TEST(DeflateChannel, SmallMessagesStayUncompressed) {
  DeflateChannelOptions o;
  o.min_message_bytes = 10;
  Fixture f(o);
  f.write(server_frame(0x1, bytes_of("tiny")));
  f.write(server_frame(0x1, bytes_of("long enough to compress")));
  auto frames = parse_frames(f.inner->written, ws::Sender::kServer, ws::kRsv1);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].header.rsv, 0);
  EXPECT_EQ(std::string(frames[0].payload.begin(), frames[0].payload.end()), "tiny");
  EXPECT_EQ(frames[1].header.rsv, ws::kRsv1);
}

}  // namespace
}  // namespace wsgate::gw
