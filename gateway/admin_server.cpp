// Admin listener over Asio with the project's h1 head parser; see admin_server.hpp.
#include "gateway/admin_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include "gateway/status_page.hpp"
#include "h1/head_parser.hpp"
#include "h1/message.hpp"

namespace wsgate::gw {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;

namespace {

constexpr std::size_t kReadChunk = 4096;
constexpr std::chrono::seconds kLinger{2};
constexpr std::chrono::milliseconds kAcceptRetry{100};

struct Answer {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  h1::Headers extra;
};

Answer text_answer(int status, std::string body) {
  Answer a;
  a.status = status;
  a.body = std::move(body);
  return a;
}

}  // namespace

class AdminConnection;

struct AdminServer::Impl {
  Impl(const HostPort& a, Metrics& m, std::function<std::string()> extra, AdminLimits l)
      : address(a), metrics(m), status_json_extra(std::move(extra)), limits(l) {}

  void do_accept();
  Answer route(const h1::RequestHead& head);

  HostPort address;
  Metrics& metrics;
  std::function<std::string()> status_json_extra;
  std::function<ReloadAnswer()> reload;
  AdminLimits limits;
  // Declared before io_context: connections still owned by pending handlers
  // unregister themselves while the io_context is destroyed.
  std::unordered_set<AdminConnection*> connections;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_retry{io};
  tcp::endpoint bound;
  std::thread thread;
  bool started = false;
  bool stopped = false;
};

// One client connection: read a head, answer, repeat while keep-alive.
class AdminConnection : public std::enable_shared_from_this<AdminConnection> {
 public:
  AdminConnection(AdminServer::Impl& server, tcp::socket socket)
      : server_(server),
        socket_(std::move(socket)),
        timer_(server.io),
        parser_(h1::HeadLimits{server.limits.max_head_bytes, 64, server.limits.max_head_bytes}) {
    server_.connections.insert(this);
  }
  ~AdminConnection() { server_.connections.erase(this); }

  void start() { wait_for_request(); }
  void close() {
    ErrorCode ignored;
    socket_.close(ignored);
    timer_.cancel();
  }

 private:
  void arm_timer(std::chrono::milliseconds timeout) {
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this()](const ErrorCode& ec) {
      if (!ec) self->close();  // a timeout: pending operations end with errors
    });
  }

  void wait_for_request() {
    in_request_ = false;
    parser_.reset();
    if (!pending_.empty()) {
      std::string bytes;
      bytes.swap(pending_);
      in_request_ = true;
      arm_timer(server_.limits.head_timeout);
      on_bytes(bytes);
      return;
    }
    arm_timer(server_.limits.idle_timeout);
    read();
  }

  void read() {
    socket_.async_read_some(asio::buffer(buffer_),
                            [self = shared_from_this()](const ErrorCode& ec, std::size_t n) {
                              if (ec || n == 0) {
                                self->close();
                                return;
                              }
                              if (!self->in_request_) {
                                self->in_request_ = true;
                                self->arm_timer(self->server_.limits.head_timeout);
                              }
                              self->on_bytes({self->buffer_.data(), n});
                            });
  }

  void on_bytes(std::string_view data) {
    h1::ParseResult result = parser_.feed(data);
    switch (result.status) {
      case h1::ParseStatus::kNeedMore:
        read();
        return;
      case h1::ParseStatus::kError: {
        const bool too_large = result.error == h1::ParseError::kHeadTooLarge ||
                               result.error == h1::ParseError::kTooManyHeaders ||
                               result.error == h1::ParseError::kLineTooLong;
        send(too_large ? text_answer(431, "request head too large\n") : text_answer(400, "bad request\n"),
             false, false);
        return;
      }
      case h1::ParseStatus::kComplete:
        break;
    }
    pending_.assign(data.substr(result.consumed));  // a pipelined next request
    h1::RequestHead head = parser_.take_head();
    const bool head_only = head.method == "HEAD";
    // A request body is not expected here: answer, then close rather than parse it.
    const bool has_body =
        head.headers.contains("Transfer-Encoding") ||
        (head.headers.contains("Content-Length") && head.headers.get("Content-Length") != "0");
    bool keep_alive = head.version_minor >= 1 ? !head.headers.has_token("Connection", "close")
                                              : head.headers.has_token("Connection", "keep-alive");
    if (has_body) keep_alive = false;
    send(server_.route(head), head_only, keep_alive);
  }

  void send(Answer answer, bool head_only, bool keep_alive) {
    h1::ResponseHead response;
    response.status = answer.status;
    response.version_minor = 1;
    response.headers.add("Content-Type", answer.content_type);
    response.headers.add("Content-Length", std::to_string(answer.body.size()));
    response.headers.add("Cache-Control", "no-store");
    response.headers.add("X-Content-Type-Options", "nosniff");
    for (const auto& h : answer.extra) response.headers.add(h.name, h.value);
    response.headers.add("Connection", keep_alive ? "keep-alive" : "close");
    out_ = h1::serialize(response);
    if (!head_only) out_ += answer.body;
    arm_timer(server_.limits.write_timeout);
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this(), keep_alive](const ErrorCode& ec, std::size_t) {
                        if (ec) {
                          self->close();
                          return;
                        }
                        self->out_.clear();
                        if (keep_alive) {
                          self->wait_for_request();
                        } else {
                          self->linger();
                        }
                      });
  }

  // Lingering close: send FIN, drain what the client still sends (an oversized
  // head's tail) so the close does not turn into a RST that loses our answer.
  void linger() {
    ErrorCode ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    arm_timer(kLinger);
    drain();
  }

  void drain() {
    socket_.async_read_some(asio::buffer(buffer_),
                            [self = shared_from_this()](const ErrorCode& ec, std::size_t) {
                              if (ec) {
                                self->close();
                                return;
                              }
                              self->drain();
                            });
  }

  AdminServer::Impl& server_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  h1::RequestHeadParser parser_;
  std::array<char, kReadChunk> buffer_{};
  std::string pending_;  // bytes after the last head (pipelining)
  std::string out_;
  bool in_request_ = false;
};

