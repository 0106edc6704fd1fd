// Relay between a client and a backend Channel; see relay.hpp.
#include "gateway/relay.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <cstring>
#include <utility>

#include "ws/close.hpp"

namespace wsgate::gw {

namespace {

ws::MaskKey random_mask_key() {
  ws::MaskKey key{};
  if (::RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    // RFC 6455 §5.3 wants unpredictable keys; fall back to the address-based
    // entropy of a fresh allocation only if OpenSSL's RNG failed.
    auto v = reinterpret_cast<std::uintptr_t>(&key) ^
             static_cast<std::uintptr_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    std::memcpy(key.data(), &v, key.size());
  }
  return key;
}

// Bytes a frame header takes, from its first two bytes.
std::size_t header_length(std::uint8_t b0, std::uint8_t b1) {
  (void)b0;
  std::size_t n = 2;
  std::uint8_t len7 = b1 & 0x7F;
  if (len7 == 126) n += 2;
  if (len7 == 127) n += 8;
  if (b1 & 0x80) n += 4;
  return n;
}

// A read starts with a small pooled buffer; most WebSocket messages fit, bigger ones grow it.
std::size_t first_read_bytes(const RelayOptions& options) {
  constexpr std::size_t kFirstReadBytes = 16 * 1024;
  return std::min(kFirstReadBytes, options.buffer_bytes);
}

// Reads issued straight after a read that filled the buffer, nested in one handler: bounded so
// that a fast source cannot deepen the stack (it waits for readiness past this).
constexpr int kMaxSpeculativeReadDepth = 4;
thread_local int speculative_read_depth = 0;

const char* side_name(Side s) { return s == Side::kClient ? "client" : "backend"; }

FlowDirection flow_of(Side from) {
  return from == Side::kClient ? FlowDirection::kClientToBackend : FlowDirection::kBackendToClient;
}

}  // namespace

Relay::Relay(boost::asio::any_io_executor executor, std::shared_ptr<Channel> client,
             std::shared_ptr<Channel> backend, RelayOptions options, DoneHandler on_done)
    : executor_(std::move(executor)),
      options_(options),
      on_done_(std::move(on_done)),
      started_at_(std::chrono::steady_clock::now()) {
  last_data_ = started_at_;
  for (int i = 0; i < 2; ++i) {
    const KeepaliveRule& rule = options_.keepalive[i];
    if (rule.interval.count() != 0) {
      sides_[i].keepalive = std::make_unique<ws::KeepaliveScheduler>(
          ws::KeepaliveScheduler::Rule{rule.interval, rule.timeout}, started_at_);
    }
  }
  sides_[0].channel = std::move(client);
  sides_[1].channel = std::move(backend);
  dirs_[0].from = Side::kClient;
  dirs_[0].scanner = ws::FrameScanner(options_.client_frames);
  dirs_[0].boundary = 0;
  dirs_[1].from = Side::kBackend;
  dirs_[1].scanner = ws::FrameScanner(options_.backend_frames);
  dirs_[1].boundary = 0;
  if (options_.buffer_bytes < 4096) options_.buffer_bytes = 4096;
}

Relay::~Relay() = default;

void Relay::start(const std::vector<std::uint8_t>& client_pending,
                  const std::vector<std::uint8_t>& backend_pending) {
  auto preload = [this](Direction& d, const std::vector<std::uint8_t>& bytes) {
    if (bytes.empty()) return;
    std::size_t capacity = std::max(first_read_bytes(options_), bytes.size());
    d.buffer = PooledBuffer(capacity);
    capacity_[static_cast<int>(d.from)] = capacity;
    std::memcpy(d.buffer.get(), bytes.data(), bytes.size());
    d.end = bytes.size();
  };
  preload(dir_from(Side::kClient), client_pending);
  preload(dir_from(Side::kBackend), backend_pending);
  for (auto& d : dirs_) {
    process(d);
    do_write(d);
    do_read(d);
  }
  check_progress();
  arm_house_timer();
}

void Relay::go_away() {
  if (finished_) return;
  send_deferred_client_close();
  queue_close(Side::kBackend, ws::close_code::kGoingAway, "going away");
  queue_close(Side::kClient, ws::close_code::kGoingAway, "going away");
  check_progress();
}

void Relay::abort() {
  if (finished_) return;
  release(Side::kClient, true);
  release(Side::kBackend, true);
  finish();
}

void Relay::do_read(Direction& d) {
  SideState& from = side(d.from);
  if (finished_ || d.reading || from.read_ended || from.closed) return;
  if (d.buffer && d.end == capacity_[static_cast<int>(d.from)]) {
    if (d.begin > 0 && !d.writing) {
      std::memmove(d.buffer.get(), d.buffer.get() + d.begin, d.end - d.begin);
      d.end -= d.begin;
      d.scanned -= d.begin;
      if (d.boundary) *d.boundary -= d.begin;
      d.begin = 0;
    } else if (capacity_[static_cast<int>(d.from)] < options_.buffer_bytes) {
      grow_buffer(d);  // a large frame or a slow sink: up to buffer_bytes in flight
    } else {
      return;  // full: resume when the sink drains (backpressure)
    }
  }
  if (std::exchange(d.read_again, false) && speculative_read_depth < kMaxSpeculativeReadDepth) {
    // More is likely waiting: read it now instead of a reactor round trip (on_readable goes back
    // to waiting when nothing is left).
    ++speculative_read_depth;
    on_readable(d, {});
    --speculative_read_depth;
    return;
  }
  d.reading = true;
  from.channel->async_wait_readable(
      [self = shared_from_this(), &d](const ErrorCode& ec) { self->on_readable(d, ec); });
}

void Relay::grow_buffer(Direction& d) {
  std::size_t& capacity = capacity_[static_cast<int>(d.from)];
  const std::size_t grown = std::min(capacity * 2, options_.buffer_bytes);
  PooledBuffer bigger(grown);
  // Offsets stay as they are. A write in flight points into the buffer it was issued from: that one
  // is kept until the write completes (a later, intermediate buffer is not referenced).
  std::memcpy(bigger.get(), d.buffer.get(), d.end);
  if (d.writing && !d.retired) d.retired = std::move(d.buffer);
  d.buffer = std::move(bigger);
  capacity = grown;
}

void Relay::on_readable(Direction& d, const ErrorCode& wait_ec) {
  d.reading = false;
  if (finished_ || wait_ec == boost::asio::error::operation_aborted) return;
  SideState& from = side(d.from);
  if (from.closed) return;
  if (wait_ec) {
    on_read_end(d.from);
    return;
  }
  std::size_t& capacity = capacity_[static_cast<int>(d.from)];
  if (!d.buffer) {
    // Half the size the previous burst in this direction grew to (capacity_ keeps it): small
    // messages stay at the first size, a bulk stream does not regrow from it for every message.
    capacity = std::max(first_read_bytes(options_), std::min(capacity / 2, options_.buffer_bytes));
    d.buffer = PooledBuffer(capacity);
    d.begin = d.end = d.scanned = 0;
  }
  ErrorCode ec;
  std::size_t n = from.channel->read_some({d.buffer.get() + d.end, capacity - d.end}, ec);
  if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) {
    do_read(d);
    return;
  }
  if (ec || n == 0) {
    on_read_end(d.from);
    return;
  }
  // Stamped only for keep-alive: the default data path reads no clock.
  if (from.keepalive) from.keepalive->on_received(std::chrono::steady_clock::now());
  const bool filled = n == capacity - d.end;
  if (!d.stopped) {
    d.end += n;
    process(d);
  } else {
    from.channel->on_forwarded(n);  // input after a close is read only to see the end of the stream
  }
  release_if_empty(d);
  do_write(d);
  d.read_again = filled;
  do_read(d);
  check_progress();
}

