// wsgate-echo driven directly (no gateway): its handshake, echo, control frames and test hooks
// (/status/NNN, /headers, ?flood=, ?close_after_ms=, ?drop_after_ms=), which the gateway tests rely on.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <tuple>

#include <zlib.h>

#include "tests/integration/client_helpers.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/ws_client.hpp"

namespace wsgate::test {
namespace {

using namespace std::chrono_literals;

class EchoBackendTest : public ::testing::Test {
 protected:
  // Connects `client` to the echo backend and upgrades on `path`.
  ::testing::AssertionResult upgrade(WsClient& client, std::string_view path = "/",
                                     const HeaderList& headers = {}) {
    if (!client.connect("127.0.0.1", echo_.port())) {
      return ::testing::AssertionFailure() << "connect: " << client.last_error();
    }
    const HandshakeResult result = client.handshake(path, "", headers);
    if (!result.upgraded()) {
      return ::testing::AssertionFailure() << "handshake on " << path << ": status " << result.status
                                           << ", accept_ok " << result.accept_ok << ", " << result.error;
    }
    return ::testing::AssertionSuccess();
  }

  EchoBackend echo_;
};

TEST_F(EchoBackendTest, HandshakeAnswers101WithValidAccept) {
  WsClient client;
  ASSERT_TRUE(client.connect("127.0.0.1", echo_.port()));
  const HandshakeResult result = client.handshake("/");
  EXPECT_EQ(result.status, 101) << result.error;
  EXPECT_TRUE(result.accept_ok);
  EXPECT_TRUE(result.headers.has_token("Upgrade", "websocket"));
  EXPECT_TRUE(result.headers.has_token("Connection", "upgrade"));
  EXPECT_FALSE(result.headers.contains("Sec-WebSocket-Protocol"));  // none offered
}

// ---- echo of every payload-length encoding boundary (RFC 6455 §5.2), text and binary ----

class EchoSizeTest : public EchoBackendTest,
                     public ::testing::WithParamInterface<std::tuple<ws::Opcode, std::size_t>> {};

TEST_P(EchoSizeTest, EchoesOneMessage) {
  const auto [opcode, size] = GetParam();
  WsClient client;
  ASSERT_TRUE(upgrade(client));
  const std::string payload =
      opcode == ws::Opcode::kText ? text_payload(size, size) : binary_payload(size, size);
  ASSERT_TRUE(client.send_message(opcode, payload)) << client.last_error();
  const auto message = client.recv_message();
  ASSERT_TRUE(message) << client.last_error();
  EXPECT_EQ(message->opcode, opcode);
  ASSERT_EQ(message->payload.size(), payload.size());
  EXPECT_TRUE(message->payload == payload) << "payload differs";
  EXPECT_EQ(message->frame_count, 1u);  // echoed frame by frame
}

std::string size_case_name(const ::testing::TestParamInfo<std::tuple<ws::Opcode, std::size_t>>& param) {
  const auto [opcode, size] = param.param;
  return std::string(opcode == ws::Opcode::kText ? "Text" : "Binary") + std::to_string(size);
}

INSTANTIATE_TEST_SUITE_P(Sizes, EchoSizeTest,
                         ::testing::Combine(::testing::Values(ws::Opcode::kText, ws::Opcode::kBinary),
                                            ::testing::Values(0, 125, 126, 65535, 65536, 1 << 20, 16 << 20)),
                         size_case_name);

TEST_F(EchoBackendTest, EchoesFragmentsFrameByFrame) {
  WsClient client;
  ASSERT_TRUE(upgrade(client));
  const std::string payload = text_payload(10'000, 7);
  ASSERT_TRUE(client.send_message(ws::Opcode::kText, payload, 1000));
  std::string echoed;
  for (int i = 0; i < 10; ++i) {
    const auto frame = client.recv_frame();
    ASSERT_TRUE(frame) << "frame " << i << ": " << client.last_error();
    EXPECT_EQ(frame->opcode(), i == 0 ? ws::Opcode::kText : ws::Opcode::kContinuation) << "frame " << i;
    EXPECT_EQ(frame->header.fin, i == 9) << "frame " << i;
    EXPECT_FALSE(frame->header.masked);  // RFC 6455 §5.1: servers never mask
    EXPECT_EQ(frame->payload.size(), 1000u);
    echoed += frame->payload;
  }
  EXPECT_TRUE(echoed == payload);
}

TEST_F(EchoBackendTest, ReassemblesFragmentedMessageWithPingInBetween) {
  WsClient client;
  ASSERT_TRUE(upgrade(client));
  const std::string payload = binary_payload(3000, 11);
  ASSERT_TRUE(client.send_frame(ws::Opcode::kBinary, std::string_view(payload).substr(0, 1000), false));
  ASSERT_TRUE(client.send_ping("between"));  // RFC 6455 §5.4: control frames may sit between fragments
  ASSERT_TRUE(
      client.send_frame(ws::Opcode::kContinuation, std::string_view(payload).substr(1000, 1000), false));
  ASSERT_TRUE(client.send_frame(ws::Opcode::kContinuation, std::string_view(payload).substr(2000), true));

  bool got_pong = false;
  std::optional<Message> data;
  for (int i = 0; i < 2; ++i) {
    auto message = client.recv_message(kDefaultTimeout, kReturnPongs);
    ASSERT_TRUE(message) << client.last_error();
    if (message->opcode == ws::Opcode::kPong) {
      EXPECT_EQ(message->payload, "between");
      got_pong = true;
    } else {
      data = std::move(message);
    }
  }
  EXPECT_TRUE(got_pong);
  ASSERT_TRUE(data);
  EXPECT_EQ(data->opcode, ws::Opcode::kBinary);
  EXPECT_EQ(data->frame_count, 3u);
  EXPECT_TRUE(data->payload == payload);
}

TEST_F(EchoBackendTest, AnswersPingWithPong) {
  WsClient client;
  ASSERT_TRUE(upgrade(client));
  ASSERT_TRUE(client.send_ping("hello"));
  const auto pong = client.recv_message(kDefaultTimeout, kReturnPongs);
  ASSERT_TRUE(pong) << client.last_error();
  EXPECT_EQ(pong->opcode, ws::Opcode::kPong);
  EXPECT_EQ(pong->payload, "hello");
}

TEST_F(EchoBackendTest, FrameSplitIntoSingleByteWrites) {
  WsClient client;
  ASSERT_TRUE(upgrade(client));
  const std::string frame = WsClient::build_frame(static_cast<std::uint8_t>(ws::Opcode::kText), "split me");
  for (char byte : frame) ASSERT_TRUE(client.send_raw(std::string_view(&byte, 1)));
  const auto message = client.recv_message();
  ASSERT_TRUE(message) << client.last_error();
  EXPECT_EQ(message->payload, "split me");
}

TEST_F(EchoBackendTest, CloseCodeAndReasonRoundTrip) {
  WsClient client;
  ASSERT_TRUE(upgrade(client));
  const auto peer_close = client.close_and_wait(4000, "bye now");
  ASSERT_TRUE(peer_close) << client.last_error();
  EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(4000));
  EXPECT_EQ(peer_close->close_reason, "bye now");
  EXPECT_TRUE(client.wait_eof(5s)) << client.last_error();  // RFC 6455 §7.1.1: the server closes TCP first
}

// ---- UTF-8 (RFC 6455 §8.1): text is checked chunk by chunk before it is echoed ----

// "κόσμε" (valid, 11 bytes), then U+D800 (a UTF-16 surrogate: invalid in UTF-8), then "edited".
const std::string kKosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
const std::string kInvalidText = kKosme + "\xed\xa0\x80" + "edited";

TEST_F(EchoBackendTest, InvalidUtf8TextIsClosedWith1007AndNotEchoed) {
  WsClient client;
  ASSERT_TRUE(upgrade(client));
  ASSERT_TRUE(client.send_text(kInvalidText));
  const auto close = client.expect_close();
  ASSERT_TRUE(close) << client.last_error();
  EXPECT_EQ(close->close_code, std::optional<std::uint16_t>(ws::close_code::kInvalidPayload));
  EXPECT_EQ(client.discarded_messages(), 0u);
}

TEST_F(EchoBackendTest, InvalidUtf8InLaterFragmentFailsFastAfterEchoingEarlierOnes) {
  WsClient client;
  ASSERT_TRUE(upgrade(client));
  ASSERT_TRUE(client.send_frame(ws::Opcode::kText, kKosme, false));
  const auto first = client.recv_frame();
  ASSERT_TRUE(first) << client.last_error();
  EXPECT_EQ(first->payload, kKosme);
  // The invalid fragment is refused at once: the rest of the message never has to arrive.
  ASSERT_TRUE(client.send_frame(ws::Opcode::kContinuation, "\xf4\x90\x80\x80", false));  // U+110000
  const auto close = client.recv_frame();
  ASSERT_TRUE(close) << client.last_error();
  EXPECT_EQ(close->opcode(), ws::Opcode::kClose);
  EXPECT_EQ(close->payload.substr(0, 2), std::string("\x03\xef", 2));  // 1007
}

TEST_F(EchoBackendTest, TextEndingInsideACodePointIsClosedWith1007) {
  WsClient client;
  ASSERT_TRUE(upgrade(client));
  ASSERT_TRUE(client.send_frame(ws::Opcode::kText, kKosme.substr(0, 2), false));
  ASSERT_TRUE(client.send_frame(ws::Opcode::kContinuation, kKosme.substr(2, 1), false));
  ASSERT_TRUE(client.send_frame(ws::Opcode::kContinuation, "", true));  // ends after half of U+1F79
  const auto close = client.expect_close();
  ASSERT_TRUE(close) << client.last_error();
  EXPECT_EQ(close->close_code, std::optional<std::uint16_t>(ws::close_code::kInvalidPayload));
}

TEST_F(EchoBackendTest, InvalidUtf8InsideAnEchoedFrameClosesTcp) {
  WsClient client;
  ASSERT_TRUE(upgrade(client));
  // One masked frame written in two parts: the echo of the first part is under way when the
  // invalid bytes arrive, so no close frame can follow; the server closes TCP instead.
  const std::string frame = WsClient::build_frame(static_cast<std::uint8_t>(ws::Opcode::kText), kInvalidText);
  const std::size_t header_bytes = frame.size() - kInvalidText.size();
  ASSERT_TRUE(client.send_raw(std::string_view(frame).substr(0, header_bytes + kKosme.size())));
  const auto part = client.recv_raw(2 + kKosme.size());
  ASSERT_TRUE(part) << client.last_error();
  EXPECT_EQ(part->substr(2), kKosme);
  ASSERT_TRUE(client.send_raw(std::string_view(frame).substr(header_bytes + kKosme.size())));
  EXPECT_TRUE(client.wait_eof(5s)) << client.last_error();
}

TEST_F(EchoBackendTest, ValidUtf8SplitInsideCodePointsIsEchoed) {
  WsClient client;
  ASSERT_TRUE(upgrade(client));
  ASSERT_TRUE(client.send_message(ws::Opcode::kText, kKosme, 1));
  const auto message = client.recv_message();
  ASSERT_TRUE(message) << client.last_error();
  EXPECT_EQ(message->payload, kKosme);
  EXPECT_EQ(message->frame_count, kKosme.size());
}

// ---- permessage-deflate (RFC 7692) ----

// Raw deflate of `data` with a sync flush, its 00 00 ff ff tail removed (RFC 7692 §7.2.1).
std::string deflate_message(std::string_view data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(data.size() + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_SYNC_FLUSH), Z_OK);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  EXPECT_TRUE(out.ends_with(std::string("\x00\x00\xff\xff", 4)));
  out.resize(out.size() - 4);
  return out;
}

std::string inflate_message(std::string data) {
  data.append("\x00\x00\xff\xff", 4);
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, -15), Z_OK);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_SYNC_FLUSH), Z_OK);
  out.resize(out.size() - z.avail_out);
  inflateEnd(&z);
  return out;
}

