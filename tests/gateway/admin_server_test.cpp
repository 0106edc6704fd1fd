// Tests for gateway/admin_server.* (and the status page it serves) over real loopback
// sockets on port 0: every route, HEAD, 404/405/431, keep-alive, timeouts, connection cap.
#include "gateway/admin_server.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <string>

#include "h1/head_parser.hpp"

namespace wsgate::gw {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Response {
  int status = 0;
  h1::Headers headers;
  std::string body;
};

Config test_config() {
  Config c;
  ListenerConfig l;
  l.name = "public";
  l.address = {"0.0.0.0", 8080};
  l.protocols = {"http/1.1"};
  c.listeners = {l};
  RouteConfig r;
  r.name = "chat<route>";
  r.backend = "chat-svc";
  c.routes = {r};
  BackendConfig b;
  b.name = "chat-svc";
  b.endpoints = {{"127.0.0.1", 9000}};
  c.backends = {b};
  return c;
}

class Client {
 public:
  explicit Client(std::uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    timeval timeout{5, 0};  // a broken server fails the test instead of hanging it
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  void send(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }
  // One response (Content-Length framed); `head_only` for answers to HEAD.
  Response read_response(bool head_only = false) {
    h1::ResponseHeadParser parser;
    Response r;
    for (;;) {
      if (!pending_.empty()) {
        auto result = parser.feed(pending_);
        EXPECT_NE(result.status, h1::ParseStatus::kError);
        pending_.erase(0, result.consumed);
        if (result.status == h1::ParseStatus::kComplete) break;
      }
      if (!fill()) {
        ADD_FAILURE() << "connection ended before a whole response head";
        return r;
      }
    }
    h1::ResponseHead head = parser.take_head();
    r.status = head.status;
    r.headers = head.headers;
    std::size_t length =
        head_only ? 0 : std::stoul(std::string(r.headers.get("Content-Length").value_or("0")));
    while (pending_.size() < length) {
      if (!fill()) {
        ADD_FAILURE() << "connection ended inside a body";
        return r;
      }
    }
    r.body = pending_.substr(0, length);
    pending_.erase(0, length);
    return r;
  }
  bool closed_by_server() {
    char c;
    boost::system::error_code ec;
    std::size_t n = socket_.read_some(asio::buffer(&c, 1), ec);
    return n == 0 && ec == asio::error::eof;
  }

 private:
  bool fill() {
    char buffer[4096];
    boost::system::error_code ec;
    std::size_t n = socket_.read_some(asio::buffer(buffer), ec);
    pending_.append(buffer, n);
    return !ec && n > 0;
  }

  asio::io_context io_;
  tcp::socket socket_;
  std::string pending_;
};

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(AdminLimits limits) {
    server_.reset();
    server_ = std::make_unique<AdminServer>(
        HostPort{"127.0.0.1", 0}, metrics_, [] { return std::string("{\"x\":1}"); }, limits);
    server_->start();
    port_ = server_->bound_endpoint().port();
    ASSERT_NE(port_, 0);
  }

