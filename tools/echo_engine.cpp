// The echo backend's WebSocket server side, sans-I/O (RFC 6455 §5.4-§5.5, §7).
#include "tools/echo_engine.hpp"

#include <algorithm>

#include "ws/close.hpp"
#include "ws/utf8.hpp"

namespace wsgate::tools {

namespace {

ws::FrameParserOptions client_frame_rules() {
  ws::FrameParserOptions options;
  options.sender = ws::Sender::kClient;  // RFC 6455 §5.1: client frames must be masked
  options.allowed_rsv = 0;               // no extension is ever negotiated
  options.strict_lengths = true;
  options.check_mask = true;
  return options;
}

}  // namespace

EchoEngine::EchoEngine() : parser_(client_frame_rules()) {}

void EchoEngine::enable_deflate(const DeflateParams& params) {
  deflate_.emplace(params);
  parser_.set_allowed_rsv(ws::kRsv1);  // RFC 7692 §6: RSV1 marks a compressed message
}

EchoEngine::Step EchoEngine::on_input(std::span<std::uint8_t> input) {
  // The last compressed echo has been written (the caller's contract): an idle connection keeps
  // no large buffer.
  if (!deflated_.empty()) std::vector<std::uint8_t>().swap(deflated_);
  std::size_t used = 0;
  int idle_events = 0;  // events that used no input, to stop if the parser has nothing left to say
  while (state_ != State::kDone) {
    const ws::FrameEvent event = parser_.next(input.subspan(used));
    used += event.consumed;
    idle_events = event.consumed == 0 ? idle_events + 1 : 0;
    switch (event.kind) {
      case ws::FrameEvent::kNeedMore:
        if (head_pending_) {
          head_pending_ = false;
          return {Action::kWrite, used, {std::span(head_).first(head_bytes_), {}}};
        }
        return {Action::kNeedMore, used, {}};

      case ws::FrameEvent::kError:
        return fail(used, ws::to_string(event.error));

      case ws::FrameEvent::kHeader: {
        const ws::FrameHeader& header = event.header;
        frame_remaining_bytes_ = header.payload_length;
        const bool rsv1 = (header.rsv & ws::kRsv1) != 0;
        if (ws::is_control(header.opcode)) {
          if (rsv1) return fail(used, "RSV1 on a control frame");  // RFC 7692 §6.1
          frame_is_control_ = true;
          frame_is_echoed_ = false;
          control_opcode_ = header.opcode;
          control_payload_bytes_ = 0;
          if (header.payload_length == 0) {
            if (auto step = on_control_frame_end(used)) return *step;
          }
          break;
        }
        // RFC 6455 §5.4: a continuation needs an open message, a new message needs none open.
        const bool is_continuation = header.opcode == static_cast<std::uint8_t>(ws::Opcode::kContinuation);
        if (is_continuation != in_message_) {
          return fail(used, is_continuation ? "continuation frame without a message" : "message interleaved");
        }
        if (is_continuation && rsv1) return fail(used, "RSV1 on a continuation frame");  // RFC 7692 §6.1
        if (!is_continuation) {
          message_is_text_ = header.opcode == static_cast<std::uint8_t>(ws::Opcode::kText);
          message_opcode_ = header.opcode;
          message_is_compressed_ = rsv1;
          compressed_.clear();
          utf8_.reset();
        }
        in_message_ = !header.fin;
        frame_fin_ = header.fin;
        frame_is_control_ = false;
        frame_is_gathered_ = false;
        // RFC 6455 §7.1.2: after our close, data frames are read and dropped.
        frame_is_echoed_ = state_ == State::kOpen;
        if (!frame_is_echoed_) break;
        if (message_is_compressed_) {
          // Compressed messages are gathered whole, then echoed as one compressed frame.
          frame_is_echoed_ = false;
          frame_is_gathered_ = true;
          if (header.payload_length > kMaxCompressedMessageBytes - compressed_.size()) {
            return fail(used, "compressed message too big", ws::close_code::kMessageTooBig);
          }
          if (header.payload_length == 0 && header.fin) return finish_compressed_message(used);
          break;
        }
        head_bytes_ = ws::write_frame_header(head_, header.fin, header.opcode, header.payload_length);
        // RFC 6455 §8.1: a text message must end on a code point boundary.
        // Nothing of this frame is out yet, so the close frame can go now.
        if (header.payload_length == 0 && header.fin && message_is_text_ && !utf8_.complete()) {
          return fail(used, "invalid UTF-8", ws::close_code::kInvalidPayload);
        }
        if (header.payload_length == 0) {
          return {Action::kWrite, used, {std::span(head_).first(head_bytes_), {}}};
        }
        head_pending_ = true;
        break;
      }

      case ws::FrameEvent::kPayload: {
        const std::size_t at = static_cast<std::size_t>(event.payload.data() - input.data());
        const std::span<std::uint8_t> chunk = input.subspan(at, event.payload.size());
        frame_remaining_bytes_ -= std::min<std::uint64_t>(frame_remaining_bytes_, chunk.size());
        if (frame_is_control_) {
          // The parser caps control payloads at 125 bytes; the check keeps the copy in bounds anyway.
          if (event.payload_offset + chunk.size() > control_payload_.size())
            return fail(used, "control frame");
          ws::apply_mask(chunk, event.header.mask_key, event.payload_offset);
          std::copy(chunk.begin(), chunk.end(),
                    control_payload_.begin() + static_cast<std::ptrdiff_t>(event.payload_offset));
          control_payload_bytes_ = static_cast<std::size_t>(event.payload_offset) + chunk.size();
          if (frame_remaining_bytes_ == 0) {
            if (auto step = on_control_frame_end(used)) return *step;
          }
          break;
        }
        if (frame_is_gathered_ && state_ == State::kOpen && !chunk.empty()) {
          ws::apply_mask(chunk, event.header.mask_key, event.payload_offset);
          compressed_.insert(compressed_.end(), chunk.begin(), chunk.end());
          if (frame_fin_ && frame_remaining_bytes_ == 0) return finish_compressed_message(used);
          break;
        }
        if (!frame_is_echoed_ || chunk.empty()) break;
        ws::apply_mask(chunk, event.header.mask_key, event.payload_offset);
        // Fail fast (RFC 6455 §8.1): check each chunk before it is echoed, so invalid text never
        // leaves the server, and the message end must be a code point boundary.
        if (message_is_text_ &&
            (!utf8_.feed(chunk) || (frame_fin_ && frame_remaining_bytes_ == 0 && !utf8_.complete()))) {
          return fail_invalid_utf8(used);
        }
        Output output{{}, chunk};
        if (head_pending_) {
          head_pending_ = false;
          output.head = std::span(head_).first(head_bytes_);
        }
        return {Action::kWrite, used, output};
      }

      case ws::FrameEvent::kFrameEnd:
        // Frame ends are tracked from the payload counts above, so they never wait on this event.
        break;
    }
    if (idle_events > 2) break;  // defensive: a parser that keeps answering without input
  }
  return {state_ == State::kDone ? Action::kClose : Action::kNeedMore, used, {}};
}

std::optional<EchoEngine::Step> EchoEngine::on_control_frame_end(std::size_t consumed) {
  frame_is_control_ = false;
  const std::span<const std::uint8_t> payload = std::span(control_payload_).first(control_payload_bytes_);
  switch (static_cast<ws::Opcode>(control_opcode_)) {
    case ws::Opcode::kPing: {
      if (state_ != State::kOpen) return std::nullopt;
      // RFC 6455 §5.5.3: the pong carries the ping's application data.
      const std::size_t header_bytes =
          ws::write_frame_header(pong_, true, static_cast<std::uint8_t>(ws::Opcode::kPong), payload.size());
      std::copy(payload.begin(), payload.end(), pong_.begin() + static_cast<std::ptrdiff_t>(header_bytes));
      return Step{Action::kWrite, consumed, {std::span(pong_).first(header_bytes + payload.size()), {}}};
    }
    case ws::Opcode::kClose: {
      if (state_ == State::kCloseSent) {
        state_ = State::kDone;  // RFC 6455 §7.1.1: both closes exchanged; the server closes TCP first
        return Step{Action::kClose, consumed, {}};
      }
      const ws::CloseParseResult parsed = ws::parse_close_payload(payload);
      if (parsed.error != ws::CloseParseError::kNone) return fail(consumed, "invalid close payload");
      state_ = State::kDone;
      // RFC 6455 §5.5.1: echo the status code; an empty close is answered with an empty one.
      return Step{Action::kWriteThenClose, consumed, close_output(parsed.info.code, parsed.info.reason)};
    }
    default:  // a pong: nothing to do
      return std::nullopt;
  }
}

EchoEngine::Step EchoEngine::fail(std::size_t consumed, std::string_view reason, std::uint16_t code) {
  if (state_ != State::kOpen) {
    state_ = State::kDone;
    return {Action::kClose, consumed, {}};
  }
  state_ = State::kDone;
  return {Action::kWriteThenClose, consumed, close_output(code, reason)};
}

EchoEngine::Step EchoEngine::finish_compressed_message(std::size_t consumed) {
  frame_is_gathered_ = false;
  // RFC 7692 §7.2.2: inflate the message; text is checked once it is whole.
  if (!deflate_->inflate_message(compressed_, inflated_, kMaxInflatedMessageBytes)) {
    return fail(consumed, "bad or too large compressed message", ws::close_code::kInvalidPayload);
  }
  compressed_.clear();
  compressed_.shrink_to_fit();  // an idle connection holds no large buffer
  if (message_is_text_ && !ws::is_valid_utf8(inflated_)) {
    return fail(consumed, "invalid UTF-8", ws::close_code::kInvalidPayload);
  }
  if (!deflate_->deflate_message(inflated_, deflated_))
    return fail(consumed, "deflate", ws::close_code::kInternalError);
  inflated_.clear();
  inflated_.shrink_to_fit();
  // One frame, RSV1 set (§6.1); it goes out as the step's head, which is valid until the next call.
  std::array<std::uint8_t, ws::kMaxHeaderBytes> header{};
  const std::size_t header_bytes =
      ws::write_frame_header(header, true, message_opcode_, deflated_.size(), std::nullopt, ws::kRsv1);
  deflated_.insert(deflated_.begin(), header.begin(),
                   header.begin() + static_cast<std::ptrdiff_t>(header_bytes));
  return {Action::kWrite, consumed, {deflated_, {}}};
}

EchoEngine::Step EchoEngine::fail_invalid_utf8(std::size_t consumed) {
  if (head_pending_) {
    head_pending_ = false;
    return fail(consumed, "invalid UTF-8", ws::close_code::kInvalidPayload);
  }
  // RFC 6455 §7.1.7: fail the connection; the echoed frame's header promised more payload, so the
  // only way out is closing TCP without a close frame.
  state_ = State::kDone;
  return {Action::kClose, consumed, {}};
}

bool EchoEngine::can_begin_close() const {
  return state_ == State::kOpen && !(frame_is_echoed_ && frame_remaining_bytes_ > 0);
}

EchoEngine::Output EchoEngine::begin_close(std::uint16_t code, std::string_view reason) {
  state_ = State::kCloseSent;
  return close_output(code, reason);
}

EchoEngine::Output EchoEngine::close_output(std::optional<std::uint16_t> code, std::string_view reason) {
  close_frame_ = ws::build_close_frame(code, reason);
  return {close_frame_, {}};
}

}  // namespace wsgate::tools