TEST_F(EchoBackendTest, DeflateOfferIsAcceptedAndCompressedMessagesAreEchoedCompressed) {
  WsClient client;
  ASSERT_TRUE(client.connect("127.0.0.1", echo_.port()));
  const HandshakeResult result =
      client.handshake("/", "",
                       {{"Sec-WebSocket-Extensions",
                         "permessage-deflate; server_max_window_bits=8, "
                         "permessage-deflate; server_no_context_takeover; client_max_window_bits"}});
  ASSERT_TRUE(result.upgraded()) << result.status << " " << result.error;
  // The first offer asks for a 256-byte window, which zlib cannot honour: the second one is taken.
  EXPECT_EQ(result.headers.get("Sec-WebSocket-Extensions").value_or(""),
            "permessage-deflate; server_no_context_takeover");
  client.set_allowed_rsv(ws::kRsv1);
  const std::string text = "h\xc3\xa9llo, deflate! " + std::string(2000, 'z');
  const std::string compressed = deflate_message(text);
  // Two frames: RSV1 only on the first (RFC 7692 §6.1).
  ASSERT_TRUE(client.send_frame(ws::Opcode::kText, std::string_view(compressed).substr(0, 5), false, true,
                                ws::kRsv1));
  ASSERT_TRUE(client.send_frame(ws::Opcode::kContinuation, std::string_view(compressed).substr(5), true));
  const auto frame = client.recv_frame();
  ASSERT_TRUE(frame) << client.last_error();
  EXPECT_EQ(frame->opcode(), ws::Opcode::kText);
  EXPECT_TRUE(frame->header.fin);
  EXPECT_EQ(frame->header.rsv, ws::kRsv1);
  EXPECT_EQ(inflate_message(frame->payload), text);
  // Uncompressed messages still stream back as they are.
  ASSERT_TRUE(client.send_text("plain"));
  const auto plain = client.recv_frame();
  ASSERT_TRUE(plain) << client.last_error();
  EXPECT_EQ(plain->header.rsv, 0);
  EXPECT_EQ(plain->payload, "plain");
}

