// The server end of an RFC 8441 HTTP/2 connection: request heads in, responses and DATA out.
#include "h2/server_session.hpp"

#include <array>
#include <new>
#include <string>

namespace wsgate::h2 {

ServerSession::ServerSession(const Settings& settings, ServerEvents events)
    : Session(Role::kServer, settings, static_cast<StreamEvents>(events)),
      on_request_(std::move(events.on_request)) {
  const std::array<nghttp2_settings_entry, 5> entries{{
      // RFC 8441 §3: lets clients send extended CONNECT with :protocol.
      {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings.initial_window_bytes},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, settings.max_header_list_bytes},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, settings.max_frame_bytes},
  }};
  if (start(entries) == Error::kNoMemory) throw std::bad_alloc();
}

Error ServerSession::submit_response(std::int32_t stream_id, int status, std::span<const Header> headers,
                                     bool end_stream) {
  Stream* stream = find_stream(stream_id);
  if (stream == nullptr) return Error::kNoSuchStream;
  if (status < 100 || status > 999 || !valid_regular_headers(headers)) return Error::kInvalidArgument;
  // nghttp2 only notices a second response once the first is on the wire: check it here.
  if (stream->head_submitted) return Error::kAlreadyResponded;
  std::vector<Header> all;
  all.reserve(headers.size() + 1);
  all.push_back({":status", std::to_string(status)});
  all.insert(all.end(), headers.begin(), headers.end());
  const std::vector<nghttp2_nv> nva = to_nv(all);
  const nghttp2_data_provider provider = queue_data_provider();
  const int rv =
      nghttp2_submit_response(handle(), stream_id, nva.data(), nva.size(), end_stream ? nullptr : &provider);
  if (rv != 0) return from_lib_error(rv);
  stream->head_submitted = true;
  if (end_stream) stream->data_ended = true;
  return Error::kNone;
}

Error ServerSession::shutdown_notice() {
  const int rv = nghttp2_submit_shutdown_notice(handle());
  return rv == 0 ? Error::kNone : from_lib_error(rv);
}

bool ServerSession::is_head_category(nghttp2_headers_category category, const Stream&) const {
  return category == NGHTTP2_HCAT_REQUEST;
}

void ServerSession::on_head(std::int32_t stream_id, Stream& stream, bool end_stream) {
  IncomingHead head = std::move(stream.head);
  stream.head = {};
  stream.head_delivered = true;
  RequestHeaders request;
  for (Header& field : head.pseudo) {
    if (field.name == ":method") {
      request.method = std::move(field.value);
    } else if (field.name == ":scheme") {
      request.scheme = std::move(field.value);
    } else if (field.name == ":authority") {
      request.authority = std::move(field.value);
    } else if (field.name == ":path") {
      request.path = std::move(field.value);
    } else if (field.name == ":protocol") {
      request.protocol = std::move(field.value);
    }
  }
  request.headers = std::move(head.fields);
  request.end_stream = end_stream;
  if (head.too_large) {
    request.issue = HeaderIssue::kHeaderListTooLarge;
  } else if (request.kind() == RequestKind::kExtendedConnect && !request.header("content-length").empty()) {
    // nghttp2 only drops content-length on a plain CONNECT; on an extended one it would hold the
    // WebSocket to that many bytes. RFC 9113 §8.5: CONNECT carries no content: the app answers 400.
    request.issue = HeaderIssue::kContentLengthOnExtendedConnect;
  }
  if (on_request_) on_request_(stream_id, std::move(request));
}

}  // namespace wsgate::h2
