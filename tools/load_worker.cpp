// One load-generator thread (see load_worker.hpp).
#include "tools/load_worker.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <cmath>
#include <iostream>

namespace wsgate::tools {

namespace asio = boost::asio;

namespace {

// Errors printed per thread; the rest are only counted.
constexpr unsigned kMaxLoggedErrors = 10;
// Open loop: the schedule timer never sleeps less than this, sends that came due meanwhile go
// out together (their latency still counts from their own intended time).
constexpr std::chrono::microseconds kMinTickInterval{20};

std::chrono::nanoseconds seconds_to_ns(double seconds) {
  return std::chrono::nanoseconds(static_cast<std::int64_t>(seconds * 1e9));
}

}  // namespace

void LoadStats::merge(const LoadStats& other) {
  latency.merge(other.latency);
  handshake.merge(other.handshake);
  messages += other.messages;
  handshakes += other.handshakes;
  established += other.established;
  errors += other.errors;
  establish_seconds = std::max(establish_seconds, other.establish_seconds);
}

void EchoStream::reset_for_reopen() {
  h2_stream_id = -1;
  next_send_seq = 0;
  next_recv_seq = 0;
  open = false;
  close_sent = false;
  close_received = false;
  parser = ws::FrameParser(ws::FrameParserOptions{.sender = ws::Sender::kServer});
}

LoadWorker::LoadWorker(const LoadOptions& options, asio::ip::tcp::endpoint target, unsigned first_connection,
                       unsigned connection_count, unsigned total_streams)
    : options_(options), target_(std::move(target)), pattern_(options.size_bytes, options.binary) {
  if (options_.mode == LoadMode::kH2) {
    tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    tls_->set_verify_mode(asio::ssl::verify_none);  // a benchmark talks to self-signed test certificates
    static constexpr unsigned char kAlpnH2[] = {2, 'h', '2'};
    SSL_CTX_set_alpn_protos(tls_->native_handle(), kAlpnH2, sizeof kAlpnH2);
  }
  const unsigned streams_per_connection = options_.mode == LoadMode::kH1 ? 1 : options_.streams;
  for (unsigned i = 0; i < connection_count; ++i) {
    const auto first_number = static_cast<std::uint32_t>((first_connection + i) * streams_per_connection);
    connections_.push_back(options_.mode == LoadMode::kH1 ? make_h1_connection(*this, first_number)
                                                           : make_h2_connection(*this, first_number));
    for (EchoStream& stream : connections_.back()->streams()) {
      stream.slot = static_cast<std::uint32_t>(slots_.size());
      slots_.push_back(&stream);
    }
  }
  total_streams_ = slots_.size();
  if (options_.rate_per_second > 0) {
    // This worker's share of the total rate, in proportion to its streams.
    const double rate = options_.rate_per_second * static_cast<double>(total_streams_) / total_streams;
    interval_ns_ = 1e9 / rate;
  }
}

LoadWorker::~LoadWorker() = default;

LoadStats LoadWorker::run() {
  started_at_ = LoadClock::now();
  bound_timer_.expires_after(seconds_to_ns(options_.max_seconds));
  bound_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    error("time bound (--max-seconds) hit before the run finished");
    finish();
  });
  // Churn and idle measure from the start: their connects are what is measured.
  if (options_.kind != LoadKind::kEcho) begin_run(started_at_);
  start_next_connections();
  io_.run();
  return stats_;
}

void LoadWorker::start_next_connections() {
  while (!stopping_ && connecting_ < options_.connect_concurrency && next_to_start_ < connections_.size()) {
    ++connecting_;
    connections_[next_to_start_++]->start();
  }
}

