// permessage-deflate end to end (RFC 7692): compression: terminate over HTTP/1.1 (cleartext and
// TLS) and HTTP/2 (RFC 8441, h2c and TLS) with every window/takeover option, the bomb limit
// (1009), corrupt data (1002), min_message_bytes; compression: off strips offers, passthrough
// keeps them. The client side compresses with ws/permessage_deflate; behind terminate the backend
// (wsgate-echo, which would agree to permessage-deflate if offered it, and a recording TinyServer)
// must see no offer and plain frames.
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/client_helpers.hpp"
#include "tests/integration/gateway_h2_test_util.hpp"
#include "tests/integration/gateway_test_util.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/ws_client.hpp"
#include "ws/handshake.hpp"
#include "ws/permessage_deflate.hpp"

namespace wsgate::test {
namespace {

using namespace std::chrono_literals;

// The client's half of permessage-deflate, for the agreed parameters.
struct DeflatePeer {
  explicit DeflatePeer(const ws::DeflateParams& p)
      : deflater(p.client_max_window_bits, p.client_no_context_takeover),
        inflater(p.server_max_window_bits, p.server_no_context_takeover, 0) {}

  std::string compress(std::string_view text) {
    auto out = ws::deflate_message(deflater, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
    return std::string(out.begin(), out.end());
  }
  // The message's payload, inflated when it carries RSV1.
  std::optional<std::string> payload_of(const Message& m) {
    if ((m.rsv & ws::kRsv1) == 0) return m.payload;
    auto out =
        ws::inflate_message(inflater, {reinterpret_cast<const std::uint8_t*>(m.payload.data()), m.payload.size()});
    if (!out) return std::nullopt;
    return std::string(out->begin(), out->end());
  }

  ws::Deflater deflater;
  ws::Inflater inflater;
};

// The parameters an answer header agrees to (parsed the way a client would).
ws::DeflateParams params_from_answer(std::string_view answer) {
  ws::DeflateParams p;
  auto parsed = ws::parse_extensions(answer);
  if (!parsed || parsed->size() != 1) return p;
  for (const auto& param : parsed->front().params) {
    if (param.name == "server_no_context_takeover") p.server_no_context_takeover = true;
    if (param.name == "client_no_context_takeover") p.client_no_context_takeover = true;
    if (param.name == "server_max_window_bits") p.server_max_window_bits = std::stoi(*param.value);
    if (param.name == "client_max_window_bits") p.client_max_window_bits = std::stoi(*param.value);
  }
  return p;
}

// Routes: /z* terminate (options from ${DEFLATE}), /bomb terminate with a 64 KiB inflate limit,
// /min terminate with min_message_bytes 100, /off compression off, everything else passthrough.
// The echo's /headers hook is reached with Host z.example (terminate) or off.example (off).
constexpr std::string_view kConfig = R"(
workers: 1
drain_timeout: 3s
listeners:
${LISTENER}access_log:
  path: off
limits:
  close_timeout: 2s
routes:
  - name: terminate-headers
    match: {host: z.example, path: /headers}
    backend: echo
    compression: terminate
  - name: off-headers
    match: {host: off.example, path: /headers}
    backend: echo
    compression: "off"
  - name: terminate
    match: {path_prefix: /z}
    backend: echo
    compression: terminate
    validate: full
${DEFLATE}  - name: bomb
    match: {path_prefix: /bomb}
    backend: echo
    compression: terminate
    deflate: {max_inflated_message_bytes: 64KiB}
  - name: min
    match: {path_prefix: /min}
    backend: echo
    compression: terminate
    deflate: {min_message_bytes: 100}
  - name: off
    match: {path_prefix: /off}
    backend: echo
    compression: "off"
  - name: passthrough
    backend: echo
backends:
  - name: echo
    endpoints: [${ECHO}]
)";

struct DeflateSetup {
  DeflateSetup(ClientTransport t, std::string deflate_yaml = {}, std::string backend = {})
      : transport(t),
        gateway(format_template(kConfig, {{"LISTENER", listener_yaml(t)},
                                          {"ECHO", backend.empty() ? echo.address() : backend},
                                          {"DEFLATE", deflate_yaml}})) {}