  Response get(const std::string& target, const std::string& method = "GET") {
    Client c(port_);
    c.send(method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    Response r = c.read_response(method == "HEAD");
    EXPECT_TRUE(c.closed_by_server());
    return r;
  }

  Config config_ = test_config();
  Metrics metrics_{config_, 2};
  std::unique_ptr<AdminServer> server_;
  std::uint16_t port_ = 0;
};

TEST_F(AdminServerTest, MetricsIsPrometheusText) {
  metrics_.worker(1).stream_opened(0, Protocol::kH1);
  Response r = get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.headers.get("Connection"), "close");
  EXPECT_NE(r.body.find("# TYPE wsgate_websocket_streams_active gauge\n"), std::string::npos);
  EXPECT_NE(r.body.find("wsgate_websocket_streams_active{route=\"chat<route>\",protocol=\"h1\"} 1\n"),
            std::string::npos);
  EXPECT_NE(r.body.find("wsgate_build_info{version="), std::string::npos);
  EXPECT_EQ(get("/metrics?name[]=x").status, 200);
}

TEST_F(AdminServerTest, Healthz) {
  Response r = get("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
}

TEST_F(AdminServerTest, ReadyzFollowsListenersAndDraining) {
  Response r = get("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready\n");
  metrics_.set_listeners_bound(true);
  r = get("/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ready\n");
  metrics_.set_draining(true);
  r = get("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "draining\n");
  EXPECT_EQ(get("/healthz").status, 200);  // alive while draining
}

TEST_F(AdminServerTest, StatusPageIsSelfContainedHtml) {
  metrics_.set_listeners_bound(true);
  metrics_.worker(0).stream_opened(0, Protocol::kH1);
  metrics_.set_endpoint_healthy(0, 0, false);
  Response r = get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.get("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.body.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(r.body.find("chat&lt;route&gt;"), std::string::npos);  // escaped
  EXPECT_EQ(r.body.find("chat<route>"), std::string::npos);
  EXPECT_NE(r.body.find("127.0.0.1:9000 unhealthy"), std::string::npos);
  EXPECT_NE(r.body.find("public"), std::string::npos);
  EXPECT_NE(r.body.find("ready"), std::string::npos);
  EXPECT_NE(r.body.find("http-equiv=refresh content=5"), std::string::npos);
  // No external resources.
  EXPECT_EQ(r.body.find("<link"), std::string::npos);
  EXPECT_EQ(r.body.find("src="), std::string::npos);
  EXPECT_EQ(r.body.find("http://"), std::string::npos);
  EXPECT_EQ(r.body.find("https://"), std::string::npos);
}

TEST_F(AdminServerTest, StatusJson) {
  metrics_.worker(0).stream_opened(0, Protocol::kH2);
  Response r = get("/status.json");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.get("Content-Type"), "application/json");
  EXPECT_EQ(r.body.front(), '{');
  EXPECT_NE(
      r.body.find(
          R"("routes":[{"name":"chat<route>","match":"prefix /","backend":"chat-svc","open_websockets":1,)"),
      std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(R"("endpoints":[{"address":"127.0.0.1:9000","healthy":true}])"), std::string::npos);
  EXPECT_NE(r.body.find(R"("extra":{"x":1}})"), std::string::npos) << r.body;
}

TEST_F(AdminServerTest, HeadHasHeadersWithoutBody) {
  Response r = get("/healthz", "HEAD");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.get("Content-Length"), "3");
  EXPECT_EQ(r.body, "");
}

TEST_F(AdminServerTest, UnknownPathIs404) {
  EXPECT_EQ(get("/nope").status, 404);
  EXPECT_EQ(get("/metrics/extra").status, 404);
}

TEST_F(AdminServerTest, OtherMethodsAre405) {
  Response r = get("/metrics", "POST");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers.get("Allow"), "GET, HEAD");
  EXPECT_EQ(get("/", "DELETE").status, 405);
}

TEST_F(AdminServerTest, OversizedHeadIs431) {
  Client c(port_);
  c.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n");
  Response r = c.read_response();
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(r.headers.get("Connection"), "close");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(AdminServerTest, MalformedHeadIs400) {
  Client c(port_);
  c.send("GARBAGE\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 400);
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(AdminServerTest, KeepAliveServesSeveralRequests) {
  Client c(port_);
  c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  Response first = c.read_response();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.headers.get("Connection"), "keep-alive");
  c.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 200);
  // Pipelined: two heads in one write.
  c.send(
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 200);
  Response last = c.read_response();
  EXPECT_EQ(last.status, 404);
  EXPECT_EQ(last.headers.get("Connection"), "close");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(AdminServerTest, Http10ClosesByDefault) {
  Client c(port_);
  c.send("GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 200);
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(AdminServerTest, SlowHeadTimesOut) {
  AdminLimits limits;
  limits.head_timeout = std::chrono::milliseconds(200);
  limits.idle_timeout = std::chrono::milliseconds(200);
  start(limits);
  Client partial(port_);
  partial.send("GET /metrics HTTP/1.1\r\nHo");
  auto begin = std::chrono::steady_clock::now();
  EXPECT_TRUE(partial.closed_by_server());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(3));
  Client idle(port_);
  EXPECT_TRUE(idle.closed_by_server());
}

TEST_F(AdminServerTest, ConnectionCap) {
  AdminLimits limits;
  limits.max_connections = 2;
  start(limits);
  Client a(port_);
  Client b(port_);
  a.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");  // both accepted and counted
  EXPECT_EQ(a.read_response().status, 200);
  b.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(b.read_response().status, 200);
  Client refused(port_);
  EXPECT_TRUE(refused.closed_by_server());
}

TEST_F(AdminServerTest, BindFailureNamesTheAddress) {
  AdminServer second(HostPort{"127.0.0.1", port_}, metrics_);
  try {
    second.start();
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port_)), std::string::npos)
        << e.what();
  }
}

TEST_F(AdminServerTest, StopIsIdempotentAndClosesConnections) {
  Client idle(port_);
  idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(idle.read_response().status, 200);
  server_->stop();
  server_->stop();
  EXPECT_TRUE(idle.closed_by_server());
}

}  // namespace
}  // namespace wsgate::gw
