// DeflateChannel: permessage-deflate termination (RFC 7692) as a Channel decorator on
// the client side, so the relay and the backend only ever see uncompressed frames.
//
//   read side  (client -> relay): raw client frames are parsed, compressed messages are
//              inflated lazily into bounded output and re-framed as masked frames without
//              RSV1 (RFC 6455 §5.4 lets the extension endpoint refragment); other frames
//              pass unchanged. Errors become a frame the relay's scanner rejects with the
//              right close code (1009 for a bomb, 1002 otherwise).
//   write side (relay -> client): the relay's unmasked server frames, in any byte split,
//              are parsed; data messages are deflated (RSV1 on the first frame), control
//              frames pass unchanged; the relay's handler runs once the result is written.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "gateway/channel.hpp"
#include "ws/frame.hpp"
#include "ws/permessage_deflate.hpp"

namespace wsgate::gw {

struct DeflateChannelOptions {
  ws::DeflateParams params;                  // as negotiated with the client
  std::uint64_t max_message_bytes = 0;       // inflated size limit per client message; the relay's
                                             // client-side max_message_bytes must be the same value
  std::uint64_t min_message_bytes = 0;       // smaller server messages are sent uncompressed
  int level = -1;                            // zlib level (-1: default 6)
  int mem_level = 8;                         // zlib memLevel of the compressor
  ws::FrameParserOptions client_frames;      // the relay's rules for client frames (RSV1 is added)
  std::size_t chunk_bytes = 16 * 1024;       // read size, and the largest frame made from inflated data
};

class DeflateChannel final : public Channel, public std::enable_shared_from_this<DeflateChannel> {
 public:
  // `pending`: raw client bytes already read after the handshake (h1 pipelining).
  DeflateChannel(boost::asio::any_io_executor executor, std::shared_ptr<Channel> inner,
                 DeflateChannelOptions options, std::vector<std::uint8_t> pending = {});

  void async_wait_readable(Handler handler) override;
  std::size_t read_some(std::span<std::uint8_t> buffer, ErrorCode& ec) override;
  void async_write(std::span<const std::uint8_t> data, Handler handler) override;
  void shutdown_write() override { inner_->shutdown_write(); }
  void close() override { inner_->close(); }
  void abort() override { inner_->abort(); }
  void on_forwarded(std::size_t bytes) override;
  std::string remote_address() const override { return inner_->remote_address(); }

  // Totals for metrics: compressed bytes on the client's wire and the uncompressed
  // bytes they stand for, per direction.
  struct Totals {
    std::uint64_t client_wire_in = 0;     // raw bytes read from the client
    std::uint64_t client_plain_in = 0;    // bytes handed to the relay
    std::uint64_t client_plain_out = 0;   // bytes the relay wrote toward the client
    std::uint64_t client_wire_out = 0;    // bytes written to the client
  };
  const Totals& totals() const { return totals_; }

 private:
  // ---- read side ----
  void on_inner_readable(Handler handler, const ErrorCode& ec);
  bool fill_raw();                        // non-blocking read of the inner channel; false: nothing now
  void produce();                         // turns raw bytes into output while room is left
  bool produce_step();                    // one unit of work; false when blocked
  void on_header(const ws::FrameHeader& h);
  void on_payload(const ws::FrameEvent& ev);
  void on_frame_end(const ws::FrameHeader& h);
  bool inflate_pending();                 // inflates pending_payload_ / the message tail
  void emit_inflated(bool fin);
  void poison(std::uint64_t too_big_by);  // 0: protocol error (1002); else a header the relay rejects as 1009
  void credit_raw();                      // raw bytes fully processed: release them when output is forwarded
  std::size_t output_size() const { return out_.size() - out_begin_; }
  bool has_output() const { return output_size() != 0; }

  // ---- write side ----
  bool transform_outgoing(std::span<const std::uint8_t> data);
  void emit_compressed(bool fin);

  boost::asio::any_io_executor executor_;
  std::shared_ptr<Channel> inner_;
  DeflateChannelOptions options_;
  Totals totals_;

  // Read side.
  ws::FrameParser in_parser_;
  std::vector<std::uint8_t> raw_;               // raw client bytes; allocated only while some are pending
  std::size_t raw_parsed_ = 0;                  // raw_[0, raw_parsed_) went through the parser
  std::span<std::uint8_t> pending_payload_;     // unmasked compressed bytes in raw_ not yet inflated
  bool finishing_ = false;                      // the compressed message's last frame ended: inflate the tail
  bool in_compressed_ = false;                  // the open data message is compressed
  bool message_open_ = false;                   // a data message is open (for RSV1 rules)
  std::uint8_t message_opcode_ = 0;             // opcode of the open compressed message
  bool first_emitted_ = false;                  // a frame of the open compressed message went to the relay
  std::uint64_t emitted_in_message_ = 0;        // inflated bytes of the open message handed on
  bool passthrough_frame_ = false;              // the current frame is copied as it is
  std::optional<ws::Inflater> inflater_;
  std::vector<std::uint8_t> inflated_;          // inflated bytes not yet framed (< chunk_bytes)
  std::vector<std::uint8_t> out_;               // frames for the relay
  std::size_t out_begin_ = 0;
  bool poisoned_ = false;                       // input is read and dropped from now on
  ErrorCode read_end_;                          // EOF/error of the inner channel, reported after the output
  // Flow control: raw bytes are reported to the inner channel once the output made from
  // them was forwarded by the relay. Each mark: (output total, raw total up to which it came).
  std::uint64_t raw_processed_ = 0;
  std::uint64_t raw_reported_ = 0;
  std::uint64_t out_produced_ = 0;
  std::uint64_t out_forwarded_ = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> marks_;  // few: one per produce round in flight
                                                                // (a vector: an empty deque allocates)

  // Write side.
  ws::FrameParser out_parser_;
  ws::Deflater deflater_;
  bool out_compressing_ = false;                // the open server message is being compressed
  bool out_first_sent_ = false;                 // its first (RSV1) frame went out
  std::uint8_t out_opcode_ = 0;
  std::vector<std::uint8_t> compressed_;        // deflate output not yet framed
  std::vector<std::uint8_t> wbuf_;              // transformed bytes being written to the client
};

// The client Channel the relay should use: wrapped in a DeflateChannel when compression
// is terminated for this stream (which then takes the client bytes already read from
// `pending`), as is otherwise.
std::shared_ptr<Channel> terminate_compression(boost::asio::any_io_executor executor, std::shared_ptr<Channel> client,
                                               const std::optional<DeflateChannelOptions>& options,
                                               std::vector<std::uint8_t>& pending);

}  // namespace wsgate::gw
