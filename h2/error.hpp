// Error vocabulary of the h2 layer: HTTP/2 error codes on the wire (RFC 9113 §7) and the
// results our session API returns as values (the data path never throws).
#pragma once

#include <cstdint>
#include <string_view>

namespace wsgate::h2 {

// An HTTP/2 error code as carried by RST_STREAM and GOAWAY (RFC 9113 §7). A peer may send codes
// not listed here; the underlying type holds any 32-bit value.
enum class ErrorCode : std::uint32_t {
  kNoError = 0x0,
  kProtocolError = 0x1,
  kInternalError = 0x2,
  kFlowControlError = 0x3,
  kSettingsTimeout = 0x4,
  kStreamClosed = 0x5,
  kFrameSizeError = 0x6,
  kRefusedStream = 0x7,
  kCancel = 0x8,
  kCompressionError = 0x9,
  kConnectError = 0xa,
  kEnhanceYourCalm = 0xb,
  kInadequateSecurity = 0xc,
  kHttp11Required = 0xd,
};

std::string_view to_string(ErrorCode code);

// What a session call can report. "Close" means: drain produce() if you like, then drop the connection.
enum class Error {
  kNone,
  kBadPreface,                 // receive (server): the client connection preface was wrong; close
  kFlooded,                    // receive: the peer flooded us (control frames, rapid reset); close
  kConnectionError,            // receive: the session already failed the connection with GOAWAY(error)
                               // (see Session::connection_error()); input is ignored; close
  kCallbackFailure,            // receive/produce: an internal callback failed (e.g. out of memory); close
  kNoMemory,                   // any: nghttp2 ran out of memory; close
  kSessionFailed,              // any: an earlier call reported a fatal error; nothing is processed; close
  kInvalidArgument,            // actions: bad stream id, status, header name/value or argument
  kNoSuchStream,               // actions: the stream is unknown to this session or already closed
  kBufferFull,                 // send_data: the stream's outgoing bound would be exceeded; nothing queued
  kDataEnded,                  // send_data/end_data: the stream's outgoing side was already ended
  kAlreadyResponded,           // submit_response: a response was already submitted on the stream
  kGoingAway,                  // client submit_*: GOAWAY was sent or received; no new streams
  kStreamIdsExhausted,         // client submit_*: no stream ids left on this connection
  kConnectProtocolNotEnabled,  // client submit_connect: the server has not (yet) sent
                               // SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3)
  kInternal,                   // any other nghttp2 failure
};

std::string_view to_string(Error error);

}  // namespace wsgate::h2