void Relay::process(Direction& d) {
  while (!d.stopped && d.scanned < d.end) {
    ws::ScanResult r = d.scanner.scan({d.buffer.get() + d.scanned, d.end - d.scanned});
    d.scanned += r.consumed;
    if (r.kind == ws::ScanResult::kNeedMore) break;
    if (r.kind == ws::ScanResult::kError) {
      on_protocol_error(d, r);
      return;
    }
    d.boundary = d.scanned;
    on_frame_end(d, r, d.scanned);
  }
}

void Relay::on_frame_end(Direction& d, const ws::ScanResult& r, std::size_t frame_end) {
  d.stats.frames++;
  if (r.message_end) d.stats.messages++;
  if (options_.metrics != nullptr) {
    options_.metrics->traffic(options_.route, flow_of(d.from), 1, r.message_end ? 1 : 0, 0);
  }
  if (!ws::is_control(r.header.opcode)) {
    if (options_.idle_timeout.count() != 0) last_data_ = std::chrono::steady_clock::now();
    return;
  }
  if (r.header.opcode != static_cast<std::uint8_t>(ws::Opcode::kClose)) {
    on_ping_pong(d, r, frame_end);
    return;
  }

  const Side from = d.from;
  const Side to = other(from);
  // The backend answered our 1001 while the client's own close waits (on_protocol_error).
  const bool deferred = from == Side::kBackend && deferred_client_close_.has_value();
  side(from).close_received = true;
  auto parsed = ws::parse_close_payload(r.control_payload);
  note_close(parsed.info.code ? parsed.info.code : std::optional<std::uint16_t>(ws::close_code::kNoStatus),
             side_name(from));
  SideState& sink = side(to);
  if (deferred || sink.close_queued || sink.closed || sink.dead) {
    // The answer to a close the gateway sent (or the sink is gone): consume it here.
    if (d.output_closed) {
      if (d.end > frame_end) side(from).channel->on_forwarded(d.end - frame_end);
      d.end = frame_end;  // everything here is dropped anyway
    } else {
      // Control frames are held whole (writable_limit), so the frame is still in the buffer.
      std::size_t frame_bytes = r.header.header_length + static_cast<std::size_t>(r.header.payload_length);
      std::size_t frame_start = frame_end - frame_bytes;
      side(d.from).channel->on_forwarded(d.end - frame_start);
      d.end = frame_start;
      d.scanned = frame_start;
      d.boundary = frame_start;
    }
  } else {
    sink.close_queued = true;
    d.close_passed = true;
    // Nothing may follow a close frame (RFC 6455 §5.5.1).
    if (d.end > frame_end) side(from).channel->on_forwarded(d.end - frame_end);
    d.end = frame_end;
  }
  d.stopped = true;
  if (deferred) send_deferred_client_close();  // now at the boundary where the backend's close was
  start_close_timer();
}