  // Upgrades with `offer` as Sec-WebSocket-Extensions; the answer's extensions (or "").
  std::string upgrade(WsClient& client, std::string_view path, std::string_view offer, std::string_view host = "") {
    HeaderList headers;
    if (!offer.empty()) headers.push_back({"Sec-WebSocket-Extensions", std::string(offer)});
    EXPECT_TRUE(connect_client(client, gateway.port("main"), transport));
    const HandshakeResult result = client.handshake(path, host, headers);
    EXPECT_TRUE(result.upgraded()) << result.status << " " << result.error << " " << result.body;
    client.set_allowed_rsv(ws::kRsv1);
    return result.headers.get_joined("Sec-WebSocket-Extensions").value_or("");
  }

  ClientTransport transport;
  EchoBackend echo;
  Gateway gateway;
};

// Sends `text` compressed (RSV1) and checks the echo comes back compressed and equal.
::testing::AssertionResult compressed_round_trip(WsClient& client, DeflatePeer& peer, const std::string& text,
                                                 std::size_t fragment = 0, ws::Opcode opcode = ws::Opcode::kText) {
  const std::string compressed = peer.compress(text);
  bool sent = true;
  if (fragment == 0 || compressed.size() <= fragment) {
    sent = client.send_frame(opcode, compressed, true, true, ws::kRsv1);
  } else {
    // §6.1: RSV1 on the first frame only.
    for (std::size_t at = 0; sent && at < compressed.size(); at += fragment) {
      const bool first = at == 0;
      const bool last = at + fragment >= compressed.size();
      sent = client.send_frame(first ? opcode : ws::Opcode::kContinuation,
                               std::string_view(compressed).substr(at, fragment), last, true,
                               first ? ws::kRsv1 : 0);
    }
  }
  if (!sent) return ::testing::AssertionFailure() << "send: " << client.last_error();
  auto message = client.recv_message(10s);
  if (!message) return ::testing::AssertionFailure() << "no echo: " << client.last_error();
  if (message->opcode != opcode) return ::testing::AssertionFailure() << "opcode " << int(message->opcode);
  if ((message->rsv & ws::kRsv1) == 0) return ::testing::AssertionFailure() << "echo not compressed";
  auto plain = peer.payload_of(*message);
  if (!plain) return ::testing::AssertionFailure() << "echo does not inflate";
  if (*plain != text) {
    return ::testing::AssertionFailure() << "echo differs: " << plain->size() << " vs " << text.size() << " bytes";
  }
  return ::testing::AssertionSuccess();
}

// The gateway's close frame arrives with `code`.
::testing::AssertionResult closes_with(WsClient& client, std::uint16_t code) {
  auto close = client.expect_close(5s);
  if (!close) return ::testing::AssertionFailure() << "no close: " << client.last_error();
  if (close->close_code != std::optional<std::uint16_t>(code)) {
    return ::testing::AssertionFailure() << "close code " << close->close_code.value_or(0) << ", expected " << code;
  }
  return ::testing::AssertionSuccess();
}

std::string json_text(std::size_t size, std::size_t seed) {
  std::string s;
  while (s.size() < size) s += R"({"seq":)" + std::to_string(seed + s.size()) + R"(,"text":"hello world"},)";
  s.resize(size);
  return s;
}

// ---- HTTP/1.1 ----

struct OptionCase {
  const char* name;
  const char* deflate_yaml;  // the terminate route's deflate: block
  const char* offer;
  const char* expected_answer;
};

const OptionCase kOptionCases[] = {
    {"Default", "", "permessage-deflate; client_max_window_bits", "permessage-deflate"},
    {"FirefoxOffer", "", "permessage-deflate", "permessage-deflate"},
    {"ServerNoContextTakeover", "    deflate: {server_no_context_takeover: true}\n",
     "permessage-deflate; client_max_window_bits", "permessage-deflate; server_no_context_takeover"},
    {"ClientNoContextTakeover", "    deflate: {client_no_context_takeover: true}\n",
     "permessage-deflate; client_max_window_bits", "permessage-deflate; client_no_context_takeover"},
    {"ClientAsksServerNoTakeover", "", "permessage-deflate; server_no_context_takeover",
     "permessage-deflate; server_no_context_takeover"},
    {"ServerWindow9", "    deflate: {server_max_window_bits: 9}\n", "permessage-deflate",
     "permessage-deflate; server_max_window_bits=9"},
    {"ServerWindow8", "    deflate: {server_max_window_bits: 8}\n", "permessage-deflate",
     "permessage-deflate; server_max_window_bits=8"},
    {"ClientAsksServerWindow10", "", "permessage-deflate; server_max_window_bits=10",
     "permessage-deflate; server_max_window_bits=10"},
    {"ClientWindow9", "    deflate: {client_max_window_bits: 9}\n", "permessage-deflate; client_max_window_bits",
     "permessage-deflate; client_max_window_bits=9"},
    {"ClientOffersWindow12", "", "permessage-deflate; client_max_window_bits=12",
     "permessage-deflate; client_max_window_bits=12"},
    {"Everything",
     "    deflate: {server_max_window_bits: 11, client_max_window_bits: 10, server_no_context_takeover: true,"
     " client_no_context_takeover: true, level: 9, mem_level: 2}\n",
     "permessage-deflate; client_max_window_bits",
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; "
     "client_max_window_bits=10"},
};

using OptionParam = std::tuple<ClientTransport, OptionCase>;

class DeflateOptionTest : public ::testing::TestWithParam<OptionParam> {};

std::string option_param_name(const ::testing::TestParamInfo<OptionParam>& param) {
  return transport_name(std::get<0>(param.param)) + std::get<1>(param.param).name;
}

TEST_P(DeflateOptionTest, NegotiatesAndEchoesCompressedMessages) {
  const auto& [transport, option] = GetParam();
  DeflateSetup setup(transport, option.deflate_yaml);
  WsClient client;
  const std::string answer = setup.upgrade(client, "/z", option.offer);
  ASSERT_EQ(answer, option.expected_answer);
  DeflatePeer peer(params_from_answer(answer));
  // Several messages: context takeover (or not) carries across them.
  for (std::size_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(compressed_round_trip(client, peer, json_text(100 + i * 3000, i))) << "message " << i;
  }
  ASSERT_TRUE(compressed_round_trip(client, peer, json_text(300000, 9), 1000)) << "fragmented";
  ASSERT_TRUE(compressed_round_trip(client, peer, "")) << "empty";
  ASSERT_TRUE(compressed_round_trip(client, peer, binary_payload(70000, 5), 0, ws::Opcode::kBinary))
      << "incompressible";
  // An uncompressed message from the client is fine too (RSV1 clear).
  ASSERT_TRUE(client.send_text("plain"));
  auto message = client.recv_message();
  ASSERT_TRUE(message) << client.last_error();
  EXPECT_EQ(peer.payload_of(*message), std::optional<std::string>("plain"));
  // A ping passes while a compressed message is between fragments.
  const std::string compressed = peer.compress(json_text(5000, 1));
  ASSERT_TRUE(client.send_frame(ws::Opcode::kText, std::string_view(compressed).substr(0, 10), false, true, ws::kRsv1));
  ASSERT_TRUE(client.send_ping("between"));
  ASSERT_TRUE(client.send_frame(ws::Opcode::kContinuation, std::string_view(compressed).substr(10), true));
  auto pong = client.recv_message(5s, kReturnPongs);
  ASSERT_TRUE(pong) << client.last_error();
  EXPECT_EQ(pong->opcode, ws::Opcode::kPong);
  EXPECT_EQ(pong->payload, "between");
  message = client.recv_message();
  ASSERT_TRUE(message) << client.last_error();
  EXPECT_EQ(peer.payload_of(*message), std::optional<std::string>(json_text(5000, 1)));
  auto close = client.close_and_wait(1000, "bye");
  ASSERT_TRUE(close) << client.last_error();
  EXPECT_EQ(close->close_code, std::optional<std::uint16_t>(1000));
  EXPECT_EQ(setup.gateway.stop(5s), 0);
}

INSTANTIATE_TEST_SUITE_P(Gateway, DeflateOptionTest,
                         ::testing::Combine(::testing::Values(ClientTransport::kPlain, ClientTransport::kTls),
                                            ::testing::ValuesIn(kOptionCases)),
                         option_param_name);

class DeflateTest : public ::testing::TestWithParam<ClientTransport> {};

INSTANTIATE_TEST_SUITE_P(Gateway, DeflateTest, ::testing::Values(ClientTransport::kPlain, ClientTransport::kTls),
                         transport_param_name);

// The /headers hook: the backend's first message is the request headers it got, as JSON.
std::string backend_headers(WsClient& client, DeflatePeer* peer) {
  auto message = client.recv_message();
  EXPECT_TRUE(message) << client.last_error();
  if (!message) return {};
  if (peer == nullptr) return message->payload;
  return peer->payload_of(*message).value_or("<does not inflate>");
}

TEST_P(DeflateTest, TerminateStripsTheOfferTowardTheBackend) {
  DeflateSetup setup(GetParam());
  WsClient client;
  const std::string answer = setup.upgrade(client, "/headers", "permessage-deflate; client_max_window_bits", "z.example");
  ASSERT_EQ(answer, "permessage-deflate");
  DeflatePeer peer(params_from_answer(answer));
  const std::string json = backend_headers(client, &peer);
  EXPECT_NE(json.find("\"upgrade\""), std::string::npos) << json;
  EXPECT_EQ(json.find("sec-websocket-extensions"), std::string::npos) << json;
  EXPECT_EQ(json.find("deflate"), std::string::npos) << json;
}

TEST_P(DeflateTest, OffStripsTheOfferAndAnswersNone) {
  DeflateSetup setup(GetParam());
  WsClient client;
  EXPECT_EQ(setup.upgrade(client, "/headers", "permessage-deflate; client_max_window_bits", "off.example"), "");
  const std::string json = backend_headers(client, nullptr);
  EXPECT_EQ(json.find("deflate"), std::string::npos) << json;
}

TEST_P(DeflateTest, PassthroughForwardsTheOffer) {
  DeflateSetup setup(GetParam());
  WsClient client;
  // wsgate-echo agrees to permessage-deflate: its answer and its compressed frames are relayed as they are.
  const std::string answer = setup.upgrade(client, "/headers", "permessage-deflate; client_max_window_bits");
  ASSERT_TRUE(answer.starts_with("permessage-deflate")) << answer;
  DeflatePeer peer(params_from_answer(answer));
  const std::string json = backend_headers(client, &peer);
  EXPECT_NE(json.find(R"("sec-websocket-extensions":"permessage-deflate; client_max_window_bits")"),
            std::string::npos)
      << json;
}

TEST_P(DeflateTest, TerminateWithoutAnOfferRelaysPlainFrames) {
  DeflateSetup setup(GetParam());
  WsClient client;
  EXPECT_EQ(setup.upgrade(client, "/z", ""), "");
  EXPECT_EQ(setup.upgrade(client, "/z", "x-unknown-extension"), "");
  ASSERT_TRUE(client.send_text("plain"));
  auto message = client.recv_message();
  ASSERT_TRUE(message) << client.last_error();
  EXPECT_EQ(message->payload, "plain");
  EXPECT_EQ(message->rsv, 0);
  // Without an agreement RSV1 stays a protocol error.
  ASSERT_TRUE(client.send_frame(ws::Opcode::kText, "x", true, true, ws::kRsv1));
  EXPECT_TRUE(closes_with(client, 1002));
}

TEST_P(DeflateTest, BombGetsMessageTooBig) {
  DeflateSetup setup(GetParam());
  WsClient client;
  const std::string answer = setup.upgrade(client, "/bomb", "permessage-deflate; client_max_window_bits");
  ASSERT_EQ(answer, "permessage-deflate");
  DeflatePeer peer(params_from_answer(answer));
  ASSERT_TRUE(compressed_round_trip(client, peer, std::string(64 * 1024, 'a'))) << "exactly at the limit";
  // 64 MiB of zeros: ~64 KiB on the wire.
  const std::string bomb = peer.compress(std::string(64u << 20, '\0'));
  ASSERT_LT(bomb.size(), 100000u);
  ASSERT_TRUE(client.send_frame(ws::Opcode::kBinary, bomb, true, true, ws::kRsv1));
  EXPECT_TRUE(closes_with(client, 1009));
  EXPECT_EQ(client.discarded_messages(), 0u);
  EXPECT_TRUE(client.wait_eof(5s));
}

TEST_P(DeflateTest, BadCompressedInputGetsProtocolError) {
  DeflateSetup setup(GetParam());
  DeflatePeer peer(ws::DeflateParams{});
  const std::string compressed = peer.compress("Hello, hello, hello");
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"corrupt DEFLATE data", WsClient::build_frame(0x1, "\xff\xff\xff\xff garbage", true, ws::MaskKey{1, 2, 3, 4},
                                                     ws::kRsv1)},
      // RFC 7692 §6.1: RSV1 only on a message's first frame.
      {"RSV1 on a continuation",
       WsClient::build_frame(0x1, compressed.substr(0, 3), false, ws::MaskKey{1, 2, 3, 4}, ws::kRsv1) +
           WsClient::build_frame(0x0, compressed.substr(3), true, ws::MaskKey{1, 2, 3, 4}, ws::kRsv1)},
      {"RSV1 on a ping", WsClient::build_frame(0x9, "x", true, ws::MaskKey{1, 2, 3, 4}, ws::kRsv1)},
  };
  for (const auto& [name, bytes] : cases) {
    WsClient client;
    ASSERT_EQ(setup.upgrade(client, "/z", "permessage-deflate"), "permessage-deflate") << name;
    ASSERT_TRUE(client.send_raw(bytes)) << name;
    EXPECT_TRUE(closes_with(client, 1002)) << name;
  }
}

