// permessage-deflate termination as a client Channel decorator (RFC 7692 §6, §7.2); see deflate_channel.hpp.
#include "gateway/deflate_channel.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <cstring>

namespace wsgate::gw {

namespace {

ws::MaskKey fresh_mask_key() {
  ws::MaskKey key{};
  // RFC 6455 §5.3: unpredictable keys. Should OpenSSL's RNG fail, the zero key is
  // still a valid mask toward the backend (this side of the gateway is not a browser).
  if (::RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) key = {};
  return key;
}

void append_header(std::vector<std::uint8_t>& out, bool fin, std::uint8_t opcode, std::uint64_t length,
                   std::optional<ws::MaskKey> mask, std::uint8_t rsv) {
  std::array<std::uint8_t, ws::kMaxHeaderBytes> header{};
  const std::size_t n = ws::write_frame_header(header, fin, opcode, length, mask, rsv);
  out.insert(out.end(), header.begin(), header.begin() + static_cast<std::ptrdiff_t>(n));
}

void release(std::vector<std::uint8_t>& v) { std::vector<std::uint8_t>().swap(v); }

constexpr auto kContinuation = static_cast<std::uint8_t>(ws::Opcode::kContinuation);

}  // namespace

DeflateChannel::DeflateChannel(boost::asio::any_io_executor executor, std::shared_ptr<Channel> inner,
                               DeflateChannelOptions options, std::vector<std::uint8_t> pending)
    : executor_(std::move(executor)),
      inner_(std::move(inner)),
      options_(options),
      in_parser_([&] {
        ws::FrameParserOptions o = options.client_frames;
        o.sender = ws::Sender::kClient;
        o.allowed_rsv |= ws::kRsv1;  // RFC 7692 §6: RSV1 marks a compressed message
        return o;
      }()),
      raw_(std::move(pending)),
      // The relay already checked the frames it writes; this parser only finds boundaries.
      out_parser_(ws::FrameParserOptions{ws::Sender::kServer, ws::kRsv1 | ws::kRsv2 | ws::kRsv3, false, false, 0}),
      deflater_(options.params.server_max_window_bits, options.params.server_no_context_takeover, options.level,
                options.mem_level) {
  // Inflated frames must pass the relay's max_frame_bytes (the same FrameParserOptions).
  if (options_.client_frames.max_frame_bytes != 0 && options_.client_frames.max_frame_bytes < options_.chunk_bytes) {
    options_.chunk_bytes = static_cast<std::size_t>(options_.client_frames.max_frame_bytes);
  }
  options_.chunk_bytes = std::max<std::size_t>(options_.chunk_bytes, 1);
  totals_.client_wire_in = raw_.size();
}

std::shared_ptr<Channel> terminate_compression(boost::asio::any_io_executor executor, std::shared_ptr<Channel> client,
                                               const std::optional<DeflateChannelOptions>& options,
                                               std::vector<std::uint8_t>& pending) {
  if (!options) return client;
  auto wrapped = std::make_shared<DeflateChannel>(std::move(executor), std::move(client), *options, std::move(pending));
  pending.clear();
  return wrapped;
}

// ---------------------------------------------------------------------------------------------
// Read side: client -> relay

void DeflateChannel::async_wait_readable(Handler handler) {
  if (!poisoned_) produce();
  if (has_output() || read_end_) {
    boost::asio::post(executor_, [handler = std::move(handler)] { handler({}); });
    return;
  }
  if (poisoned_) {
    inner_->async_wait_readable(std::move(handler));  // read_some drops what comes now
    return;
  }
  // Nothing in flight: hold no buffers while the client is idle.
  if (raw_parsed_ >= raw_.size() && pending_payload_.empty()) {
    release(raw_);
    raw_parsed_ = 0;
  }
  release(out_);
  out_begin_ = 0;
  // The relay's handler travels inside the inner wait, never stored here: stored, it would
  // make a cycle (relay -> this channel -> handler -> relay) that outlives an io_context
  // destroyed with the wait pending.
  inner_->async_wait_readable([self = shared_from_this(), handler = std::move(handler)](const ErrorCode& ec) mutable {
    self->on_inner_readable(std::move(handler), ec);
  });
}

void DeflateChannel::on_inner_readable(Handler handler, const ErrorCode& ec) {
  if (ec) {
    handler(ec);
    return;
  }
  // Wake the relay only when there is output (or the end): input that makes none
  // (a partial header, compressed bytes zlib keeps) is read and we wait again.
  if (fill_raw()) produce();
  if (has_output() || read_end_ || poisoned_) {
    handler({});
    return;
  }
  async_wait_readable(std::move(handler));
}

bool DeflateChannel::fill_raw() {
  if (read_end_ || poisoned_) return false;
  if (raw_parsed_ < raw_.size() || !pending_payload_.empty()) return true;  // unprocessed input remains
  raw_.resize(options_.chunk_bytes);
  raw_parsed_ = 0;
  ErrorCode ec;
  const std::size_t n = inner_->read_some(raw_, ec);
  raw_.resize(n);
  if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) return false;
  if (ec || n == 0) {
    read_end_ = ec ? ec : ErrorCode(boost::asio::error::eof);
    return true;
  }
  totals_.client_wire_in += n;
  return true;
}