void Relay::on_protocol_error(Direction& d, const ws::ScanResult& r) {
  const Side offender = d.from;
  std::uint16_t code = ws::close_code::kProtocolError;
  const char* reason = "protocol error";
  if (r.error == ws::ScanError::kMessageTooBig ||
      (r.error == ws::ScanError::kFrame && r.frame_error == ws::FrameError::kFrameTooLarge)) {
    code = ws::close_code::kMessageTooBig;
    reason = "message too big";
  } else if (r.error == ws::ScanError::kInvalidUtf8) {
    code = ws::close_code::kInvalidPayload;
    reason = "invalid UTF-8";
  }
  // Bytes of the offending frame already went to the other side: it is inside a
  // frame that can never end, so no close frame can reach it cleanly.
  const bool partly_sent = !d.boundary || (d.writing && d.write_end > *d.boundary);
  // Drop what was not yet written of the offending frame.
  d.stopped = true;
  d.end = d.scanned = d.boundary.value_or(d.begin);
  d.abort_when_stuck = true;
  side(offender).close_received = true;  // the connection is failed: do not wait for its close
  note_close(code, "gateway");
  const SideState& backend = side(Side::kBackend);
  if (offender == Side::kClient && !partly_sent && !backend.closed && !backend.dead &&
      !backend.close_queued) {
    deferred_client_close_.emplace(code, reason);
    queue_close(Side::kBackend, ws::close_code::kGoingAway, "peer protocol error");
    return;
  }
  queue_close(offender, code, reason);
  queue_close(other(offender), ws::close_code::kGoingAway, "peer protocol error");
  if (partly_sent) {
    // RFC 6455 §7.1.7: when a close frame cannot be sent, close the connection
    // now (not at close_timeout). The offender still gets its close if the
    // direction toward it is at a boundary; otherwise it is reset too.
    on_side_dead(other(offender));
  }
}

