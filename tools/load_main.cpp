// wsgate-load: the WebSocket load generator for benchmarks (h1 RFC 6455, h2c/h2 RFC 8441): closed-
// or open-loop echo load, connect churn, idle holding; every echo checked; one JSON line per run.
// Usage: docs/benchmark.md.
#include <signal.h>

#include <boost/asio/ip/tcp.hpp>
#include <cstdio>
#include <exception>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tools/load_options.hpp"
#include "tools/load_worker.hpp"

namespace wsgate::tools {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

tcp::endpoint resolve_target(const LoadOptions& options) {
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(options.host, ec);
  if (!ec) return {address, options.port};
  asio::io_context io;
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(options.host, std::to_string(options.port), ec);
  if (ec || results.empty()) throw std::runtime_error("cannot resolve '" + options.host + "': " + ec.message());
  return results.begin()->endpoint();
}

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string to_json(const LoadOptions& options, const LoadStats& stats) {
  const unsigned streams = options.mode == LoadMode::kH1 ? 1 : options.streams;
  const double seconds = options.duration_seconds;
  const auto& latency = stats.latency;
  const auto& handshake = stats.handshake;
  std::ostringstream json;
  json << "{\"mode\":\"" << to_string(options.mode) << "\",\"kind\":\"" << to_string(options.kind)
       << "\",\"loop\":\"" << (options.rate_per_second > 0 ? "open" : "closed")
       << "\",\"rate\":" << fixed(options.rate_per_second, 0) << ",\"connections\":" << options.connections
       << ",\"streams\":" << streams << ",\"size\":" << options.size_bytes
       << ",\"binary\":" << (options.binary ? "true" : "false") << ",\"threads\":" << options.threads
       << ",\"duration_s\":" << fixed(seconds, 3) << ",\"messages\":" << stats.messages
       << ",\"msgs_per_s\":" << fixed(static_cast<double>(stats.messages) / seconds, 1)
       << ",\"bytes_per_s\":" << fixed(static_cast<double>(stats.messages * options.size_bytes) / seconds, 0)
       << ",\"p50_us\":" << fixed(us(latency.value_at_percentile(50)), 1)
       << ",\"p90_us\":" << fixed(us(latency.value_at_percentile(90)), 1)
       << ",\"p99_us\":" << fixed(us(latency.value_at_percentile(99)), 1)
       << ",\"p999_us\":" << fixed(us(latency.value_at_percentile(99.9)), 1)
       << ",\"max_us\":" << fixed(us(latency.max_ns()), 1) << ",\"errors\":" << stats.errors
       << ",\"handshakes\":" << stats.handshakes
       << ",\"handshakes_per_s\":" << fixed(static_cast<double>(stats.handshakes) / seconds, 1)
       << ",\"handshake_p50_us\":" << fixed(us(handshake.value_at_percentile(50)), 1)
       << ",\"handshake_p99_us\":" << fixed(us(handshake.value_at_percentile(99)), 1)
       << ",\"established\":" << stats.established
       << ",\"establish_s\":" << fixed(stats.establish_seconds, 3) << "}";
  return json.str();
}

void print_table(const LoadOptions& options, const LoadStats& stats) {
  const double seconds = options.duration_seconds;
  const auto& l = stats.latency;
  std::cerr << "wsgate-load " << to_string(options.mode) << " " << to_string(options.kind) << " "
            << (options.rate_per_second > 0 ? "open loop @ " + fixed(options.rate_per_second, 0) + " msg/s"
                                            : std::string("closed loop"))
            << ": " << options.connections << " conn x " << (options.mode == LoadMode::kH1 ? 1 : options.streams)
            << " streams, " << options.size_bytes << " B, " << fixed(seconds, 1) << " s measured\n"
            << "  messages     " << stats.messages << "  (" << fixed(static_cast<double>(stats.messages) / seconds, 0)
            << " msg/s, " << fixed(static_cast<double>(stats.messages * options.size_bytes) / seconds / 1e6, 2)
            << " MB/s)\n"
            << "  latency us   p50 " << fixed(us(l.value_at_percentile(50)), 1) << "  p90 "
            << fixed(us(l.value_at_percentile(90)), 1) << "  p99 " << fixed(us(l.value_at_percentile(99)), 1)
            << "  p99.9 " << fixed(us(l.value_at_percentile(99.9)), 1) << "  max " << fixed(us(l.max_ns()), 1) << "\n"
            << "  handshakes   " << stats.handshakes << "  ("
            << fixed(static_cast<double>(stats.handshakes) / seconds, 0) << "/s, p50 "
            << fixed(us(stats.handshake.value_at_percentile(50)), 1) << " us, p99 "
            << fixed(us(stats.handshake.value_at_percentile(99)), 1) << " us)\n"
            << "  established  " << stats.established << "\n"
            << "  errors       " << stats.errors << "\n";
}

int load_main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  const ParsedLoadArgs parsed = parse_load_args(args);
  switch (parsed.outcome) {
    case ParsedLoadArgs::Outcome::kHelp:
      std::cout << load_usage();
      return 0;
    case ParsedLoadArgs::Outcome::kError:
      std::cerr << "wsgate-load: " << parsed.error << " (see --help)\n";
      return 2;
    case ParsedLoadArgs::Outcome::kRun:
      break;
  }
  const LoadOptions& options = parsed.options;
  ::signal(SIGPIPE, SIG_IGN);  // a peer that drops is an error we count, not a reason to die
  try {
    const tcp::endpoint target = resolve_target(options);
    const unsigned streams_per_connection = options.mode == LoadMode::kH1 ? 1 : options.streams;
    const unsigned total_streams = options.connections * streams_per_connection;
    std::vector<std::unique_ptr<LoadWorker>> workers;
    unsigned first = 0;
    for (unsigned t = 0; t < options.threads; ++t) {
      const unsigned count = options.connections / options.threads + (t < options.connections % options.threads ? 1 : 0);
      workers.push_back(std::make_unique<LoadWorker>(options, target, first, count, total_streams));
      first += count;
    }
    std::vector<LoadStats> results(workers.size());
    std::vector<std::thread> threads;
    for (std::size_t t = 1; t < workers.size(); ++t) {
      threads.emplace_back([&results, &workers, t] { results[t] = workers[t]->run(); });
    }
    results[0] = workers[0]->run();
    for (auto& thread : threads) thread.join();
    LoadStats total;
    for (const LoadStats& result : results) total.merge(result);
    if (options.kind != LoadKind::kIdle && total.messages == 0) {
      std::cerr << "wsgate-load: error: no echo completed in the measured window\n";
      ++total.errors;
    }
    if (options.kind == LoadKind::kIdle && total.established < total_streams) {
      std::cerr << "wsgate-load: error: only " << total.established << " of " << total_streams
                << " WebSockets open at the end\n";
      ++total.errors;
    }
    if (!options.json_only) print_table(options, total);
    std::cout << to_json(options, total) << std::endl;
    return total.errors == 0 ? 0 : 1;
  } catch (const std::exception& error) {
    std::cerr << "wsgate-load: " << error.what() << "\n";
    return 2;
  }
}

}  // namespace

}  // namespace wsgate::tools

int main(int argc, char** argv) { return wsgate::tools::load_main(argc, argv); }