TEST_F(EchoBackendTest, CompressedInvalidUtf8IsClosedWith1007) {
  WsClient client;
  ASSERT_TRUE(upgrade(client, "/", {{"Sec-WebSocket-Extensions", "permessage-deflate"}}));
  client.set_allowed_rsv(ws::kRsv1);
  ASSERT_TRUE(client.send_frame(ws::Opcode::kText, deflate_message(kInvalidText), true, true, ws::kRsv1));
  const auto close = client.expect_close();
  ASSERT_TRUE(close) << client.last_error();
  EXPECT_EQ(close->close_code, std::optional<std::uint16_t>(ws::close_code::kInvalidPayload));
}

TEST_F(EchoBackendTest, Rsv1WithoutDeflateIsAProtocolError) {
  WsClient client;
  ASSERT_TRUE(upgrade(client));  // no offer: RSV1 means nothing
  ASSERT_TRUE(client.send_frame(ws::Opcode::kText, deflate_message("x"), true, true, ws::kRsv1));
  const auto close = client.expect_close();
  ASSERT_TRUE(close) << client.last_error();
  EXPECT_EQ(close->close_code, std::optional<std::uint16_t>(ws::close_code::kProtocolError));
}

// ---- hooks ----

TEST_F(EchoBackendTest, StatusPathAnswersWithoutUpgrading) {
  WsClient client;
  ASSERT_TRUE(client.connect("127.0.0.1", echo_.port()));
  const HandshakeResult result = client.handshake("/status/401");
  EXPECT_EQ(result.status, 401) << result.error;
  EXPECT_FALSE(result.upgraded());
  EXPECT_TRUE(result.error.empty()) << result.error;
  EXPECT_FALSE(result.body.empty());
}