void Relay::on_ping_pong(Direction& d, const ws::ScanResult& r, std::size_t frame_end) {
  const Side from = d.from;
  SideState& src = side(from);
  const auto opcode = static_cast<ws::Opcode>(r.header.opcode);
  if (opcode == ws::Opcode::kPong && src.keepalive && src.keepalive->on_pong(r.control_payload)) {
    // The answer to the gateway's keep-alive PING: consumed, never forwarded.
    // The next PING is due one interval from now, earlier than the wait for
    // this one's deadline: re-arm.
    drop_control_frame(d, r, frame_end);
    house_timer_armed_ = false;
    arm_house_timer();
    return;
  }
  if (opcode == ws::Opcode::kPing && options_.answer_pings) {
    // Answer here (RFC 6455 §5.5.3: the latest PING's payload wins) instead of forwarding.
    if (!src.close_queued && !src.closed && !src.dead) {
      Direction& back = dir_from(other(from));
      std::optional<ws::MaskKey> mask;
      if (from == Side::kBackend) mask = random_mask_key();
      injected(back).pong_answer = ws::build_control_frame(ws::Opcode::kPong, r.control_payload, mask);
      do_write(back);
    }
    drop_control_frame(d, r, frame_end);
  }
  // Any other PING or PONG is forwarded like data.
}

void Relay::drop_control_frame(Direction& d, const ws::ScanResult& r, std::size_t frame_end) {
  // Control frames are held whole (writable_limit) and end at d.scanned here;
  // bytes read after it move down over it.
  std::size_t frame_bytes = r.header.header_length + static_cast<std::size_t>(r.header.payload_length);
  std::size_t frame_start = frame_end - frame_bytes;
  std::memmove(d.buffer.get() + frame_start, d.buffer.get() + frame_end, d.end - frame_end);
  d.end -= frame_bytes;
  d.scanned = frame_start;
  d.boundary = frame_start;
  side(d.from).channel->on_forwarded(frame_bytes);
}

std::size_t Relay::writable_limit(const Direction& d) const {
  if (!d.buffer) return d.begin;
  if (!d.boundary) return d.scanned;  // inside a data frame whose start was already written
  std::size_t b = *d.boundary;
  if (has_inject(d)) return b;  // stop at the boundary to inject there
  std::size_t have = d.scanned - b;
  if (have >= 2) {
    std::uint8_t b0 = d.buffer[b];
    std::uint8_t b1 = d.buffer[b + 1];
    // A data frame may be streamed once its (validated) header is complete;
    // control frames are held whole so the gateway can read or drop them.
    if (!ws::is_control(b0 & 0x0F) && have >= header_length(b0, b1)) return d.scanned;
  }
  return b;
}

void Relay::do_write(Direction& d) {
  const Side to = other(d.from);
  SideState& sink = side(to);
  if (finished_ || d.writing) return;
  if (sink.closed || sink.dead) {
    // Nobody to write to: drop what is buffered.
    d.begin = d.end = d.scanned = 0;
    d.buffer.reset();
    d.injected.reset();  // not writing (checked above): nothing of it is in flight
    return;
  }
  const bool at_boundary = d.boundary && *d.boundary == d.begin;
  if (has_inject(d) && at_boundary) {
    // PONG answer, then keep-alive frame, then a close: nothing may follow the close.
    Injected& x = *d.injected;
    x.in_flight = std::move(x.pong_answer);
    x.in_flight.insert(x.in_flight.end(), x.keepalive.begin(), x.keepalive.end());
    const bool closing = !x.inject.empty();
    x.in_flight.insert(x.in_flight.end(), x.inject.begin(), x.inject.end());
    x.pong_answer.clear();
    x.keepalive.clear();
    x.inject.clear();
    if (closing && x.inject_is_close) {
      // Nothing follows our close frame toward the sink; the source is still
      // scanned so that its own close (the answer) is seen.
      d.close_passed = true;
      d.output_closed = true;
    }
    d.writing = true;
    d.write_started = std::chrono::steady_clock::now();
    arm_stall_timer();
    sink.channel->async_write(x.in_flight, [self = shared_from_this(), &d](const ErrorCode& ec) {
      self->on_written(d, 0, true, ec);
    });
    return;
  }
  if (d.output_closed) {
    drop_scanned(d);
    return;
  }
  std::size_t limit = writable_limit(d);
  if (limit > d.begin) {
    std::size_t n = limit - d.begin;
    d.writing = true;
    d.write_end = limit;
    d.write_started = std::chrono::steady_clock::now();
    arm_stall_timer();
    sink.channel->async_write(
        {d.buffer.get() + d.begin, n},
        [self = shared_from_this(), &d, n](const ErrorCode& ec) { self->on_written(d, n, false, ec); });
    return;
  }
  if (has_close_to_inject(d) && d.abort_when_stuck && side(d.from).read_ended) {
    // The source is gone inside a frame: no boundary will come, so the sink
    // cannot get a clean close frame. Reset it instead.
    release(to, true);
  }
}