TEST_P(DeflateTest, InvalidUtf8InsideACompressedTextIsCaught) {
  // validate: full checks the inflated text (the relay sees plain frames).
  DeflateSetup setup(GetParam());
  WsClient client;
  ASSERT_EQ(setup.upgrade(client, "/z", "permessage-deflate"), "permessage-deflate");
  DeflatePeer peer(ws::DeflateParams{});
  ASSERT_TRUE(client.send_frame(ws::Opcode::kText, peer.compress("bad \xc3\x28 utf-8"), true, true, ws::kRsv1));
  EXPECT_TRUE(closes_with(client, 1007));
}

TEST_P(DeflateTest, SmallMessagesGoUncompressed) {
  DeflateSetup setup(GetParam());
  WsClient client;
  const std::string answer = setup.upgrade(client, "/min", "permessage-deflate");
  ASSERT_EQ(answer, "permessage-deflate");
  DeflatePeer peer(params_from_answer(answer));
  ASSERT_TRUE(client.send_frame(ws::Opcode::kText, peer.compress("tiny"), true, true, ws::kRsv1));
  auto message = client.recv_message();
  ASSERT_TRUE(message) << client.last_error();
  EXPECT_EQ(message->rsv, 0);  // under min_message_bytes: sent as is
  EXPECT_EQ(message->payload, "tiny");
  ASSERT_TRUE(compressed_round_trip(client, peer, json_text(1000, 3)));
}