TEST_F(EchoBackendTest, WrongVersionGets426WithSupportedVersion) {
  WsClient client;
  ASSERT_TRUE(client.connect("127.0.0.1", echo_.port()));
  const HandshakeResult result = client.handshake("/", "", {{"Sec-WebSocket-Version", "8"}});
  EXPECT_EQ(result.status, 426) << result.error;
  EXPECT_TRUE(result.headers.has_token("Sec-WebSocket-Version", "13"));  // RFC 6455 §4.4
}

TEST_F(EchoBackendTest, HeadersPathSendsRequestHeadersAsJson) {
  WsClient client;
  ASSERT_TRUE(upgrade(client, "/headers", {{"X-Test-Marker", "marker-8e1f"}}));
  const auto message = client.recv_message();
  ASSERT_TRUE(message) << client.last_error();
  EXPECT_EQ(message->opcode, ws::Opcode::kText);
  EXPECT_NE(message->payload.find("marker-8e1f"), std::string::npos) << message->payload;
}

TEST_F(EchoBackendTest, FloodSendsPatternedBinaryMessages) {
  constexpr std::size_t kFloodBytes = 4 << 20;
  WsClient client;
  ASSERT_TRUE(upgrade(client, "/?flood=" + std::to_string(kFloodBytes)));
  std::size_t total = 0;
  std::size_t messages = 0;
  while (total < kFloodBytes) {
    const auto message = client.recv_message();
    ASSERT_TRUE(message) << "after " << total << " bytes: " << client.last_error();
    ASSERT_EQ(message->opcode, ws::Opcode::kBinary);
    ASSERT_LE(message->payload.size(), 64u * 1024);
    for (std::size_t i = 0; i < message->payload.size(); ++i) {
      const std::size_t offset = total + i;
      ASSERT_EQ(static_cast<std::uint8_t>(message->payload[i]),
                static_cast<std::uint8_t>((offset * 31 + 7) & 0xFF))
          << "at flood offset " << offset;
    }
    total += message->payload.size();
    ++messages;
  }
  EXPECT_EQ(total, kFloodBytes);
  EXPECT_EQ(messages, kFloodBytes / (64 * 1024));
  // The connection stays a working echo afterwards.
  ASSERT_TRUE(client.send_text("after flood"));
  const auto echoed = client.recv_message();
  ASSERT_TRUE(echoed) << client.last_error();
  EXPECT_EQ(echoed->payload, "after flood");
}

