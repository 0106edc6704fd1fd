// Channel: one end of a WebSocket byte stream, whatever carries it (a TCP or
// TLS connection now; an HTTP/2 stream later). The relay only knows Channels.
#pragma once

#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace wsgate::gw {

using ErrorCode = boost::system::error_code;

class Channel {
 public:
  using Handler = std::function<void(const ErrorCode&)>;

  virtual ~Channel() = default;

  // Completes when read_some() will return bytes, EOF or an error. An idle
  // channel waiting here holds no read buffer (memory per idle WebSocket).
  virtual void async_wait_readable(Handler handler) = 0;
  // Non-blocking read of what is available. Returns 0 with ec = would_block
  // when nothing is, 0 with ec = eof at the end of the stream.
  virtual std::size_t read_some(std::span<std::uint8_t> buffer, ErrorCode& ec) = 0;
  // Writes all of `data` (which must stay valid until the handler runs).
  virtual void async_write(std::span<const std::uint8_t> data, Handler handler) = 0;
  // Ends our sending direction gracefully (TCP FIN, TLS close_notify).
  virtual void shutdown_write() = 0;
  // Releases the transport; pending operations complete with operation_aborted.
  virtual void close() = 0;
  // Closes abruptly (TCP RST), for peers that misbehaved or after a timeout.
  virtual void abort() = 0;
  // `bytes` read from this channel were written to the other side (or dropped):
  // an HTTP/2 stream reopens its flow-control window only now (ARCHITECTURE.md,
  // Backpressure). Sockets need nothing here.
  virtual void on_forwarded(std::size_t bytes) { (void)bytes; }
  // For logs: "127.0.0.1:5555".
  virtual std::string remote_address() const = 0;
};

}  // namespace wsgate::gw