// A backend that records what it receives: no offer, and plain frames.
TEST_P(DeflateTest, BackendGetsUncompressedFrames) {
  std::string head;
  std::string first_frame;
  TinyServer backend([&](int fd) {
    auto request = raw::read_head(fd);
    if (!request) return;
    head = *request;
    const std::string accept = ws::compute_accept(raw::header_value(head, "Sec-WebSocket-Key").value_or(""));
    raw::write_all(fd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: " + accept + "\r\n\r\n");
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    auto b01 = raw::read_exact(fd, 2, deadline);
    if (!b01) return;
    const std::size_t length = static_cast<std::uint8_t>((*b01)[1]) & 0x7F;  // small test message
    auto rest = raw::read_exact(fd, 4 + length, deadline);
    if (!rest) return;
    std::string payload = rest->substr(4);
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ (*rest)[i % 4]);
    first_frame = b01->substr(0, 1) + payload;
    raw::write_all(fd, raw::server_frame(0x1, "from backend"));
    raw::read_frame(fd, 3s);  // the close
  });
  DeflateSetup setup(GetParam(), "", backend.address());
  WsClient client;
  const std::string answer = setup.upgrade(client, "/z", "permessage-deflate; client_max_window_bits");
  ASSERT_EQ(answer, "permessage-deflate");
  DeflatePeer peer(params_from_answer(answer));
  ASSERT_TRUE(client.send_frame(ws::Opcode::kText, peer.compress("hello backend"), true, true, ws::kRsv1));
  auto message = client.recv_message();
  ASSERT_TRUE(message) << client.last_error();
  EXPECT_NE(message->rsv & ws::kRsv1, 0);
  EXPECT_EQ(peer.payload_of(*message), std::optional<std::string>("from backend"));
  client.close_and_wait(1000);
  setup.gateway.stop(5s);
  EXPECT_FALSE(raw::header_value(head, "Sec-WebSocket-Extensions").has_value()) << head;
  ASSERT_FALSE(first_frame.empty());
  EXPECT_EQ(static_cast<std::uint8_t>(first_frame[0]), 0x81) << "FIN + text, no RSV bit";
  EXPECT_EQ(first_frame.substr(1), "hello backend");
}

