// Helpers around WsClient: many WebSockets driven from one thread, one-shot HTTP requests (admin
// endpoints), and deterministic test payloads.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/integration/ws_client.hpp"

namespace wsgate::test {

// ---- many connections from one thread ----
//
// For load-ish tests with hundreds of WebSockets: all handshakes are sent before any answer is read,
// and payloads are exchanged in rounds (send on every connection, then read on every connection),
// which cannot deadlock while each connection's data fits in the socket buffers (keep payloads
// small: a few KiB each).

// Connects `count` clients and upgrades them all on `path`. On any failure returns the clients
// opened so far and sets *error (if given); check result.size() == count.
std::vector<WsClient> open_many(std::string_view host, std::uint16_t port, std::size_t count,
                                std::string_view path = "/", std::string* error = nullptr,
                                std::chrono::milliseconds timeout = kDefaultTimeout,
                                const std::optional<TlsOptions>& tls = std::nullopt);

// Sends payload_for(i) as one `opcode` message on clients[i] for every i, then reads one message on
// every client and checks it equals what was sent (an echo). The timeout is per receive.
::testing::AssertionResult echo_round_trip(std::vector<WsClient>& clients,
                                           const std::function<std::string(std::size_t)>& payload_for,
                                           ws::Opcode opcode = ws::Opcode::kText,
                                           std::chrono::milliseconds timeout = kDefaultTimeout);

// One HTTP/1.1 request on a fresh connection ("GET /metrics" on the admin port, say).
// Connection: close is sent; status 0 with error set if no answer came.
HttpResponse http_request(std::string_view host, std::uint16_t port, std::string_view method,
                          std::string_view target, const HeaderList& headers = {}, std::string_view body = {},
                          std::chrono::milliseconds timeout = kDefaultTimeout,
                          const std::optional<TlsOptions>& tls = std::nullopt);
inline HttpResponse http_get(std::uint16_t port, std::string_view target,
                             std::chrono::milliseconds timeout = kDefaultTimeout) {
  return http_request("127.0.0.1", port, "GET", target, {}, {}, timeout);
}

// Test payloads: printable ASCII (valid UTF-8) and an arbitrary-byte pattern, both depending on
// `seed` so concurrent connections carry distinct data.
std::string text_payload(std::size_t size, std::size_t seed = 0);
std::string binary_payload(std::size_t size, std::size_t seed = 0);

}  // namespace wsgate::test