void Relay::release_if_empty(Direction& d) {
  if (d.begin != d.end || d.writing || !d.buffer) return;
  // Nothing in flight: give the buffer back so an idle WebSocket holds none.
  const bool at_boundary = d.boundary && *d.boundary == d.begin;
  d.buffer.reset();
  d.begin = d.end = d.scanned = 0;
  if (at_boundary) d.boundary = 0;
}

void Relay::drop_scanned(Direction& d) {
  if (d.scanned > d.begin) side(d.from).channel->on_forwarded(d.scanned - d.begin);
  d.begin = d.scanned;
  d.boundary.reset();
  release_if_empty(d);
}

void Relay::on_written(Direction& d, std::size_t n, bool injected, const ErrorCode& ec) {
  d.writing = false;
  d.retired.reset();
  if (finished_ || ec == boost::asio::error::operation_aborted) return;
  const Side to = other(d.from);
  if (ec) {
    on_side_dead(to);
    check_progress();
    return;
  }
  if (side(to).keepalive) side(to).keepalive->on_sent(std::chrono::steady_clock::now());
  if (injected) {
    // Frames queued while this one was being written stay for the next write.
    if (has_inject(d)) {
      d.injected->in_flight.clear();
    } else {
      d.injected.reset();
    }
  } else {
    d.begin += n;
    d.stats.bytes += n;
    if (options_.metrics != nullptr) options_.metrics->traffic(options_.route, flow_of(d.from), 0, 0, n);
    side(d.from).channel->on_forwarded(n);
    if (d.boundary && d.begin > *d.boundary) d.boundary.reset();
    release_if_empty(d);
  }
  do_write(d);
  do_read(d);
  check_progress();
}

void Relay::on_read_end(Side s) {
  SideState& ss = side(s);
  ss.read_ended = true;
  if (s == Side::kBackend) send_deferred_client_close();
  Direction& d = dir_from(s);
  if (!ss.close_received) {
    // The peer vanished without a close frame (RFC 6455 §7.1.5: 1006 locally).
    note_close(ws::close_code::kAbnormal, side_name(s));
    ss.dead = true;
    if (s == Side::kBackend) {
      queue_close(Side::kClient, options_.backend_failure_code, "backend went away");
    } else {
      queue_close(Side::kBackend, ws::close_code::kGoingAway, "client went away");
    }
    release(s, false);
    source_gone(d);
  }
  do_write(d);
  check_progress();
}

void Relay::on_side_dead(Side s) {
  if (s == Side::kBackend) send_deferred_client_close();
  SideState& ss = side(s);
  ss.dead = true;
  ss.read_ended = true;
  release(s, true);
  if (!ss.close_received) {
    if (s == Side::kBackend) {
      queue_close(Side::kClient, options_.backend_failure_code, "backend went away");
    } else {
      queue_close(Side::kBackend, ws::close_code::kGoingAway, "client went away");
    }
  }
  source_gone(dir_from(s));
}

void Relay::source_gone(Direction& d) {
  // No more input from d.from: the frame it was sending will never complete.
  d.abort_when_stuck = true;
  const Side sink = other(d.from);
  if (side(sink).closed || d.scanner.at_frame_boundary() || d.stopped) return;
  const bool partly_sent =
      !d.boundary || (d.writing && d.write_end > *d.boundary);  // bytes of the unfinished frame went out
  if (partly_sent) {
    // The sink is inside a frame that cannot end: a close frame can never
    // reach it cleanly, whether or not it is reading. Reset it now.
    release(sink, true);
    return;
  }
  // The unfinished frame is still all here: drop it; the close goes at the boundary.
  d.end = d.scanned = *d.boundary;
}