// ---- HTTP/2 (RFC 8441) ----

using h2_gateway::GatewayH2Test;

constexpr std::string_view kH2Routes = R"(  - name: terminate-headers
    match: {host: z.example, path: /headers}
    backend: echo
    compression: terminate
  - name: terminate
    match: {path_prefix: /z}
    backend: echo
    compression: terminate
  - name: bomb
    match: {path_prefix: /bomb}
    backend: echo
    compression: terminate
    deflate: {max_inflated_message_bytes: 64KiB, server_no_context_takeover: true}
)";

class DeflateH2Test : public GatewayH2Test {
 protected:
  // Opens a WebSocket with `offer`; the stream and the answer's extensions.
  std::pair<std::int32_t, std::string> open(H2Client& client, std::string_view path, std::string_view offer,
                                            std::string_view authority = "localhost") {
    std::vector<h2::Header> extra;
    if (!offer.empty()) extra.push_back({"sec-websocket-extensions", std::string(offer)});
    const std::int32_t stream = client.open_websocket(path, authority, extra);
    EXPECT_GT(stream, 0) << client.last_error();
    auto response = client.wait_response(stream);
    EXPECT_TRUE(response) << client.last_error();
    if (!response || response->status != 200) return {-1, ""};
    return {stream, response->header("sec-websocket-extensions")};
  }
};

