// See observer.hpp.
#include "gateway/observer.hpp"

#include "gateway/access_log.hpp"
#include "gateway/listener.hpp"
#include "gateway/snapshot.hpp"
#include "gateway/worker.hpp"

namespace wsgate::gw {

namespace {
CloseInitiator initiator_of(std::string_view who) {
  if (who == "client") return CloseInitiator::kClient;
  if (who == "backend") return CloseInitiator::kBackend;
  return CloseInitiator::kGateway;
}
}  // namespace

StreamObserver::StreamObserver(Worker& worker, const ListenerRuntime& listener, Protocol protocol,
                               std::string client_address, std::uint32_t h2_stream_id)
    : worker_(worker),
      listener_(listener),
      protocol_(protocol),
      client_address_(std::move(client_address)),
      h2_stream_id_(h2_stream_id) {}

void StreamObserver::set_route(const RouteConfig* route, const Snapshot& snapshot) {
  if (route == nullptr) return;
  route_index_ = snapshot.route_id(*route);
  route_name_ = route->name;
}

double StreamObserver::seconds_since_start() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

void StreamObserver::rejected(int status, std::string_view error) {
  if (done_) return;
  done_ = true;
  status_ = status;
  if (auto* m = worker_.metrics()) m->handshake(route_index_, protocol_, status, seconds_since_start());
  log(nullptr, error);
}

void StreamObserver::upgraded(int status) {
  status_ = status;
  upgraded_ = true;
  if (auto* m = worker_.metrics()) {
    m->handshake(route_index_, protocol_, status, seconds_since_start());
    if (route_index_) m->stream_opened(*route_index_, protocol_);
  }
}

void StreamObserver::ended(const RelayResult& result) {
  if (done_) return;
  done_ = true;
  if (auto* m = worker_.metrics(); m && route_index_ && upgraded_) {
    m->stream_closed(*route_index_, protocol_, std::chrono::duration<double>(result.duration).count());
    m->close(*route_index_, initiator_of(result.close_initiator), result.close_code.value_or(1006));
    if (result.timeout) m->timeout(*route_index_, *result.timeout);
  }
  log(&result, {});
}

void StreamObserver::log(const RelayResult* result, std::string_view error) {
  AccessLog* access_log = worker_.access_log();
  if (access_log == nullptr || !access_log->enabled()) return;
  AccessLogEntry e;
  e.time = std::chrono::system_clock::now();
  e.client_address = client_address_;
  e.listener = listener_.config->name;
  e.protocol = protocol_;
  e.h2_stream_id = h2_stream_id_;
  e.route = route_name_;
  e.backend_endpoint = backend_endpoint_;
  e.status = status_;
  e.duration_ms = seconds_since_start() * 1000.0;
  if (result != nullptr) {
    e.client_to_backend = {result->client_to_backend.messages, result->client_to_backend.bytes};
    e.backend_to_client = {result->backend_to_client.messages, result->backend_to_client.bytes};
    e.close_code = result->close_code;
    e.close_initiator = initiator_of(result->close_initiator);
  }
  e.error = std::string(error);
  access_log->write(e);
}

}  // namespace wsgate::gw