void Relay::queue_close(Side toward, std::uint16_t code, std::string_view reason) {
  SideState& ts = side(toward);
  if (ts.close_queued || ts.closed || ts.dead) return;
  ts.close_queued = true;
  Direction& d = dir_from(other(toward));
  std::optional<ws::MaskKey> mask;
  if (toward == Side::kBackend) mask = random_mask_key();  // we are the backend's client (RFC 6455 §5.1)
  Injected& x = injected(d);
  x.inject = ws::build_close_frame(code, reason, mask);
  x.inject_is_close = true;
  note_close(code, "gateway");
  start_close_timer();
  do_write(d);
}

void Relay::send_deferred_client_close() {
  if (!deferred_client_close_) return;
  auto [code, reason] = std::move(*deferred_client_close_);
  deferred_client_close_.reset();
  queue_close(Side::kClient, code, reason);
}

void Relay::start_close_timer() {
  if (close_timer_started_ || finished_) return;
  close_timer_started_ = true;
  auto& timer = close_timer_.get(executor_);
  timer.expires_after(options_.close_timeout);
  house_timer_.cancel();  // closing: keep-alive and idle no longer apply
  timer.async_wait([self = shared_from_this()](const ErrorCode& ec) {
    if (ec || self->finished_) return;
    // A peer did not finish the close handshake in time.
    if (!self->result_.timeout) self->result_.timeout = StreamTimeout::kClose;
    self->release(Side::kClient, true);
    self->release(Side::kBackend, true);
    self->finish();
  });
}

void Relay::arm_stall_timer() {
  if (stall_timer_armed_ || finished_ || options_.write_stall_timeout.count() == 0) return;
  stall_timer_armed_ = true;
  auto& timer = stall_timer_.get(executor_);
  timer.expires_after(options_.write_stall_timeout);
  timer.async_wait([self = shared_from_this()](const ErrorCode& ec) {
    self->stall_timer_armed_ = false;
    if (ec || self->finished_) return;
    self->on_stall_check();
  });
}

void Relay::on_stall_check() {
  // A write pending since before the last period: the sink took nothing for a
  // whole write_stall_timeout (a client that stopped reading, or an HTTP/2
  // stream whose window stays at zero). Drop that side; the other gets a close.
  const auto now = std::chrono::steady_clock::now();
  bool pending = false;
  for (auto& d : dirs_) {
    if (!d.writing) continue;
    if (now - d.write_started >= options_.write_stall_timeout) {
      if (!result_.timeout) result_.timeout = StreamTimeout::kWriteStall;
      on_side_dead(other(d.from));
    } else {
      pending = true;
    }
  }
  check_progress();
  if (pending) arm_stall_timer();
}

void Relay::check_progress() {
  if (finished_) return;
  auto close_written_to = [this](Side s) {
    const Direction& d = dir_from(other(s));
    return d.close_passed && !d.writing && d.begin == d.end && !has_close_to_inject(d);
  };
  SideState& client = side(Side::kClient);
  if (!client.closed) {
    if (client.read_ended && (close_written_to(Side::kClient) || side(Side::kBackend).closed)) {
      release(Side::kClient, false);
    } else if (close_written_to(Side::kClient) && client.close_received && !client.write_shut) {
      // RFC 6455 §7.1.1: the server closes the TCP connection first; wait for
      // the client's FIN (bounded by the close timer).
      client.write_shut = true;
      client.channel->shutdown_write();
    }
  }
  SideState& backend = side(Side::kBackend);
  if (!backend.closed) {
    if (backend.read_ended) {
      release(Side::kBackend, false);
    } else if (side(Side::kClient).closed && !close_written_to(Side::kBackend) && !backend.close_queued) {
      queue_close(Side::kBackend, ws::close_code::kGoingAway, "client went away");
    }
  }
  if (client.closed && side(Side::kBackend).closed) finish();
}

void Relay::release(Side s, bool abort) {
  SideState& ss = side(s);
  if (ss.closed) return;
  ss.closed = true;
  if (abort) {
    ss.channel->abort();
  } else {
    ss.channel->close();
  }
  Direction& d = dir_from(s);
  if (!d.writing) {
    d.buffer.reset();
    d.begin = d.end = d.scanned = 0;
  }
  // The direction flowing into `s` may be paused on a full buffer: drop what it
  // holds (its sink is gone) and read on, so the other side's close or EOF is seen.
  if (!finished_) {
    Direction& into = dir_from(other(s));
    do_write(into);
    do_read(into);
  }
}

