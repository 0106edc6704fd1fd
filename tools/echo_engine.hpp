// The echo backend's WebSocket server side, sans-I/O (RFC 6455 §5.4-§5.5, §7): client frames in,
// echoed frames out. Transport-neutral so the h1 session and a later RFC 8441 stream share it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "tools/echo_deflate.hpp"
#include "ws/close.hpp"
#include "ws/frame.hpp"
#include "ws/utf8.hpp"

namespace wsgate::tools {

// Streams the echo frame by frame: each client data frame goes back with the same opcode and FIN, its
// payload unmasked in place in the caller's buffer and handed out chunk by chunk as it arrives, so a
// frame of any size needs no more memory than the caller's read buffer.
//
//   EchoEngine engine;
//   auto step = engine.on_input(buffer);  // buffer: bytes read, not yet given to the engine
//   buffer = buffer.subspan(step.consumed);
//   // write step.output (if any), and only then call on_input again (step.output may point into buffer)
class EchoEngine {
 public:
  // What to send: a header or whole control frame held by the engine, then a payload chunk that points
  // into the input given to on_input. Either may be empty.
  struct Output {
    std::span<const std::uint8_t> head;
    std::span<const std::uint8_t> payload;
    bool empty() const { return head.empty() && payload.empty(); }
  };

  enum class Action : std::uint8_t {
    kNeedMore,        // all input consumed; read more
    kWrite,           // write `output`, then call on_input with the rest of the input
    kWriteThenClose,  // write `output` (the last frame of the connection), then close the transport
    kClose,           // nothing more to send; close the transport (the close handshake is complete)
  };

  struct Step {
    Action action = Action::kNeedMore;
    std::size_t consumed = 0;  // bytes of the input used by this step
    Output output;
  };

  EchoEngine();

  // After the handshake agreed on permessage-deflate (RFC 7692): compressed messages (RSV1) are
  // gathered whole, inflated, checked and echoed as one compressed frame; uncompressed messages
  // still stream frame by frame.
  void enable_deflate(const DeflateParams& params);

  static constexpr std::size_t kMaxCompressedMessageBytes = 64 * 1024 * 1024;  // else close 1009
  static constexpr std::size_t kMaxInflatedMessageBytes = 64 * 1024 * 1024;    // else close 1007

  // Feeds client bytes. Payload chunks are unmasked in place, hence the mutable span. The engine stops
  // at the first output, so the caller writes it before the next call; bytes the caller has not yet
  // written must stay where they are until then.
  Step on_input(std::span<std::uint8_t> input);

  // True if a server-initiated close may be sent now: the connection is open and the echoed stream is
  // at a frame boundary (no echoed frame is half sent).
  bool can_begin_close() const;
  // Sends close `code` `reason` (RFC 6455 §7.1.2); afterwards data frames are dropped, not echoed, and
  // on_input answers kClose once the client's close arrives. Requires can_begin_close().
  Output begin_close(std::uint16_t code, std::string_view reason);

  // True once this side has sent a close frame (either way round).
  bool close_sent() const { return state_ != State::kOpen; }

 private:
  enum class State : std::uint8_t {
    kOpen,       // echoing
    kCloseSent,  // server-initiated close sent; waiting for the client's close
    kDone,       // the last frame was handed out; nothing more will be sent
  };

  // A control frame is complete: answer a ping, ignore a pong, answer or finish on a close.
  std::optional<Step> on_control_frame_end(std::size_t consumed);
  // A protocol violation: close `code` (1002 by default, RFC 6455 §7.4.1), or just close if a close
  // was already sent.
  Step fail(std::size_t consumed, std::string_view reason,
            std::uint16_t code = ws::close_code::kProtocolError);
  // Invalid UTF-8 in a text message (RFC 6455 §8.1): close 1007 if nothing of the current frame was
  // sent yet, else close TCP (a close frame cannot go inside an echoed frame already under way).
  Step fail_invalid_utf8(std::size_t consumed);
  // The last frame of a compressed message is in: echo the whole message as one compressed frame.
  Step finish_compressed_message(std::size_t consumed);
  Output close_output(std::optional<std::uint16_t> code, std::string_view reason);

  ws::FrameParser parser_;
  State state_ = State::kOpen;
  bool in_message_ = false;                  // a fragmented data message is open (RFC 6455 §5.4)
  bool message_is_text_ = false;             // the current message is text: its payload is UTF-8 checked
  bool frame_fin_ = false;                   // the frame being parsed ends its message
  ws::Utf8Validator utf8_;                   // the text message so far, across frames and reads
  std::uint8_t message_opcode_ = 0;          // text or binary: the opcode of the current message
  bool message_is_compressed_ = false;       // the current message has RSV1 (permessage-deflate)
  bool frame_is_gathered_ = false;           // the frame being parsed belongs to a compressed message
  std::optional<MessageDeflate> deflate_;    // set once permessage-deflate was agreed
  std::vector<std::uint8_t> compressed_;     // the compressed message so far (unmasked)
  std::vector<std::uint8_t> inflated_;       // the message inflated
  std::vector<std::uint8_t> deflated_;       // the echoed frame: header and compressed payload
  bool frame_is_control_ = false;            // the frame being parsed is a control frame
  bool frame_is_echoed_ = false;             // the frame being parsed is a data frame we echo
  std::uint64_t frame_remaining_bytes_ = 0;  // payload bytes of the current frame not yet seen
  bool head_pending_ = false;                // head_ holds an echoed frame header not yet handed out
  std::array<std::uint8_t, ws::kMaxHeaderBytes> head_{};  // echoed data frame header
  std::size_t head_bytes_ = 0;
  std::uint8_t control_opcode_ = 0;
  std::array<std::uint8_t, ws::kMaxControlPayloadBytes> control_payload_{};  // received control payload
  std::size_t control_payload_bytes_ = 0;
  std::array<std::uint8_t, ws::kMaxHeaderBytes + ws::kMaxControlPayloadBytes> pong_{};  // pong we send
  std::vector<std::uint8_t> close_frame_;  // close frame we send (once per connection)
};

}  // namespace wsgate::tools
