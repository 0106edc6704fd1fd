// Downstream HTTP/1.1 session: one client connection = one WebSocket.
// Reads the request head (bounded size and time), answers errors (400, 403,
// 404, 426, 431, 502, 503, 504) before any upgrade, opens the upstream
// handshake, answers 101 and hands both connections to a Relay.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <vector>

#include "gateway/listener.hpp"
#include "gateway/observer.hpp"
#include "gateway/proxy_handshake.hpp"
#include "gateway/relay.hpp"
#include "gateway/route_slots.hpp"
#include "gateway/transport.hpp"
#include "gateway/upstream.hpp"
#include "gateway/worker.hpp"
#include "h1/head_parser.hpp"

namespace wsgate::gw {

class H1Session final : public Session, public std::enable_shared_from_this<H1Session> {
 public:
  H1Session(Worker& worker, ListenerRuntime& listener, std::shared_ptr<Transport> client);
  ~H1Session() override;

  void start();
  void go_away() override;
  void abort() override;

 private:
  void read_head();
  void hand_off_to_h2(std::vector<std::uint8_t> initial);
  void on_head();
  void answer(int status, std::string_view body, const h1::Headers& extra = {});
  void answer_static();
  void linger_then_close();
  void drain_input();
  void on_upstream(UpstreamOutcome outcome);
  void start_relay(UpstreamOutcome outcome);
  void finish();
  void count_connection();

  Worker& worker_;
  ListenerRuntime& listener_;
  std::shared_ptr<const Config> config_;  // the snapshot this connection started with
  std::shared_ptr<Transport> client_;
  std::uint64_t session_id_ = 0;
  boost::asio::steady_timer timer_;
  h1::RequestHeadParser parser_;
  std::vector<std::uint8_t> read_buffer_;
  std::vector<std::uint8_t> client_pending_;  // bytes after the head, held until the relay starts
  h1::RequestHead request_;
  ClientRequest client_request_;  // the protocol-neutral view used for the upstream
  const RouteConfig* route_ = nullptr;
  std::shared_ptr<UpstreamHandshake> upstream_;
  std::shared_ptr<Relay> relay_;
  RouteSlot slot_;  // held from the handshake until the WebSocket ends (max_websockets)
  std::string response_bytes_;
  bool finished_ = false;
  StreamObserver observer_;  // metrics and access log of this WebSocket attempt
  bool counted_ = false;     // counted as an open h1 connection
  bool upgraded_ = false;
  bool handed_off_ = false;            // the connection went to an H2Session
  bool sniffing_h2c_ = false;          // cleartext h2c listener: looking for the HTTP/2 preface
  std::vector<std::uint8_t> sniffed_;  // bytes read while sniffing
  bool closing_ = false;
};

}  // namespace wsgate::gw