TEST_F(EchoBackendTest, CloseAfterMsSendsNormalClose) {
  WsClient client;
  ASSERT_TRUE(upgrade(client, "/?close_after_ms=100"));
  const auto peer_close = client.expect_close(5s);
  ASSERT_TRUE(peer_close) << client.last_error();
  EXPECT_EQ(peer_close->close_code, std::optional<std::uint16_t>(1000));
  ASSERT_TRUE(client.close(1000));
  EXPECT_TRUE(client.wait_eof(5s)) << client.last_error();
}

TEST_F(EchoBackendTest, DropAfterMsClosesTcpWithoutCloseFrame) {
  WsClient client;
  ASSERT_TRUE(upgrade(client, "/?drop_after_ms=100"));
  EXPECT_TRUE(client.wait_eof(5s)) << client.last_error();
  EXPECT_FALSE(client.recv_frame(100ms));  // nothing was sent before the drop
}

TEST(EchoBackendSubprotocolTest, SelectsConfiguredSubprotocol) {
  EchoOptions options;
  options.subprotocols = {"chat"};
  EchoBackend echo(options);
  WsClient client;
  ASSERT_TRUE(client.connect("127.0.0.1", echo.port()));
  const HandshakeResult result = client.handshake("/", "", {{"Sec-WebSocket-Protocol", "superchat, chat"}});
  ASSERT_TRUE(result.upgraded()) << result.status << " " << result.error;
  EXPECT_EQ(result.headers.get("Sec-WebSocket-Protocol").value_or(""), "chat");
}

// ---- many connections, shutdown ----

TEST_F(EchoBackendTest, TwoHundredConcurrentConnectionsKeepTheirOwnData) {
  std::string error;
  std::vector<WsClient> clients = open_many("127.0.0.1", echo_.port(), 200, "/", &error);
  ASSERT_EQ(clients.size(), 200u) << error;
  EXPECT_TRUE(echo_round_trip(clients, [](std::size_t i) { return text_payload(16 + i % 300, i); }));
  EXPECT_TRUE(echo_round_trip(
      clients, [](std::size_t i) { return binary_payload(1 + i * 7 % 2000, 1000 + i); },
      ws::Opcode::kBinary));
}

TEST_F(EchoBackendTest, SlowReaderDoesNotStallOtherConnections) {
  constexpr std::size_t kFloodBytes = 8 << 20;
  WsClient slow;
  slow.set_recv_buffer(4096);  // before connect, so the advertised TCP window stays small
  ASSERT_TRUE(upgrade(slow, "/?flood=" + std::to_string(kFloodBytes)));
  // `slow` reads nothing now: the backend's writes to it back up.
  WsClient other;
  ASSERT_TRUE(upgrade(other));
  for (int i = 0; i < 20; ++i) {
    const std::string payload = text_payload(1000, i);
    ASSERT_TRUE(other.send_text(payload));
    const auto message = other.recv_message(2s);
    ASSERT_TRUE(message) << "round " << i << ": " << other.last_error();
    EXPECT_TRUE(message->payload == payload);
  }
  std::size_t total = 0;
  while (total < kFloodBytes) {
    const auto message = slow.recv_message();
    ASSERT_TRUE(message) << "after " << total << " bytes: " << slow.last_error();
    total += message->payload.size();
  }
  EXPECT_EQ(total, kFloodBytes);
}

TEST_F(EchoBackendTest, SigtermExitsZero) {
  WsClient client;
  ASSERT_TRUE(upgrade(client));
  ASSERT_TRUE(client.send_text("still here"));
  ASSERT_TRUE(client.recv_message());
  EXPECT_EQ(echo_.stop(5s), 0);
  EXPECT_TRUE(client.wait_eof(5s)) << client.last_error();
}

}  // namespace
}  // namespace wsgate::test
