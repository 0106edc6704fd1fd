// Helpers around WsClient: many connections from one thread, one-shot HTTP requests, test payloads.
#include "tests/integration/client_helpers.hpp"

#include <cstring>

namespace wsgate::test {
namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

// ---- many connections ----

std::vector<WsClient> open_many(std::string_view host, std::uint16_t port, std::size_t count,
                                std::string_view path, std::string* error, std::chrono::milliseconds timeout,
                                const std::optional<TlsOptions>& tls) {
  std::vector<WsClient> clients;
  clients.reserve(count);
  auto report = [&](std::size_t index, const std::string& what) {
    if (error != nullptr) *error = "connection " + std::to_string(index) + ": " + what;
  };
  for (std::size_t i = 0; i < count; ++i) {
    WsClient client;
    if (!client.connect(host, port, timeout, tls)) {
      report(i, "connect: " + client.last_error());
      return clients;
    }
    clients.push_back(std::move(client));
  }
  std::vector<std::string> keys(count);
  for (std::size_t i = 0; i < count; ++i) {
    keys[i] = clients[i].send_handshake_request(path, "", {}, timeout);
    if (keys[i].empty()) {
      report(i, "sending handshake: " + clients[i].last_error());
      clients.resize(i);
      return clients;
    }
  }
  for (std::size_t i = 0; i < count; ++i) {
    const HandshakeResult result = clients[i].read_response(keys[i], timeout);
    if (!result.upgraded()) {
      report(i, "handshake: status " + std::to_string(result.status) + " " + result.error);
      clients.resize(i);
      return clients;
    }
  }
  return clients;
}

::testing::AssertionResult echo_round_trip(std::vector<WsClient>& clients,
                                           const std::function<std::string(std::size_t)>& payload_for,
                                           ws::Opcode opcode, std::chrono::milliseconds timeout) {
  for (std::size_t i = 0; i < clients.size(); ++i) {
    if (!clients[i].send_message(opcode, payload_for(i))) {
      return ::testing::AssertionFailure() << "send on connection " << i << ": " << clients[i].last_error();
    }
  }
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const std::optional<Message> message = clients[i].recv_message(timeout);
    if (!message) {
      return ::testing::AssertionFailure()
             << "receive on connection " << i << ": " << clients[i].last_error();
    }
    const std::string expected = payload_for(i);
    if (message->opcode != opcode || message->payload != expected) {
      return ::testing::AssertionFailure()
             << "connection " << i << " got opcode " << static_cast<int>(message->opcode) << " with "
             << message->payload.size() << " bytes, expected opcode " << static_cast<int>(opcode) << " with "
             << expected.size() << " bytes"
             << (message->payload.size() == expected.size() ? " (content differs)" : "");
    }
  }
  return ::testing::AssertionSuccess();
}

HttpResponse http_request(std::string_view host, std::uint16_t port, std::string_view method,
                          std::string_view target, const HeaderList& headers, std::string_view body,
                          std::chrono::milliseconds timeout, const std::optional<TlsOptions>& tls) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  WsClient client;
  if (!client.connect(host, port, timeout, tls)) {
    HttpResponse response;
    response.error = "connect: " + client.last_error();
    return response;
  }
  HeaderList with_close{{"Connection", "close"}};
  with_close.insert(with_close.end(), headers.begin(), headers.end());
  return client.request(
      method, target, with_close, body,
      std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
}

// ---- payloads ----

std::string text_payload(std::size_t size, std::size_t seed) {
  std::string text(size, '\0');
  std::uint64_t state = splitmix64(seed);
  for (std::size_t i = 0; i < size; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    text[i] = static_cast<char>(' ' + (state >> 33) % 95);  // printable ASCII
  }
  return text;
}

std::string binary_payload(std::size_t size, std::size_t seed) {
  std::string bytes(size, '\0');
  std::uint64_t state = splitmix64(seed ^ 0xB1A5ULL);
  for (std::size_t i = 0; i < size; i += 8) {
    state = splitmix64(state);
    const std::size_t n = std::min<std::size_t>(8, size - i);
    std::memcpy(bytes.data() + i, &state, n);
  }
  return bytes;
}

}  // namespace wsgate::test