void AdminServer::Impl::do_accept() {
  acceptor.async_accept([this](const ErrorCode& ec, tcp::socket socket) {
    if (!acceptor.is_open()) return;
    if (ec) {
      // EMFILE and friends: back off instead of spinning.
      accept_retry.expires_after(kAcceptRetry);
      accept_retry.async_wait([this](const ErrorCode& timer_ec) {
        if (!timer_ec) do_accept();
      });
      return;
    }
    if (connections.size() >= limits.max_connections) {
      ErrorCode ignored;
      socket.close(ignored);
    } else {
      std::make_shared<AdminConnection>(*this, std::move(socket))->start();
    }
    do_accept();
  });
}

Answer AdminServer::Impl::route(const h1::RequestHead& head) {
  std::string_view path = head.target;
  if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);

  if (path == "/-/reload" && reload) {
    if (head.method != "POST") {
      Answer refused = text_answer(405, "method not allowed\n");
      refused.extra.add("Allow", "POST");
      return refused;
    }
    ReloadAnswer outcome = reload();
    Answer a = text_answer(outcome.status, std::move(outcome.json));
    a.content_type = "application/json";
    return a;
  }
  Answer a;
  if (path == "/metrics") {
    a.content_type = "text/plain; version=0.0.4; charset=utf-8";
  } else if (path == "/healthz" || path == "/readyz") {
    a.content_type = "text/plain; charset=utf-8";
  } else if (path == "/" || path == "/index.html") {
    a.content_type = "text/html; charset=utf-8";
  } else if (path == "/status.json") {
    a.content_type = "application/json";
  } else {
    return text_answer(404, "not found\n");
  }
  if (head.method != "GET" && head.method != "HEAD") {
    Answer refused = text_answer(405, "method not allowed\n");
    refused.extra.add("Allow", "GET, HEAD");
    return refused;
  }

  if (path == "/metrics") {
    a.body = metrics.render_prometheus();
  } else if (path == "/healthz") {
    a.body = "ok\n";
  } else if (path == "/readyz") {
    if (metrics.ready()) {
      a.body = "ready\n";
    } else {
      a.status = 503;
      a.body = metrics.draining() ? "draining\n" : "not ready\n";
    }
  } else if (path == "/status.json") {
    a.body = render_status_json(metrics.snapshot(), status_json_extra ? status_json_extra() : std::string());
  } else {
    a.body = render_status_html(metrics.snapshot());
  }
  return a;
}

AdminServer::AdminServer(const HostPort& address, Metrics& metrics,
                         std::function<std::string()> status_json_extra, AdminLimits limits)
    : impl_(std::make_unique<Impl>(address, metrics, std::move(status_json_extra), limits)) {}

AdminServer::~AdminServer() { stop(); }

void AdminServer::start() {
  Impl& s = *impl_;
  if (s.started) return;
  auto fail = [&](const std::string& why) {
    throw std::runtime_error("admin listener " + s.address.to_string() + ": " + why);
  };
  ErrorCode ec;
  tcp::resolver resolver(s.io);
  auto results = resolver.resolve(s.address.host, std::to_string(s.address.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) fail(ec ? ec.message() : "address did not resolve");
  tcp::endpoint endpoint = results.begin()->endpoint();
  s.acceptor.open(endpoint.protocol(), ec);
  if (ec) fail(ec.message());
  s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  s.acceptor.bind(endpoint, ec);
  if (ec) fail(ec.message());
  s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) fail(ec.message());
  s.bound = s.acceptor.local_endpoint();
  s.started = true;
  s.do_accept();
  s.thread = std::thread([&s] { s.io.run(); });
}

void AdminServer::set_reload_handler(std::function<ReloadAnswer()> reload) {
  impl_->reload = std::move(reload);
}

tcp::endpoint AdminServer::bound_endpoint() const { return impl_->bound; }

void AdminServer::stop() {
  Impl& s = *impl_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  s.io.stop();
  if (s.thread.joinable()) s.thread.join();
  // The loop is not running: close everything from here. Handlers still queued
  // (and the connections they own) go away with the io_context.
  ErrorCode ignored;
  s.acceptor.close(ignored);
  s.accept_retry.cancel();
  for (AdminConnection* c : s.connections) c->close();
}

}  // namespace wsgate::gw
