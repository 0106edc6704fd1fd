// Downstream HTTP/2 session (RFC 9113 + RFC 8441): one client connection, many
// WebSocket streams. Each extended CONNECT is checked and routed like an
// HTTP/1.1 handshake; its backend is opened with an HTTP/1.1 Upgrade; the
// stream then becomes a Channel joined to the backend by a Relay. Flow control
// follows ARCHITECTURE.md: a stream's window reopens only after its bytes were
// written to the backend, and the connection window is credited on receipt.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "gateway/buffer_pool.hpp"
#include "gateway/listener.hpp"
#include "gateway/observer.hpp"
#include "gateway/proxy_handshake.hpp"
#include "gateway/relay.hpp"
#include "gateway/route_slots.hpp"
#include "gateway/transport.hpp"
#include "gateway/upstream.hpp"
#include "gateway/worker.hpp"
#include "h2/server_session.hpp"

namespace wsgate::gw {

class H2StreamChannel;

class H2Session final : public Session, public std::enable_shared_from_this<H2Session> {
 public:
  // `initial` holds bytes already read from the client (the connection preface
  // seen by the protocol sniffer on a cleartext listener).
  H2Session(Worker& worker, ListenerRuntime& listener, std::shared_ptr<Transport> client,
            std::vector<std::uint8_t> initial);
  ~H2Session() override;

  void start();
  void go_away() override;
  void abort() override;
  const ListenerRuntime* listener() const override { return &listener_; }
  void retire_backends(std::uint64_t generation, const std::vector<std::string>& backends) override;

  // For stream channels (same worker thread).
  h2::ServerSession& h2() { return *h2_; }
  // RST_STREAM sent by the gateway (counted; the close event will not count it again).
  void reset_stream(std::int32_t stream_id, h2::ErrorCode code);
  void schedule_flush();
  // While receive() delivers DATA, stream readers woken by it run right after it returns (one
  // pass, no post per stream); false elsewhere, where a wake is posted.
  bool delivering() const { return delivering_; }
  void defer_wake(std::shared_ptr<H2StreamChannel> channel) { woken_.push_back(std::move(channel)); }
  // A stream write completed: its handler runs from one posted pass over every stream's
  // completions of this turn (not one post each).
  void complete_write(Channel::Handler handler);

 private:
  struct StreamState {
    std::shared_ptr<const Snapshot> snapshot;       // the worker's newest when the stream was opened
    const RouteConfig* route = nullptr;             // from snapshot->config
    std::unique_ptr<ClientRequest> client_request;  // until the backend has answered
    std::shared_ptr<H2StreamChannel> channel;
    std::shared_ptr<UpstreamHandshake> upstream;
    std::shared_ptr<Relay> relay;
    bool h2_closed = false;  // nghttp2 reported the stream closed
    bool relay_done = false;
    std::unique_ptr<StreamObserver> observer;  // metrics and access log of this WebSocket
    RouteSlot slot;                            // routes[].max_websockets, held until the WebSocket ends
  };

  void read_more();
  void run_woken_readers();
  void on_request(std::int32_t stream_id, h2::RequestHeaders&& request);
  void answer(std::int32_t stream_id, int status, std::string_view body,
              std::vector<h2::Header> headers = {});
  void answer_static(std::int32_t stream_id, const RouteConfig& route, const h2::RequestHeaders& request);
  void pump_static(std::int32_t stream_id);
  void on_upstream(std::int32_t stream_id, UpstreamOutcome outcome);
  void on_stream_close(std::int32_t stream_id, h2::ErrorCode code);
  void maybe_erase(std::int32_t stream_id);
  void flush();
  void connection_lost();
  void finish();

  Worker& worker_;
  ListenerRuntime& listener_;
  std::shared_ptr<const Config> config_;
  std::shared_ptr<Transport> client_;
  std::unique_ptr<h2::ServerSession> h2_;
  std::uint64_t session_id_ = 0;
  std::vector<std::uint8_t> read_buffer_;
  std::vector<std::uint8_t> initial_;
  std::vector<std::uint8_t> out_;  // frames being written to the client
  std::unordered_map<std::int32_t, StreamState> streams_;
  std::unordered_map<std::int32_t, std::string> bodies_;  // error-answer bodies being sent
  // Static-file bodies not yet queued: send_data() takes at most max_outgoing_bytes_per_stream at a
  // time, the rest follows from on_data_sent.
  struct StaticBody {
    std::string bytes;
    std::size_t queued = 0;  // bytes handed to send_data() so far
  };
  std::unordered_map<std::int32_t, StaticBody> static_bodies_;
  std::string client_ip_;
  std::uint64_t streams_seen_ = 0;  // requests on this connection (metrics)
  std::unordered_map<std::int32_t, bool> reset_by_us_;
  bool writing_ = false;
  bool flush_posted_ = false;
  bool delivering_ = false;                                // inside h2_->receive() from read_more()
  std::vector<std::shared_ptr<H2StreamChannel>> woken_;    // readers to run once receive() returns
  std::vector<std::shared_ptr<H2StreamChannel>> running_;  // the batch being run (capacity reused)
  std::vector<Channel::Handler> completed_writes_;         // write handlers to run in the posted pass
  std::vector<Channel::Handler> running_writes_;           // the pass being run (capacity reused)
  bool completions_posted_ = false;
  bool read_ended_ = false;
  bool client_closed_ = false;
  std::shared_ptr<H2Session> keep_alive_;  // set while relays finish after the connection was lost
  bool going_away_ = false;
  bool finished_ = false;
};

// One HTTP/2 stream as a relay Channel. Received DATA is queued here (bounded
// by the stream's window, which reopens only through on_forwarded); writes go
// into the session's bounded per-stream queue.
class H2StreamChannel final : public Channel, public std::enable_shared_from_this<H2StreamChannel> {
 public:
  H2StreamChannel(std::weak_ptr<H2Session> session, std::int32_t stream_id,
                  boost::asio::any_io_executor executor, std::string remote);

  // From the session.
  void on_data(std::span<const std::uint8_t> bytes);
  void on_end();                       // END_STREAM from the client
  void on_closed(h2::ErrorCode code);  // the stream is gone
  void on_space();                     // outgoing queue drained some bytes
  void run_read_waiter();              // a deferred wake (H2Session::defer_wake) runs the reader now

  // Channel
  void async_wait_readable(Handler handler) override;
  std::size_t read_some(std::span<std::uint8_t> buffer, ErrorCode& ec) override;
  void async_write(std::span<const std::uint8_t> data, Handler handler) override;
  void shutdown_write() override;
  void close() override;
  void abort() override;
  void on_forwarded(std::size_t bytes) override;
  std::string remote_address() const override { return remote_; }

 private:
  void wake_reader();
  void push_writes();
  void fail_waiters();

  std::weak_ptr<H2Session> session_;
  std::int32_t stream_id_;
  boost::asio::any_io_executor executor_;
  std::string remote_;
  PooledBuffer rx_;  // received, not yet read: [rx_begin_, rx_end_); none while empty
  std::size_t rx_begin_ = 0;
  std::size_t rx_end_ = 0;
  bool rx_ended_ = false;
  bool closed_ = false;  // the h2 stream is gone
  h2::ErrorCode close_code_ = h2::ErrorCode::kNoError;
  Handler read_waiter_;
  bool wake_deferred_ = false;  // queued in the session's woken_ list
  std::span<const std::uint8_t> write_data_;
  std::size_t write_done_ = 0;
  Handler write_handler_;
  bool write_ended_ = false;
};

}  // namespace wsgate::gw