void LoadWorker::on_established(LoadConnection& connection, EchoStream& stream, LoadClock::time_point now) {
  stream.open = true;
  if (running_ && in_window(now)) {
    ++stats_.handshakes;
    stats_.handshake.record(static_cast<std::uint64_t>((now - stream.opened_at).count()));
  }
  if (!connection.connect_settled) {
    connection.connect_settled = true;
    --connecting_;
    start_next_connections();
  }
  if (settled_streams_ < total_streams_) {
    ++stats_.established;
    if (++settled_streams_ == total_streams_) on_settled();
  }
  if (stopping_) return;
  switch (options_.kind) {
    case LoadKind::kIdle:
      return;
    case LoadKind::kChurn:
      connection.send_message(stream);
      return;
    case LoadKind::kEcho:
      if (!running_) return;  // the first message goes out when the clock starts
      if (options_.rate_per_second > 0) {
        catch_up(connection);
      } else {
        connection.send_message(stream);
      }
      return;
  }
}

void LoadWorker::on_connection_failed(LoadConnection& connection) {
  if (!connection.connect_settled) {
    connection.connect_settled = true;
    --connecting_;
  }
  if (settled_streams_ < total_streams_) {
    for (EchoStream& stream : connection.streams()) {
      if (!stream.open && settled_streams_ < total_streams_ && ++settled_streams_ == total_streams_) on_settled();
    }
  }
  for (EchoStream& stream : connection.streams()) stream.open = false;
  start_next_connections();
}

void LoadWorker::on_settled() {
  const LoadClock::time_point now = LoadClock::now();
  if (options_.kind == LoadKind::kIdle) {
    stats_.establish_seconds = std::chrono::duration<double>(now - started_at_).count();
    // Always on stderr (even with --json): bench/run.sh waits for this line to sample the proxy's RSS.
    std::cerr << "wsgate-load: established " << stats_.established << " of " << total_streams_ << " in "
              << stats_.establish_seconds << " s; holding" << std::endl;
    window_end_ = now + seconds_to_ns(options_.duration_seconds);
    end_timer_.expires_at(window_end_);
    end_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) finish();
    });
    return;
  }
  if (options_.kind == LoadKind::kEcho) begin_run(now);
}

void LoadWorker::begin_run(LoadClock::time_point now) {
  running_ = true;
  run_start_ = now;
  window_start_ = now + seconds_to_ns(options_.warmup_seconds);
  window_end_ = window_start_ + seconds_to_ns(options_.duration_seconds);
  if (options_.kind == LoadKind::kIdle) {
    window_start_ = now;  // every opening handshake counts
    window_end_ = LoadClock::time_point::max();  // set when every WebSocket is open
    return;
  }
  end_timer_.expires_at(window_end_);
  end_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) finish();
  });
  if (options_.kind != LoadKind::kEcho) return;
  if (options_.rate_per_second > 0) {
    schedule_tick();
    return;
  }
  for (auto& connection : connections_) {
    for (EchoStream& stream : connection->streams()) {
      if (stream.open) connection->send_message(stream);
    }
  }
}

std::uint64_t LoadWorker::due_messages(const EchoStream& stream) const {
  // Schedule entry n belongs to slot n % S as its (n / S)-th message.
  if (issued_ <= stream.slot) return 0;
  return (issued_ - stream.slot - 1) / total_streams_ + 1;
}

LoadClock::time_point LoadWorker::intended_send_time(const EchoStream& stream, std::uint64_t seq) const {
  const double entry = static_cast<double>(seq * total_streams_ + stream.slot);
  return run_start_ + std::chrono::nanoseconds(static_cast<std::int64_t>(entry * interval_ns_));
}

void LoadWorker::schedule_tick() {
  const auto next = run_start_ + std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(issued_) * interval_ns_));
  tick_timer_.expires_at(std::max(next, LoadClock::now() + kMinTickInterval));
  tick_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) on_tick();
  });
}