std::size_t DeflateChannel::read_some(std::span<std::uint8_t> buffer, ErrorCode& ec) {
  ec = {};
  // Fills the relay's buffer as far as the input allows (each round bounded by chunk_bytes).
  std::size_t total = 0;
  while (total < buffer.size()) {
    if (!has_output() && !poisoned_) {
      produce();
      if (!has_output() && fill_raw()) produce();
    }
    if (!has_output()) break;
    const std::size_t n = std::min(buffer.size() - total, output_size());
    std::memcpy(buffer.data() + total, out_.data() + out_begin_, n);
    out_begin_ += n;
    total += n;
    totals_.client_plain_in += n;
    if (out_begin_ == out_.size()) {
      out_.clear();
      out_begin_ = 0;
    }
  }
  if (total != 0) return total;
  if (poisoned_ && !read_end_) {
    // The relay has stopped this direction: drop the client's input here until its end.
    std::array<std::uint8_t, 4096> scratch;
    while (true) {
      const std::size_t n = inner_->read_some(scratch, ec);
      if (n == 0) break;
      inner_->on_forwarded(n);
    }
    if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) return 0;
    read_end_ = ec ? ec : ErrorCode(boost::asio::error::eof);
  }
  if (read_end_) {
    ec = read_end_;
    return 0;
  }
  ec = boost::asio::error::would_block;
  return 0;
}

void DeflateChannel::produce() {
  // Bounded: at most about one chunk of output waits for the relay (plus one frame).
  while (!poisoned_ && output_size() < options_.chunk_bytes) {
    if (!produce_step()) break;
  }
  if (!poisoned_) credit_raw();
}

bool DeflateChannel::produce_step() {
  if (!pending_payload_.empty() || finishing_) return inflate_pending();
  const auto input = std::span<const std::uint8_t>(raw_).subspan(std::min(raw_parsed_, raw_.size()));
  const ws::FrameEvent ev = in_parser_.next(input);
  raw_parsed_ += ev.consumed;
  switch (ev.kind) {
    case ws::FrameEvent::kNeedMore:
      return false;
    case ws::FrameEvent::kError:
      if (ev.error == ws::FrameError::kFrameTooLarge) {
        // max_frame_bytes: a header the relay's parser rejects the same way (1009).
        append_header(out_, true, static_cast<std::uint8_t>(ws::Opcode::kBinary),
                      options_.client_frames.max_frame_bytes + 1, fresh_mask_key(), 0);
      }
      poison(0);
      return false;
    case ws::FrameEvent::kHeader:
      on_header(ev.header);
      return !poisoned_;
    case ws::FrameEvent::kPayload:
      on_payload(ev);
      return true;
    case ws::FrameEvent::kFrameEnd:
      on_frame_end(ev.header);
      return true;
  }
  return false;
}

void DeflateChannel::on_header(const ws::FrameHeader& h) {
  const bool rsv1 = (h.rsv & ws::kRsv1) != 0;
  if (ws::is_control(h.opcode)) {
    // RFC 7692 §6.1: RSV1 is for data messages only.
    if (rsv1) return poison(0);
    passthrough_frame_ = true;
  } else if (h.opcode == kContinuation) {
    // §6.1: only a message's first frame carries RSV1. A continuation with no open
    // message is a protocol error (RFC 6455 §5.4) the relay would see as well.
    if (rsv1 || !message_open_) return poison(0);
    passthrough_frame_ = !in_compressed_;
  } else {
    if (message_open_) return poison(0);  // RFC 6455 §5.4: messages do not interleave
    in_compressed_ = rsv1;
    message_opcode_ = h.opcode;
    first_emitted_ = false;
    emitted_in_message_ = 0;
    passthrough_frame_ = !rsv1;
  }
  if (passthrough_frame_) {
    append_header(out_, h.fin, h.opcode, h.payload_length, h.masked ? std::optional(h.mask_key) : std::nullopt,
                  h.rsv);
  }
}

