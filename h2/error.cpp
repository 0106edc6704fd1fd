// Names for h2 error codes and session errors, for logs and test failure messages.
#include "h2/error.hpp"

namespace wsgate::h2 {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNoError:
      return "NO_ERROR";
    case ErrorCode::kProtocolError:
      return "PROTOCOL_ERROR";
    case ErrorCode::kInternalError:
      return "INTERNAL_ERROR";
    case ErrorCode::kFlowControlError:
      return "FLOW_CONTROL_ERROR";
    case ErrorCode::kSettingsTimeout:
      return "SETTINGS_TIMEOUT";
    case ErrorCode::kStreamClosed:
      return "STREAM_CLOSED";
    case ErrorCode::kFrameSizeError:
      return "FRAME_SIZE_ERROR";
    case ErrorCode::kRefusedStream:
      return "REFUSED_STREAM";
    case ErrorCode::kCancel:
      return "CANCEL";
    case ErrorCode::kCompressionError:
      return "COMPRESSION_ERROR";
    case ErrorCode::kConnectError:
      return "CONNECT_ERROR";
    case ErrorCode::kEnhanceYourCalm:
      return "ENHANCE_YOUR_CALM";
    case ErrorCode::kInadequateSecurity:
      return "INADEQUATE_SECURITY";
    case ErrorCode::kHttp11Required:
      return "HTTP_1_1_REQUIRED";
  }
  return "UNKNOWN_ERROR_CODE";
}

std::string_view to_string(Error error) {
  switch (error) {
    case Error::kNone:
      return "none";
    case Error::kBadPreface:
      return "bad connection preface";
    case Error::kFlooded:
      return "peer flooded the session";
    case Error::kConnectionError:
      return "connection failed with GOAWAY";
    case Error::kCallbackFailure:
      return "callback failure";
    case Error::kNoMemory:
      return "out of memory";
    case Error::kSessionFailed:
      return "session already failed";
    case Error::kInvalidArgument:
      return "invalid argument";
    case Error::kNoSuchStream:
      return "no such stream";
    case Error::kBufferFull:
      return "stream outgoing buffer full";
    case Error::kDataEnded:
      return "stream data already ended";
    case Error::kAlreadyResponded:
      return "response already submitted";
    case Error::kGoingAway:
      return "session is going away";
    case Error::kStreamIdsExhausted:
      return "stream ids exhausted";
    case Error::kConnectProtocolNotEnabled:
      return "peer has not enabled the extended CONNECT protocol";
    case Error::kInternal:
      return "internal nghttp2 error";
  }
  return "unknown error";
}

}  // namespace wsgate::h2
