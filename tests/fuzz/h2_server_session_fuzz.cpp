// libFuzzer target for h2/server_session.*: a valid client preface, then arbitrary frames from the
// input fed in pieces, with an app that answers, echoes, consumes and resets as a gateway would.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "h2/server_session.hpp"

namespace {

// RFC 9113 §3.4: the client connection preface, then an empty SETTINGS frame.
constexpr std::uint8_t kPreface[] = {'P',  'R',  'I', ' ',  '*',  ' ',  'H',  'T', 'T', 'P',  '/',
                                     '2',  '.',  '0', '\r', '\n', '\r', '\n', 'S', 'M', '\r', '\n',
                                     '\r', '\n', 0,   0,    0,    0x4,  0,    0,   0,   0,    0};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace wsgate::h2;
  Settings settings;
  settings.max_concurrent_streams = 16;
  settings.max_header_list_bytes = 4096;
  settings.initial_window_bytes = 65535;
  settings.max_outgoing_bytes_per_stream = 8192;
  ServerSession* self = nullptr;
  ServerEvents events;
  events.on_request = [&self](std::int32_t id, RequestHeaders&& request) {
    if (request.kind() != RequestKind::kExtendedConnect || request.issue != HeaderIssue::kNone) {
      self->submit_response(id, request.issue == HeaderIssue::kHeaderListTooLarge ? 431 : 400, {}, true);
      return;
    }
    const std::vector<Header> headers{
        {"sec-websocket-protocol", std::string(request.header("sec-websocket-protocol"))}};
    self->submit_response(id, 200, headers, false);
  };
  events.on_data = [&self](std::int32_t id, std::span<const std::uint8_t> bytes) {
    if (self->outgoing_space(id) >= bytes.size()) self->send_data(id, bytes);
    if (!bytes.empty() && bytes[0] == 0xff) self->reset_stream(id, ErrorCode::kCancel);
    self->consume(id, bytes.size());
  };
  events.on_stream_end = [&self](std::int32_t id) { self->end_data(id); };
  events.on_goaway = [&self](std::int32_t, ErrorCode) { self->goaway(ErrorCode::kNoError); };

  ServerSession server(settings, std::move(events));
  self = &server;
  std::vector<std::uint8_t> out;
  server.receive(kPreface);
  server.produce(out, 1 << 20);

  // The first byte picks the read size, so every split of the frames gets explored.
  const std::size_t piece = size > 0 ? static_cast<std::size_t>(data[0]) + 1 : 1;
  std::span<const std::uint8_t> input(data, size);
  if (!input.empty()) input = input.subspan(1);
  while (!input.empty()) {
    const auto chunk = input.first(std::min(piece, input.size()));
    input = input.subspan(chunk.size());
    if (server.receive(chunk).error != Error::kNone) break;
    out.clear();
    if (server.produce(out, 16 * 1024).error != Error::kNone) break;
  }
  for (int i = 0; i < 64 && server.want_write(); ++i) {
    out.clear();
    if (server.produce(out, 1 << 20).error != Error::kNone) break;
  }
  return 0;
}
