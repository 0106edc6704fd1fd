// Upstream opening handshake over HTTP/1.1 (RFC 6455 §4.1 as the client):
// pick endpoints, connect (with retries on other endpoints), optional TLS,
// send the Upgrade request, read and validate the backend's answer.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/backend.hpp"
#include "gateway/metrics.hpp"
#include "gateway/transport.hpp"
#include "h1/head_parser.hpp"
#include "h1/message.hpp"

namespace wsgate::gw {

struct UpstreamOutcome {
  enum Kind {
    kUpgraded,       // 101 with a valid Sec-WebSocket-Accept: relay can start
    kAnswered,       // the backend answered another status: pass it on (401, 403, 500...)
    kConnectFailed,  // every endpoint refused or failed -> 502
    kTimeout,        // connect or handshake timeout -> 504
    kBadAnswer,      // malformed answer, 200 instead of 101, wrong accept... -> 502
    kNoEndpoint,     // no endpoint to try -> 503
  };
  Kind kind = kConnectFailed;
  std::shared_ptr<Transport> transport;  // kUpgraded
  h1::ResponseHead response;             // kUpgraded, kAnswered
  std::vector<std::uint8_t> pending;     // kUpgraded: frames after the head; kAnswered: the body (bounded)
  std::string endpoint;                  // the endpoint that answered or failed last ("127.0.0.1:9000")
  std::string detail;                    // why, for logs and error bodies
};

class UpstreamHandshake : public std::enable_shared_from_this<UpstreamHandshake> {
 public:
  using Handler = std::function<void(UpstreamOutcome)>;

  // `request` must carry the Sec-WebSocket-Key the answer is checked against.
  UpstreamHandshake(boost::asio::io_context& io, const BackendRuntime& backend, EndpointPicker& picker,
                    h1::RequestHead request, std::size_t max_response_head, Handler handler);

  // Connect times and failures are counted here (per-worker metrics; may be null).
  void set_metrics(WorkerMetrics* metrics) { metrics_ = metrics; }
  // The route's handshake_timeout, when it overrides the backend's.
  void set_handshake_timeout(std::optional<std::chrono::milliseconds> timeout) {
    if (timeout) handshake_timeout_ = *timeout;
  }

  void start();
  // Stops whatever is in progress; the handler is not called afterwards.
  void cancel();

 private:
  void try_next(UpstreamOutcome::Kind failure, std::string detail);
  void on_connected(std::size_t endpoint_index);
  void send_request();
  void read_head();
  void on_head(std::size_t consumed_total);
  void read_body(std::size_t want);
  void complete(UpstreamOutcome outcome);

  boost::asio::io_context& io_;
  const BackendRuntime& backend_;
  EndpointPicker& picker_;
  std::string key_;
  std::string request_bytes_;
  Handler handler_;
  std::vector<std::size_t> order_;
  std::size_t attempt_ = 0;
  std::size_t current_ = 0;
  std::unique_ptr<tcp::socket> connecting_;
  std::shared_ptr<Transport> transport_;
  boost::asio::steady_timer timer_;
  h1::ResponseHeadParser parser_;
  std::vector<std::uint8_t> read_buffer_;
  std::vector<std::uint8_t> body_;
  h1::ResponseHead response_;
  bool done_ = false;
  WorkerMetrics* metrics_ = nullptr;
  std::chrono::steady_clock::time_point connect_started_;
  std::chrono::milliseconds handshake_timeout_;
};

}  // namespace wsgate::gw