void DeflateChannel::on_payload(const ws::FrameEvent& ev) {
  if (passthrough_frame_) {
    out_.insert(out_.end(), ev.payload.begin(), ev.payload.end());  // still masked, as received
    return;
  }
  // Compressed payload: unmask in place (raw_ is ours), inflate lazily.
  const auto offset = static_cast<std::size_t>(ev.payload.data() - raw_.data());
  pending_payload_ = std::span<std::uint8_t>(raw_).subspan(offset, ev.payload.size());
  if (ev.header.masked) ws::apply_mask(pending_payload_, ev.header.mask_key, ev.payload_offset);
}

void DeflateChannel::on_frame_end(const ws::FrameHeader& h) {
  if (ws::is_control(h.opcode)) return;
  message_open_ = !h.fin;
  if (in_compressed_ && h.fin) finishing_ = true;  // inflate the tail, then the final frame
}

bool DeflateChannel::inflate_pending() {
  if (!inflater_) {
    inflater_.emplace(options_.params.client_max_window_bits, options_.params.client_no_context_takeover,
                      options_.max_message_bytes);
  }
  const std::size_t have = inflated_.size();
  if (have >= options_.chunk_bytes) {
    emit_inflated(false);
    return true;
  }
  inflated_.resize(options_.chunk_bytes);
  const auto room = std::span(inflated_).subspan(have);
  const bool finishing = pending_payload_.empty();
  const ws::InflateStep step = finishing ? inflater_->finish_message(room) : inflater_->inflate(pending_payload_, room);
  inflated_.resize(have + step.produced);
  if (!finishing) pending_payload_ = pending_payload_.subspan(step.consumed);
  if (step.status == ws::InflateStatus::kTooBig) {
    // A bomb: a frame header claiming one byte more than the limit allows makes the relay
    // fail the connection with 1009 (its client max_message_bytes is the same limit).
    poison(options_.max_message_bytes - std::min(options_.max_message_bytes, emitted_in_message_) + 1);
    return false;
  }
  if (step.status == ws::InflateStatus::kBadData || (!finishing && step.consumed == 0 && step.produced == 0)) {
    poison(0);  // RFC 7692 §8: a message that does not inflate fails the connection
    return false;
  }
  if (finishing && step.message_done) {
    emit_inflated(true);
    finishing_ = false;
    in_compressed_ = false;
    if (!options_.params.client_no_context_takeover) return true;
    inflater_.reset();  // nothing to keep between messages
  } else if (inflated_.size() >= options_.chunk_bytes) {
    emit_inflated(false);
  }
  return true;
}

void DeflateChannel::emit_inflated(bool fin) {
  const std::uint8_t opcode = first_emitted_ ? kContinuation : message_opcode_;
  const ws::MaskKey key = fresh_mask_key();
  append_header(out_, fin, opcode, inflated_.size(), key, 0);
  const std::size_t start = out_.size();
  out_.insert(out_.end(), inflated_.begin(), inflated_.end());
  ws::apply_mask(std::span(out_).subspan(start), key);
  first_emitted_ = true;
  emitted_in_message_ += inflated_.size();
  inflated_.clear();
  if (fin) release(inflated_);
}

void DeflateChannel::poison(std::uint64_t too_big_by) {
  if (too_big_by != 0) {
    append_header(out_, false, first_emitted_ ? kContinuation : message_opcode_, too_big_by, fresh_mask_key(), 0);
  } else {
    // Reserved opcode 0x3 (RFC 6455 §5.2): the relay's parser rejects it at the first byte (1002).
    out_.push_back(0x83);
  }
  poisoned_ = true;
  // Everything read so far counts as consumed: the relay forwards no more of this direction.
  const std::uint64_t read_total = totals_.client_wire_in;
  if (read_total > raw_reported_) inner_->on_forwarded(static_cast<std::size_t>(read_total - raw_reported_));
  raw_reported_ = read_total;
  marks_.clear();
  release(raw_);
  raw_parsed_ = 0;
  pending_payload_ = {};
  finishing_ = false;
  inflater_.reset();
  release(inflated_);
}

