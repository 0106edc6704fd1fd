// One HTTP/1.1 connection of the echo backend: RFC 6455 opening handshake, the test hooks, then the
// frame-by-frame echo until the close handshake.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include "tools/echo_options.hpp"

namespace wsgate::tools {

// Takes over `socket` (already accepted, on its worker's io_context) and serves it until it closes.
// `options` must outlive every session (it belongs to the server).
void start_h1_echo_session(boost::asio::ip::tcp::socket socket, const EchoOptions& options);

}  // namespace wsgate::tools
