// Live config reload end to end (docs/operations.md, "Reload"): real wsgate + wsgate-echo
// processes; the config file is rewritten and reloaded by SIGHUP or POST /-/reload on the admin
// listener. New WebSockets take the new routes/backends/listeners at once; WebSockets opened
// before keep their snapshot (h1 and h2), those to a removed backend get 1001 after the drain
// time; a bad file is refused with --check-config's errors and the old config keeps serving;
// no handshake fails while reloads run under connect churn; the reload metrics count.
#include <signal.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <thread>

#include "tests/integration/client_helpers.hpp"
#include "tests/integration/gateway_test_util.hpp"
#include "tests/integration/h2_client.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/ws_client.hpp"

namespace wsgate::test {
namespace {

using namespace std::chrono_literals;

// A config with listener "main" (h1 + h2c), `routes` and `backends` blocks as given, and extra
// top-level text (drain_timeout, more listeners under `listeners_extra`).
struct ConfigParts {
  ConfigParts() = default;
  ConfigParts(std::string r, std::string b, std::string l = {})
      : routes(std::move(r)), backends(std::move(b)), listeners_extra(std::move(l)) {}
  std::string routes;
  std::string backends;
  std::string listeners_extra;
  std::string drain = "30s";
  std::string workers = "2";
};

std::string config_text(const ConfigParts& p) {
  return "workers: " + p.workers + "\ndrain_timeout: " + p.drain +
         "\nlisteners:\n"
         "  - name: main\n"
         "    address: 127.0.0.1:0\n"
         "    protocols: [h2c, http/1.1]\n" +
         p.listeners_extra + "routes:\n" + p.routes + "backends:\n" + p.backends;
}

std::string route(std::string_view name, std::string_view prefix, std::string_view backend) {
  return "  - name: " + std::string(name) + "\n    match: {path_prefix: " + std::string(prefix) +
         "}\n    backend: " + std::string(backend) + "\n";
}

std::string backend(std::string_view name, const std::string& address) {
  return "  - name: " + std::string(name) + "\n    endpoints: [" + address + "]\n";
}

HttpResponse post_reload(Gateway& gw) {
  return http_request("127.0.0.1", *gw.admin_port(), "POST", "/-/reload", {}, {}, 20s);
}

// SIGHUP, then the reload's log line: "success" or "rejected" (empty on timeout).
std::string sighup(Gateway& gw) {
  const std::size_t mark = gw.process().log_size();
  if (!gw.process().send_signal(SIGHUP)) return {};
  static const std::regex kLine(R"(config reload \(SIGHUP\): (success|rejected))");
  auto match = gw.process().wait_for_line(kLine, 20s, mark);
  return match ? (*match)[1] : std::string();
}

// The value of one series on /metrics, e.g. `wsgate_config_reloads_total{result="success"}`.
std::optional<double> metric(Gateway& gw, std::string_view series) {
  const HttpResponse response = http_get(*gw.admin_port(), "/metrics", 5s);
  if (response.status != 200) return std::nullopt;
  const std::string& text = response.body;
  std::size_t at = 0;
  while ((at = text.find(series, at)) != std::string::npos) {
    const bool line_start = at == 0 || text[at - 1] == '\n';
    const std::size_t end = at + series.size();
    if (line_start && end < text.size() && text[end] == ' ') {
      return std::stod(text.substr(end + 1, text.find('\n', end) - end - 1));
    }
    at = end;
  }
  return std::nullopt;
}

::testing::AssertionResult echoes(WsClient& client, const std::string& payload) {
  if (!client.send_text(payload)) return ::testing::AssertionFailure() << "send: " << client.last_error();
  auto message = client.recv_message(5s);
  if (!message) return ::testing::AssertionFailure() << "recv: " << client.last_error();
  if (message->payload != payload) return ::testing::AssertionFailure() << "got " << message->payload;
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult echoes(H2Client& client, std::int32_t stream, const std::string& payload) {
  if (!client.send_message(stream, ws::Opcode::kText, payload)) {
    return ::testing::AssertionFailure() << "send: " << client.last_error();
  }
  auto message = client.recv_message(stream, 5s);
  if (!message) return ::testing::AssertionFailure() << "recv: " << client.last_error();
  if (message->payload != payload) return ::testing::AssertionFailure() << "got " << message->payload;
  return ::testing::AssertionSuccess();
}

// Handshake status for `path` on a fresh h1 connection (101 when upgraded).
int handshake_status(std::uint16_t port, std::string_view path) {
  WsClient client;
  if (!client.connect("127.0.0.1", port, 5s)) return 0;
  return client.handshake(path).status;
}

std::int32_t open_h2(H2Client& client, std::string_view path) {
  const std::int32_t id = client.open_websocket(path);
  if (id <= 0) return -1;
  auto response = client.wait_response(id, 5s);
  return response && response->status == 200 ? id : -1;
}

class GatewayReload : public ::testing::Test {
 protected:
  void start(const ConfigParts& parts) {
    parts_ = parts;
    gw_.emplace(config_text(parts));
  }
  void rewrite(const ConfigParts& parts) {
    parts_ = parts;
    gw_->rewrite_config(config_text(parts));
  }
  Gateway& gw() { return *gw_; }
  std::uint16_t port() { return gw_->port("main"); }

  EchoBackend echo_a_;
  ConfigParts parts_;
  std::optional<Gateway> gw_;
};

TEST_F(GatewayReload, SighupAddsARoute) {
  start({route("echo", "/echo", "a"), backend("a", echo_a_.address())});
  EXPECT_EQ(handshake_status(port(), "/new"), 404);
  rewrite({route("echo", "/echo", "a") + route("new", "/new", "a"), backend("a", echo_a_.address())});
  ASSERT_EQ(sighup(gw()), "success");
  WsClient client;
  ASSERT_TRUE(upgrade_client(client, port(), ClientTransport::kPlain, "/new"));
  EXPECT_TRUE(echoes(client, "after SIGHUP"));
  EXPECT_EQ(metric(gw(), R"(wsgate_config_reloads_total{result="success"})"), 1.0);
  EXPECT_EQ(gw().stop(), 0);
}

TEST_F(GatewayReload, PostReloadAddsARouteAndCountsIt) {
  start({route("echo", "/echo", "a"), backend("a", echo_a_.address())});
  EXPECT_EQ(metric(gw(), R"(wsgate_config_reloads_total{result="success"})"), 0.0);
  EXPECT_EQ(metric(gw(), "wsgate_config_last_reload_successful"), 1.0);
  const double started = metric(gw(), "wsgate_config_last_reload_success_timestamp_seconds").value_or(0);
  EXPECT_GT(started, 0);
  // Streams on the route that goes away: their counters must survive it.
  {
    WsClient client;
    ASSERT_TRUE(upgrade_client(client, port(), ClientTransport::kPlain, "/echo"));
    EXPECT_TRUE(echoes(client, "before"));
    ASSERT_TRUE(client.close_and_wait());
  }
  EXPECT_EQ(handshake_status(port(), "/new"), 404);

  rewrite({route("new", "/new", "a"), backend("a", echo_a_.address())});
  const HttpResponse answer = post_reload(gw());
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_NE(answer.body.find(R"("result":"success")"), std::string::npos) << answer.body;
  EXPECT_NE(answer.body.find("route added: new"), std::string::npos) << answer.body;
  EXPECT_NE(answer.body.find("route removed: echo"), std::string::npos) << answer.body;
  EXPECT_TRUE(gw().process().wait_for_line(std::regex(R"(config reload \(POST /-/reload\): success)"), 5s));

  WsClient client;
  ASSERT_TRUE(upgrade_client(client, port(), ClientTransport::kPlain, "/new"));
  EXPECT_TRUE(echoes(client, "after POST"));
  EXPECT_EQ(handshake_status(port(), "/echo"), 404);

  EXPECT_EQ(metric(gw(), R"(wsgate_config_reloads_total{result="success"})"), 1.0);
  EXPECT_EQ(metric(gw(), R"(wsgate_config_reloads_total{result="failure"})"), 0.0);
  EXPECT_GE(metric(gw(), "wsgate_config_last_reload_success_timestamp_seconds").value_or(0), started);
  // The removed route keeps its series; the added one has its own.
  EXPECT_EQ(metric(gw(), R"(wsgate_websocket_streams_total{route="echo",protocol="h1"})"), 1.0);
  EXPECT_EQ(metric(gw(), R"(wsgate_websocket_streams_total{route="new",protocol="h1"})"), 1.0);

  // Other methods on the reload path.
  const HttpResponse get = http_request("127.0.0.1", *gw().admin_port(), "GET", "/-/reload");
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.headers.get("Allow").value_or(""), "POST");
  EXPECT_EQ(gw().stop(), 0);
}

TEST_F(GatewayReload, BrokenFileIsRejectedAndTheOldConfigKeepsServing) {
  start({route("echo", "/echo", "a"), backend("a", echo_a_.address())});
  WsClient open;
  ASSERT_TRUE(upgrade_client(open, port(), ClientTransport::kPlain, "/echo"));

  // An unknown backend, then a YAML syntax error.
  rewrite({route("echo", "/echo", "nope"), backend("a", echo_a_.address())});
  const HttpResponse answer = post_reload(gw());
  EXPECT_EQ(answer.status, 400) << answer.body;
  EXPECT_NE(answer.body.find(R"("result":"failure")"), std::string::npos) << answer.body;
  EXPECT_NE(answer.body.find("routes[0].backend"), std::string::npos) << answer.body;
  // The same words and position as --check-config prints.
  std::string checked;
  ASSERT_EQ(Gateway::check_config(config_text(parts_), &checked), 2);
  std::smatch where;
  ASSERT_TRUE(std::regex_search(
      checked, where, std::regex(R"(routes\[0\]\.backend: unknown backend [^(]*\(\S+(:[0-9]+:[0-9]+)\))")))
      << checked;
  EXPECT_NE(answer.body.find("routes[0].backend: unknown backend"), std::string::npos) << answer.body;
  EXPECT_NE(answer.body.find("wsgate.yaml" + where[1].str() + ")"), std::string::npos) << answer.body;

  gw().rewrite_config("routes: [\n");
  EXPECT_EQ(sighup(gw()), "rejected");
  // A feature the gateway refuses ("not supported yet") is refused by reload too.
  rewrite({route("echo", "/echo", "a"), backend("a", echo_a_.address()) + "    protocol: h2\n"});
  const HttpResponse unsupported = post_reload(gw());
  EXPECT_EQ(unsupported.status, 400);
  EXPECT_NE(unsupported.body.find("not supported yet"), std::string::npos) << unsupported.body;

  EXPECT_TRUE(echoes(open, "still the old config"));
  WsClient fresh;
  ASSERT_TRUE(upgrade_client(fresh, port(), ClientTransport::kPlain, "/echo"));
  EXPECT_TRUE(echoes(fresh, "new connection, old config"));
  EXPECT_EQ(metric(gw(), R"(wsgate_config_reloads_total{result="failure"})"), 3.0);
  EXPECT_EQ(metric(gw(), R"(wsgate_config_reloads_total{result="success"})"), 0.0);
  EXPECT_EQ(metric(gw(), "wsgate_config_last_reload_successful"), 0.0);
  EXPECT_EQ(gw().stop(), 0);
}

TEST_F(GatewayReload, ChangedBackendTakesNewStreamsWhileOpenOnesKeepTheOld) {
  EchoBackend echo_b;
  start({route("echo", "/echo", "echo"), backend("echo", echo_a_.address())});
  WsClient old_h1;
  ASSERT_TRUE(upgrade_client(old_h1, port(), ClientTransport::kPlain, "/echo"));
  H2Client old_h2;
  ASSERT_TRUE(old_h2.connect("127.0.0.1", port(), false)) << old_h2.last_error();
  const std::int32_t old_stream = open_h2(old_h2, "/echo");
  ASSERT_GT(old_stream, 0);

  rewrite({route("echo", "/echo", "echo"), backend("echo", echo_b.address())});
  const HttpResponse answer = post_reload(gw());
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_NE(answer.body.find("backend changed: echo"), std::string::npos) << answer.body;

  // A new stream goes to B: its access-log line names B's endpoint.
  {
    WsClient fresh;
    ASSERT_TRUE(upgrade_client(fresh, port(), ClientTransport::kPlain, "/echo"));
    EXPECT_TRUE(echoes(fresh, "to B"));
    ASSERT_TRUE(fresh.close_and_wait());
  }
  EXPECT_TRUE(gw().process().wait_for_line(std::regex("\"backend\":\"" + echo_b.address() + "\""), 5s));
  // On the same h2 connection a new stream also takes the new snapshot.
  const std::int32_t new_stream = open_h2(old_h2, "/echo");
  ASSERT_GT(new_stream, 0);
  EXPECT_TRUE(echoes(old_h2, new_stream, "h2 to B"));

  // Streams opened before keep echoing through A (drain is 30 s).
  EXPECT_TRUE(echoes(old_h1, "h1 still on A"));
  EXPECT_TRUE(echoes(old_h2, old_stream, "h2 still on A"));
  ASSERT_TRUE(old_h1.close_and_wait());
  old_h1.disconnect();  // the access-log line is written when the connection is gone
  EXPECT_TRUE(gw().process().wait_for_line(std::regex("\"backend\":\"" + echo_a_.address() + "\""), 5s));
  EXPECT_EQ(gw().stop(), 0);
}

TEST_F(GatewayReload, RemovedBackendStreamsGetClose1001AfterTheDrainTime) {
  EchoBackend echo_b;
  ConfigParts parts{route("a", "/a", "a") + route("b", "/b", "b"),
                    backend("a", echo_a_.address()) + backend("b", echo_b.address())};
  start(parts);
  WsClient on_removed;
  ASSERT_TRUE(upgrade_client(on_removed, port(), ClientTransport::kPlain, "/b"));
  H2Client h2;
  ASSERT_TRUE(h2.connect("127.0.0.1", port(), false)) << h2.last_error();
  const std::int32_t h2_removed = open_h2(h2, "/b");
  const std::int32_t h2_kept = open_h2(h2, "/a");
  ASSERT_GT(h2_removed, 0);
  ASSERT_GT(h2_kept, 0);
  WsClient on_kept;
  ASSERT_TRUE(upgrade_client(on_kept, port(), ClientTransport::kPlain, "/a"));

  ConfigParts next{route("a", "/a", "a"), backend("a", echo_a_.address())};
  next.drain = "1500ms";
  rewrite(next);
  const auto reloaded = std::chrono::steady_clock::now();
  const HttpResponse answer = post_reload(gw());
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_NE(answer.body.find("backend removed: b"), std::string::npos) << answer.body;
  // During the drain time the stream goes on...
  EXPECT_TRUE(echoes(on_removed, "still here"));
  EXPECT_TRUE(echoes(h2, h2_removed, "still here on h2"));
  // ...then the gateway closes it with 1001.
  auto close = on_removed.expect_close(10s);
  ASSERT_TRUE(close) << on_removed.last_error();
  EXPECT_EQ(close->close_code, std::optional<std::uint16_t>(1001));
  EXPECT_GE(std::chrono::steady_clock::now() - reloaded, 1400ms);
  auto h2_close = h2.expect_close(h2_removed, 10s);
  ASSERT_TRUE(h2_close) << h2.last_error();
  EXPECT_EQ(h2_close->close_code, std::optional<std::uint16_t>(1001));
  // Streams on the kept backend are not touched.
  EXPECT_TRUE(echoes(on_kept, "kept"));
  EXPECT_TRUE(echoes(h2, h2_kept, "kept on h2"));
  EXPECT_EQ(handshake_status(port(), "/b"), 404);
  EXPECT_EQ(gw().stop(), 0);
}

TEST_F(GatewayReload, ListenersAreAddedAndRemovedWhileOthersKeepServing) {
  const std::string extra =
      "  - name: extra\n"
      "    address: 127.0.0.1:0\n"
      "    protocols: [h2c, http/1.1]\n";
  ConfigParts parts{route("echo", "/echo", "a"), backend("a", echo_a_.address()), extra};
  start(parts);
  const std::uint16_t extra_port = gw().port("extra");
  WsClient on_main;
  ASSERT_TRUE(upgrade_client(on_main, port(), ClientTransport::kPlain, "/echo"));
  WsClient on_extra;
  ASSERT_TRUE(upgrade_client(on_extra, extra_port, ClientTransport::kPlain, "/echo"));
  H2Client h2_extra;
  ASSERT_TRUE(h2_extra.connect("127.0.0.1", extra_port, false)) << h2_extra.last_error();
  const std::int32_t h2_stream = open_h2(h2_extra, "/echo");
  ASSERT_GT(h2_stream, 0);

  ConfigParts next = parts;
  next.listeners_extra =
      "  - name: third\n"
      "    address: 127.0.0.1:0\n"
      "    protocols: [h2c, http/1.1]\n";
  next.drain = "2s";
  rewrite(next);
  const std::size_t mark = gw().process().log_size();
  const HttpResponse answer = post_reload(gw());
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_NE(answer.body.find("listener added: third"), std::string::npos) << answer.body;
  EXPECT_NE(answer.body.find("listener removed: extra"), std::string::npos) << answer.body;
  auto third =
      gw().process().wait_for_line(std::regex(R"(listener third listening on \S+:([0-9]+))"), 5s, mark);
  ASSERT_TRUE(third);
  const auto third_port = static_cast<std::uint16_t>(std::stoi((*third)[1]));

  WsClient on_third;
  ASSERT_TRUE(upgrade_client(on_third, third_port, ClientTransport::kPlain, "/echo"));
  EXPECT_TRUE(echoes(on_third, "new listener"));
  // The removed listener drains like SIGTERM: its WebSocket gets 1001, no new connections.
  auto close = on_extra.expect_close(5s);
  ASSERT_TRUE(close) << on_extra.last_error();
  EXPECT_EQ(close->close_code, std::optional<std::uint16_t>(1001));
  auto h2_close = h2_extra.expect_close(h2_stream, 5s);
  ASSERT_TRUE(h2_close) << h2_extra.last_error();
  EXPECT_EQ(h2_close->close_code, std::optional<std::uint16_t>(1001));
  EXPECT_TRUE(h2_extra.goaway_received().has_value());
  EXPECT_TRUE(wait_until([&] { return handshake_status(extra_port, "/echo") == 0; }, 5s));
  // The kept listener and its open WebSocket never noticed.
  EXPECT_TRUE(echoes(on_main, "main kept"));
  EXPECT_EQ(handshake_status(port(), "/echo"), 101);
  EXPECT_EQ(gw().stop(), 0);
}

TEST_F(GatewayReload, ANewListenerThatCannotBindRejectsTheWholeReload) {
  start({route("echo", "/echo", "a"), backend("a", echo_a_.address())});
  // The admin listener holds its port without SO_REUSEPORT: a listener there cannot bind.
  const std::string taken = "127.0.0.1:" + std::to_string(*gw().admin_port());
  ConfigParts next{route("echo", "/echo", "a") + route("new", "/new", "a"), backend("a", echo_a_.address()),
                   "  - name: taken\n    address: " + taken + "\n    protocols: [http/1.1]\n"};
  rewrite(next);
  const HttpResponse answer = post_reload(gw());
  EXPECT_EQ(answer.status, 500) << answer.body;
  EXPECT_NE(answer.body.find("listeners.taken: cannot listen on"), std::string::npos) << answer.body;
  // Nothing of it was applied.
  EXPECT_EQ(handshake_status(port(), "/new"), 404);
  EXPECT_EQ(handshake_status(port(), "/echo"), 101);
  EXPECT_EQ(metric(gw(), R"(wsgate_config_reloads_total{result="failure"})"), 1.0);
  EXPECT_EQ(gw().stop(), 0);
}

TEST_F(GatewayReload, OpenStreamsKeepEchoingThroughManyReloads) {
  start({route("echo", "/echo", "a"), backend("a", echo_a_.address())});
  WsClient h1;
  ASSERT_TRUE(upgrade_client(h1, port(), ClientTransport::kPlain, "/echo"));
  H2Client h2;
  ASSERT_TRUE(h2.connect("127.0.0.1", port(), false)) << h2.last_error();
  const std::int32_t stream = open_h2(h2, "/echo");
  ASSERT_GT(stream, 0);
  for (int i = 0; i < 6; ++i) {
    std::string extra_route = i % 2 == 0 ? route("r" + std::to_string(i), "/r" + std::to_string(i), "a") : "";
    rewrite({route("echo", "/echo", "a") + extra_route, backend("a", echo_a_.address())});
    if (i % 2 == 0) {
      ASSERT_EQ(sighup(gw()), "success") << "reload " << i;
    } else {
      ASSERT_EQ(post_reload(gw()).status, 200) << "reload " << i;
    }
    EXPECT_TRUE(echoes(h1, "h1 after reload " + std::to_string(i)));
    EXPECT_TRUE(echoes(h2, stream, "h2 after reload " + std::to_string(i)));
  }
  EXPECT_EQ(metric(gw(), R"(wsgate_config_reloads_total{result="success"})"), 6.0);
  EXPECT_EQ(gw().stop(), 0);
}

TEST_F(GatewayReload, SettingsThatNeedARestartAreReportedAndKept) {
  start({route("echo", "/echo", "a"), backend("a", echo_a_.address())});
  ConfigParts next = parts_;
  next.workers = "1";
  rewrite(next);
  const HttpResponse answer = post_reload(gw());
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_NE(answer.body.find(R"("needs_restart":["workers"])"), std::string::npos) << answer.body;
  EXPECT_EQ(metric(gw(), "wsgate_workers"), 2.0);
  EXPECT_EQ(gw().stop(), 0);
}

TEST_F(GatewayReload, NoHandshakeFailsWhileReloadingUnderConnectChurn) {
  EchoBackend echo_b;
  start({route("echo", "/echo", "a"), backend("a", echo_a_.address())});
  std::atomic<bool> stop{false};
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
  std::mutex failure_mutex;
  std::string first_failure;
  auto churn = [&](bool use_h2) {
    while (!stop.load()) {
      bool ok = false;
      if (use_h2) {
        H2Client client;
        std::int32_t id = client.connect("127.0.0.1", port(), false, 5s) ? open_h2(client, "/echo") : -1;
        ok = id > 0 && echoes(client, id, "churn") && client.close_and_wait(id, 1000, {}, 5s);
      } else {
        WsClient client;
        ok = upgrade_client(client, port(), ClientTransport::kPlain, "/echo") && echoes(client, "churn") &&
             client.close_and_wait(1000, {}, 5s);
      }
      if (ok) {
        done.fetch_add(1);
      } else if (failed.fetch_add(1) == 0) {
        std::lock_guard lock(failure_mutex);
        first_failure = use_h2 ? "h2" : "h1";
      }
    }
  };
  std::thread h1_thread(churn, false);
  std::thread h2_thread(churn, true);
  constexpr int kReloads = 16;
  for (int i = 0; i < kReloads; ++i) {
    // Alternate the backend of the route (both echo) and add/remove a route; every fourth by SIGHUP.
    const bool odd = i % 2 == 1;
    rewrite({route("echo", "/echo", odd ? "b" : "a") + (odd ? route("more", "/more", "b") : ""),
             backend("a", echo_a_.address()) + backend("b", echo_b.address())});
    if (i % 4 == 3) {
      EXPECT_EQ(sighup(gw()), "success");
    } else {
      EXPECT_EQ(post_reload(gw()).status, 200);
    }
    std::this_thread::sleep_for(30ms);
  }
  stop.store(true);
  h1_thread.join();
  h2_thread.join();
  std::lock_guard lock(failure_mutex);
  EXPECT_EQ(failed.load(), 0) << "first failure on " << first_failure;
  EXPECT_GT(done.load(), 20);
  EXPECT_EQ(metric(gw(), R"(wsgate_config_reloads_total{result="success"})"), double{kReloads});
  EXPECT_EQ(gw().stop(), 0);
}

}  // namespace
}  // namespace wsgate::test