void DeflateChannel::credit_raw() {
  // Raw bytes processed so far: all parsed input minus compressed bytes still waiting to be inflated.
  const std::uint64_t unread = raw_.size() - std::min(raw_parsed_, raw_.size()) + pending_payload_.size();
  const std::uint64_t processed = totals_.client_wire_in - unread;
  out_produced_ = totals_.client_plain_in + output_size();
  if (processed <= raw_processed_) return;
  raw_processed_ = processed;
  if (out_forwarded_ >= out_produced_) {
    inner_->on_forwarded(static_cast<std::size_t>(processed - raw_reported_));
    raw_reported_ = processed;
    return;
  }
  if (!marks_.empty() && marks_.back().first == out_produced_) {
    marks_.back().second = processed;
  } else {
    marks_.emplace_back(out_produced_, processed);
  }
}

void DeflateChannel::on_forwarded(std::size_t bytes) {
  if (poisoned_) return;  // raw input is accounted for directly from now on
  out_forwarded_ += bytes;
  std::size_t done = 0;
  while (done < marks_.size() && marks_[done].first <= out_forwarded_) {
    const std::uint64_t raw = marks_[done++].second;
    if (raw > raw_reported_) {
      inner_->on_forwarded(static_cast<std::size_t>(raw - raw_reported_));
      raw_reported_ = raw;
    }
  }
  marks_.erase(marks_.begin(), marks_.begin() + static_cast<std::ptrdiff_t>(done));
  if (marks_.empty()) marks_.shrink_to_fit();
}

// ---------------------------------------------------------------------------------------------
// Write side: relay -> client

void DeflateChannel::async_write(std::span<const std::uint8_t> data, Handler handler) {
  wbuf_.clear();
  if (!transform_outgoing(data)) {
    boost::asio::post(executor_, [handler = std::move(handler)] { handler(boost::asio::error::no_memory); });
    return;
  }
  totals_.client_plain_out += data.size();
  if (wbuf_.empty()) {
    // Absorbed by the compressor: nothing to send yet.
    boost::asio::post(executor_, [handler = std::move(handler)] { handler({}); });
    return;
  }
  totals_.client_wire_out += wbuf_.size();
  inner_->async_write(wbuf_, [self = shared_from_this(), handler = std::move(handler)](const ErrorCode& ec) {
    release(self->wbuf_);
    handler(ec);
  });
}

bool DeflateChannel::transform_outgoing(std::span<const std::uint8_t> data) {
  while (true) {
    const ws::FrameEvent ev = out_parser_.next(data);
    data = data.subspan(ev.consumed);
    if (ev.kind == ws::FrameEvent::kNeedMore) break;
    if (ev.kind == ws::FrameEvent::kError) return false;  // the relay checked these frames already
    const ws::FrameHeader& h = ev.header;
    const bool control = ws::is_control(h.opcode);
    if (!control && h.opcode != kContinuation && ev.kind == ws::FrameEvent::kHeader) {
      // A new message: small whole messages go uncompressed (RSV1 clear), the rest compressed.
      out_compressing_ = !(h.fin && h.payload_length < options_.min_message_bytes);
      out_opcode_ = h.opcode;
      out_first_sent_ = false;
    }
    const bool copy = control || !out_compressing_;
    switch (ev.kind) {
      case ws::FrameEvent::kHeader:
        if (copy) append_header(wbuf_, h.fin, h.opcode, h.payload_length, std::nullopt, h.rsv);
        break;
      case ws::FrameEvent::kPayload:
        if (copy) {
          wbuf_.insert(wbuf_.end(), ev.payload.begin(), ev.payload.end());
        } else if (!deflater_.compress(ev.payload, false, compressed_)) {
          return false;
        }
        break;
      case ws::FrameEvent::kFrameEnd:
        if (!copy && h.fin) {
          if (!deflater_.compress({}, true, compressed_)) return false;
          emit_compressed(true);
          out_compressing_ = false;
        }
        break;
      default:
        break;
    }
  }
  // Compressed bytes so far go out now as a non-final frame (no waiting for the message end).
  if (out_compressing_ && !compressed_.empty()) emit_compressed(false);
  return true;
}

void DeflateChannel::emit_compressed(bool fin) {
  append_header(wbuf_, fin, out_first_sent_ ? kContinuation : out_opcode_, compressed_.size(), std::nullopt,
                out_first_sent_ ? 0 : ws::kRsv1);
  wbuf_.insert(wbuf_.end(), compressed_.begin(), compressed_.end());
  out_first_sent_ = true;
  if (fin) {
    release(compressed_);
  } else {
    compressed_.clear();
  }
}

}  // namespace wsgate::gw