void Relay::finish() {
  if (finished_) return;
  finished_ = true;
  close_timer_.cancel();
  stall_timer_.cancel();
  house_timer_.cancel();
  release(Side::kClient, false);
  release(Side::kBackend, false);
  result_.client_to_backend = dir_from(Side::kClient).stats;
  result_.backend_to_client = dir_from(Side::kBackend).stats;
  result_.duration = std::chrono::steady_clock::now() - started_at_;
  if (on_done_) {
    auto done = std::move(on_done_);
    done(result_);
  }
}

void Relay::arm_house_timer() {
  if (house_timer_armed_ || finished_ || close_timer_started_) return;
  using Clock = std::chrono::steady_clock;
  auto next = Clock::time_point::max();
  for (const SideState& ss : sides_) {
    if (ss.keepalive && !ss.closed && !ss.dead) next = std::min(next, ss.keepalive->next_deadline());
  }
  if (options_.idle_timeout.count() != 0) next = std::min(next, last_data_ + options_.idle_timeout);
  if (next == Clock::time_point::max()) return;
  // Traffic only moves deadlines later, so one wait re-checked when it fires is
  // enough: no timer work per message. (A matching PONG re-arms: see on_ping_pong.)
  house_timer_armed_ = true;
  const std::uint64_t generation = ++house_timer_generation_;
  auto& timer = house_timer_.get(executor_);
  timer.expires_at(next);
  timer.async_wait([self = shared_from_this(), generation](const ErrorCode& ec) {
    if (generation != self->house_timer_generation_) return;  // replaced by a newer wait
    self->house_timer_armed_ = false;
    if (ec || self->finished_) return;
    self->on_house_timer();
  });
}

void Relay::on_house_timer() {
  if (close_timer_started_) return;
  const auto now = std::chrono::steady_clock::now();
  for (Side s : {Side::kClient, Side::kBackend}) {
    SideState& ss = side(s);
    if (!ss.keepalive || ss.closed || ss.dead || ss.close_queued) continue;
    switch (ss.keepalive->poll(now)) {
      case ws::KeepaliveScheduler::Action::kNone:
        break;
      case ws::KeepaliveScheduler::Action::kSendPing:
        send_keepalive(s, ws::Opcode::kPing, ss.keepalive->ping_payload());
        break;
      case ws::KeepaliveScheduler::Action::kSendPong:
        send_keepalive(s, ws::Opcode::kPong, {});  // unsolicited heartbeat (RFC 6455 §5.5.3)
        break;
      case ws::KeepaliveScheduler::Action::kDead:
        keepalive_dead(s);
        check_progress();
        return;
    }
  }
  if (options_.idle_timeout.count() != 0 && now - last_data_ >= options_.idle_timeout) {
    result_.timeout = StreamTimeout::kIdle;
    queue_close(Side::kBackend, ws::close_code::kGoingAway, "idle timeout");
    queue_close(Side::kClient, ws::close_code::kGoingAway, "idle timeout");
    check_progress();
    return;
  }
  arm_house_timer();
}

void Relay::send_keepalive(Side toward, ws::Opcode opcode, std::span<const std::uint8_t> payload) {
  std::optional<ws::MaskKey> mask;
  if (toward == Side::kBackend) mask = random_mask_key();
  Direction& d = dir_from(other(toward));
  injected(d).keepalive = ws::build_control_frame(opcode, payload, mask);
  do_write(d);
}

void Relay::keepalive_dead(Side s) {
  // No PONG within the timeout: the peer (or the path to it) is dead. The other
  // side hears 1011; the dead side is reset, as nothing more can reach it.
  result_.timeout = s == Side::kClient ? StreamTimeout::kClientKeepalive : StreamTimeout::kBackendKeepalive;
  queue_close(other(s), ws::close_code::kInternalError, "keepalive timeout");
  on_side_dead(s);
}

void Relay::note_close(std::optional<std::uint16_t> code, const char* initiator) {
  if (result_.close_initiator != "none") return;
  result_.close_initiator = initiator;
  result_.close_code = code;
}

}  // namespace wsgate::gw
