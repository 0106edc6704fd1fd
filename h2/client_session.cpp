// The client end of an RFC 8441 HTTP/2 connection: extended CONNECT out, response heads and DATA in.
#include "h2/client_session.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <new>
#include <string>

namespace wsgate::h2 {

ClientSession::ClientSession(const Settings& settings, ClientEvents events)
    : Session(Role::kClient, settings, static_cast<StreamEvents>(events)),
      on_response_(std::move(events.on_response)),
      on_settings_(std::move(events.on_settings)) {
  const std::array<nghttp2_settings_entry, 4> entries{{
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings.initial_window_bytes},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, settings.max_header_list_bytes},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, settings.max_frame_bytes},
  }};
  if (start(entries) == Error::kNoMemory) throw std::bad_alloc();
}

bool ClientSession::connect_protocol_enabled() const {
  return nghttp2_session_get_remote_settings(handle(), NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) == 1;
}

SubmitResult ClientSession::submit_connect(std::string_view authority, std::string_view path,
                                           std::string_view scheme, std::span<const Header> extra) {
  if (authority.empty() || path.empty() || scheme.empty() || !valid_regular_headers(extra)) {
    return {-1, Error::kInvalidArgument};
  }
  // RFC 8441 §3: no extended CONNECT before the server has enabled it.
  if (!connect_protocol_enabled()) return {-1, Error::kConnectProtocolNotEnabled};
  std::vector<Header> headers{
      {":method", "CONNECT"},           {":protocol", "websocket"},
      {":scheme", std::string(scheme)}, {":authority", std::string(authority)},
      {":path", std::string(path)},
  };
  // RFC 8441 §5: the version travels as in RFC 6455; the app may override it in `extra`.
  const bool has_version = std::any_of(extra.begin(), extra.end(),
                                       [](const Header& h) { return h.name == "sec-websocket-version"; });
  if (!has_version) headers.push_back({"sec-websocket-version", "13"});
  headers.insert(headers.end(), extra.begin(), extra.end());
  return submit(headers, false);
}

SubmitResult ClientSession::submit_request(std::span<const Header> headers, bool end_stream) {
  if (headers.empty()) return {-1, Error::kInvalidArgument};
  return submit(headers, end_stream);
}

SubmitResult ClientSession::submit(std::span<const Header> headers, bool end_stream) {
  if (nghttp2_session_get_next_stream_id(handle()) >
      static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max())) {
    return {-1, Error::kStreamIdsExhausted};
  }
  if (nghttp2_session_check_request_allowed(handle()) == 0) return {-1, Error::kGoingAway};
  const std::vector<nghttp2_nv> nva = to_nv(headers);
  const nghttp2_data_provider provider = queue_data_provider();
  const std::int32_t stream_id = nghttp2_submit_request(handle(), nullptr, nva.data(), nva.size(),
                                                        end_stream ? nullptr : &provider, nullptr);
  if (stream_id < 0) return {-1, from_lib_error(stream_id)};
  Stream& stream = add_stream(stream_id);
  stream.head_submitted = true;
  stream.data_ended = end_stream;
  return {stream_id, Error::kNone};
}

bool ClientSession::is_head_category(nghttp2_headers_category category, const Stream& stream) const {
  // After a 1xx the final response arrives in a HEADERS block nghttp2 files as NGHTTP2_HCAT_HEADERS.
  return category == NGHTTP2_HCAT_RESPONSE || (category == NGHTTP2_HCAT_HEADERS && !stream.head_delivered);
}

void ClientSession::on_remote_settings() {
  if (on_settings_) on_settings_();
}

void ClientSession::on_head(std::int32_t stream_id, Stream& stream, bool end_stream) {
  IncomingHead head = std::move(stream.head);
  stream.head = {};
  ResponseHeaders response;
  for (const Header& field : head.pseudo) {
    if (field.name == ":status") {
      std::from_chars(field.value.data(), field.value.data() + field.value.size(), response.status);
    }
  }
  if (response.status / 100 == 1) return;  // interim response: wait for the final one
  stream.head_delivered = true;
  response.headers = std::move(head.fields);
  response.end_stream = end_stream;
  if (head.too_large) response.issue = HeaderIssue::kHeaderListTooLarge;
  if (on_response_) on_response_(stream_id, std::move(response));
}

}  // namespace wsgate::h2