void LoadWorker::on_tick() {
  if (stopping_) return;
  const double elapsed_ns = static_cast<double>((LoadClock::now() - run_start_).count());
  const auto due_total = static_cast<std::uint64_t>(elapsed_ns / interval_ns_) + 1;
  for (; issued_ < due_total; ++issued_) {
    EchoStream& stream = *slots_[issued_ % total_streams_];
    if (!stream.open) continue;
    // A full send buffer leaves the message owed; catch_up() sends it when writes drain.
    const std::uint64_t seq = issued_ / total_streams_;
    while (stream.next_send_seq <= seq && stream.owner->send_message(stream)) {
    }
  }
  schedule_tick();
}

void LoadWorker::catch_up(LoadConnection& connection) {
  if (stopping_ || !running_ || options_.rate_per_second <= 0) return;
  for (EchoStream& stream : connection.streams()) {
    if (!stream.open) continue;
    const std::uint64_t due = due_messages(stream);
    while (stream.next_send_seq < due) {
      if (!connection.send_message(stream)) return;
    }
  }
  connection.flush();
}

bool LoadWorker::receive(LoadConnection& connection, EchoStream& stream, std::span<const std::uint8_t> bytes,
                         LoadClock::time_point now) {
  const std::size_t size = pattern_.size_bytes();
  for (;;) {
    const ws::FrameEvent event = stream.parser.next(bytes);
    bytes = bytes.subspan(event.consumed);
    const std::uint8_t opcode = event.header.opcode;
    switch (event.kind) {
      case ws::FrameEvent::kNeedMore:
        return true;
      case ws::FrameEvent::kError:
        error(std::string("bad frame from the server: ") + std::string(ws::to_string(event.error)));
        return false;
      case ws::FrameEvent::kHeader:
        if (ws::is_control(opcode)) break;  // close is handled at its end; ping/pong are ignored
        if (opcode != pattern_.opcode() || !event.header.fin || event.header.payload_length != size) {
          error("echo frame differs from the message sent (opcode, fragmentation or length)");
          return false;
        }
        if (stream.next_recv_seq >= stream.next_send_seq) {
          error("a message arrived that was never sent");
          return false;
        }
        break;
      case ws::FrameEvent::kPayload:
        if (ws::is_control(opcode)) break;
        if (!pattern_.matches(stream.next_recv_seq, stream.number, event.payload_offset, event.payload)) {
          error("echo payload differs from the message sent");
          return false;
        }
        break;
      case ws::FrameEvent::kFrameEnd: {
        if (opcode == static_cast<std::uint8_t>(ws::Opcode::kClose)) {
          stream.close_received = true;
          if (!stream.close_sent) {
            if (!stopping_) error("the server closed a WebSocket during the run");
            return false;
          }
          connection.on_close_handshake_done(stream);
          break;
        }
        if (ws::is_control(opcode)) break;
        const std::uint64_t seq = stream.next_recv_seq++;
        const LoadClock::time_point sent =
            options_.rate_per_second > 0 ? intended_send_time(stream, seq) : stream.sent_at;
        if (running_ && in_window(now)) {
          ++stats_.messages;
          stats_.latency.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, (now - sent).count())));
        }
        if (stopping_) break;
        if (options_.kind == LoadKind::kChurn) {
          connection.send_close(stream);
        } else if (options_.kind == LoadKind::kEcho && options_.rate_per_second <= 0) {
          connection.send_message(stream);
        }
        break;
      }
    }
  }
}

void LoadWorker::error(std::string_view what) {
  if (stopping_) return;
  ++stats_.errors;
  if (errors_logged_ < kMaxLoggedErrors) {
    ++errors_logged_;
    std::cerr << "wsgate-load: error: " << what << "\n";
  }
}

void LoadWorker::finish() {
  if (stopping_) return;
  stopping_ = true;
  if (options_.kind == LoadKind::kIdle) {
    std::uint64_t open = 0;
    for (EchoStream* stream : slots_) open += stream->open ? 1 : 0;
    stats_.established = open;
  }
  end_timer_.cancel();
  bound_timer_.cancel();
  tick_timer_.cancel();
  for (auto& connection : connections_) connection->stop();
  io_.stop();
}

}  // namespace wsgate::tools