INSTANTIATE_TEST_SUITE_P(Gateway, DeflateH2Test, h2_gateway::kBothTransports, h2_gateway::transport_param_name);

TEST_P(DeflateH2Test, TerminateOverExtendedConnect) {
  start({}, kH2Routes);
  H2Client client;
  ASSERT_TRUE(connect(client));
  auto [stream, answer] = open(client, "/z", "permessage-deflate; client_max_window_bits");
  ASSERT_GT(stream, 0);
  ASSERT_EQ(answer, "permessage-deflate");
  DeflatePeer peer(params_from_answer(answer));
  for (std::size_t i = 0; i < 4; ++i) {
    const std::string text = json_text(200 + i * 40000, i);
    client.queue_data(stream, WsClient::build_frame(0x1, peer.compress(text), true, ws::MaskKey{1, 2, 3, 4}, ws::kRsv1));
    ASSERT_TRUE(client.flush(stream)) << client.last_error();
    auto message = client.recv_message(stream, 10s);
    ASSERT_TRUE(message) << client.last_error();
    EXPECT_NE(message->rsv & ws::kRsv1, 0);
    EXPECT_EQ(peer.payload_of(*message), std::optional<std::string>(text)) << "message " << i;
  }
  // A second stream on the same connection without an offer: plain.
  auto [plain_stream, plain_answer] = open(client, "/z", "");
  ASSERT_GT(plain_stream, 0);
  EXPECT_EQ(plain_answer, "");
  ASSERT_TRUE(echo_once(client, plain_stream, "plain on h2"));
  // The backend got no offer.
  auto [headers_stream, headers_answer] = open(client, "/headers", "permessage-deflate", "z.example");
  ASSERT_EQ(headers_answer, "permessage-deflate");
  DeflatePeer headers_peer(params_from_answer(headers_answer));
  auto json = client.recv_message(headers_stream);
  ASSERT_TRUE(json) << client.last_error();
  const std::string text = headers_peer.payload_of(*json).value_or("<does not inflate>");
  EXPECT_NE(text.find("sec-websocket-key"), std::string::npos) << text;
  EXPECT_EQ(text.find("deflate"), std::string::npos) << text;
  auto close = client.close_and_wait(stream, 1000);
  ASSERT_TRUE(close) << client.last_error();
  EXPECT_EQ(close->close_code, std::optional<std::uint16_t>(1000));
}

TEST_P(DeflateH2Test, UploadsLargerThanTheStreamWindowFlow) {
  // Incompressible 1.5 MiB: the compressed upload is ~6 stream windows (256 KiB), so it only gets
  // through if the DeflateChannel credits raw bytes back to the stream (WINDOW_UPDATE) as the
  // relay forwards what it made of them.
  start({}, kH2Routes);
  H2Client client;
  ASSERT_TRUE(connect(client));
  auto [stream, answer] = open(client, "/z", "permessage-deflate");
  ASSERT_EQ(answer, "permessage-deflate");
  DeflatePeer peer(params_from_answer(answer));
  const std::string payload = binary_payload(1536 * 1024, 11);
  for (int round = 0; round < 2; ++round) {
    client.queue_data(stream, WsClient::build_frame(0x2, peer.compress(payload), true, ws::MaskKey{5, 6, 7, 8},
                                                    ws::kRsv1));
    auto message = client.recv_message(stream, 30s);
    ASSERT_TRUE(message) << "round " << round << ": " << client.last_error();
    EXPECT_EQ(message->opcode, ws::Opcode::kBinary);
    EXPECT_TRUE(peer.payload_of(*message) == payload) << "round " << round;
  }
}

TEST_P(DeflateH2Test, BombGetsMessageTooBigAndTheConnectionLives) {
  start({}, kH2Routes);
  H2Client client;
  ASSERT_TRUE(connect(client));
  auto [stream, answer] = open(client, "/bomb", "permessage-deflate");
  ASSERT_EQ(answer, "permessage-deflate; server_no_context_takeover");
  DeflatePeer peer(params_from_answer(answer));
  const std::string bomb = peer.compress(std::string(32u << 20, '\0'));
  client.queue_data(stream, WsClient::build_frame(0x2, bomb, true, ws::MaskKey{9, 8, 7, 6}, ws::kRsv1));
  auto close = client.expect_close(stream, 5s);
  ASSERT_TRUE(close) << client.last_error();
  EXPECT_EQ(close->close_code, std::optional<std::uint16_t>(1009));
  EXPECT_TRUE(still_usable(client, "a bomb on another stream"));
}

}  // namespace
}  // namespace wsgate::test
