// The shared half of the h2 sessions: nghttp2 callbacks, byte pumping, per-stream outgoing queues
// and flow control (RFC 9113 §5.2, §6.9).
#include "h2/session.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <new>
#include <string_view>

namespace wsgate::h2 {
namespace {

// nghttp2 calls us from C: an exception must not cross it. A throwing callback fails the session.
template <typename Fn>
auto guarded(Fn&& fn) noexcept -> decltype(fn()) {
  try {
    return fn();
  } catch (...) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
}

std::string_view as_view(const std::uint8_t* bytes, std::size_t length) {
  return {reinterpret_cast<const char*>(bytes), length};
}

// RFC 9113 §8.2.2: connection-specific fields must not appear in HTTP/2.
bool connection_specific(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade";
}

}  // namespace

struct Session::Callbacks {
  static Session& self(void* user_data) { return *static_cast<Session*>(user_data); }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    return guarded([&] {
      if (frame->hd.type != NGHTTP2_HEADERS) return 0;
      Session& session = self(user_data);
      const std::int32_t stream_id = frame->hd.stream_id;
      Stream* stream = session.find_stream(stream_id);
      if (stream == nullptr) {
        if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
        stream = &session.add_stream(stream_id);
      }
      if (session.is_head_category(frame->headers.cat, *stream)) {
        stream->collecting_head = true;
        stream->head = {};
      }
      return 0;
    });
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t name_length, const std::uint8_t* value, std::size_t value_length,
                       std::uint8_t, void* user_data) {
    return guarded([&] {
      Session& session = self(user_data);
      Stream* stream = session.find_stream(frame->hd.stream_id);
      if (stream == nullptr || !stream->collecting_head) return 0;
      IncomingHead& head = stream->head;
      // RFC 9113 §6.5.2: a field costs its name and value octets plus 32.
      head.list_bytes += name_length + value_length + 32;
      if (head.list_bytes > session.settings_.max_header_list_bytes) head.too_large = true;
      if (head.too_large) return 0;  // keep counting, stop storing: the app answers 431
      Header header{std::string(as_view(name, name_length)), std::string(as_view(value, value_length))};
      if (name_length > 0 && name[0] == ':') {
        head.pseudo.push_back(std::move(header));
      } else {
        head.fields.push_back(std::move(header));
      }
      return 0;
    });
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    return guarded([&] {
      Session& session = self(user_data);
      const std::int32_t stream_id = frame->hd.stream_id;
      const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
      switch (frame->hd.type) {
        case NGHTTP2_HEADERS: {
          Stream* stream = session.find_stream(stream_id);
          if (stream != nullptr && stream->collecting_head) {
            stream->collecting_head = false;
            session.on_head(stream_id, *stream, end_stream);
          }
          if (end_stream && session.events_.on_stream_end) session.events_.on_stream_end(stream_id);
          break;
        }
        case NGHTTP2_DATA:
          if (end_stream && session.events_.on_stream_end) session.events_.on_stream_end(stream_id);
          break;
        case NGHTTP2_GOAWAY:
          if (session.events_.on_goaway) {
            session.events_.on_goaway(frame->goaway.last_stream_id,
                                      static_cast<ErrorCode>(frame->goaway.error_code));
          }
          break;
        case NGHTTP2_SETTINGS:
          if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) session.on_remote_settings();
          break;
        default:
          break;
      }
      return 0;
    });
  }

  static int on_data_chunk_recv(nghttp2_session* handle, std::uint8_t, std::int32_t stream_id,
                                const std::uint8_t* data, std::size_t length, void* user_data) {
    return guarded([&] {
      Session& session = self(user_data);
      // Backpressure: the connection window is credited at once so a slow stream never stalls its
      // neighbours; the stream window waits for consume().
      const int rv = nghttp2_session_consume_connection(handle, length);
      if (rv != 0) return static_cast<int>(NGHTTP2_ERR_CALLBACK_FAILURE);
      if (session.events_.on_data) session.events_.on_data(stream_id, {data, length});
      return 0;
    });
  }

  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code,
                             void* user_data) {
    return guarded([&] {
      Session& session = self(user_data);
      if (session.find_stream(stream_id) == nullptr) return 0;
      if (session.events_.on_stream_close) {
        session.events_.on_stream_close(stream_id, static_cast<ErrorCode>(error_code));
      }
      session.streams_.erase(stream_id);
      return 0;
    });
  }

  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    Session& session = self(user_data);
    if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR) {
      const auto code = static_cast<ErrorCode>(frame->goaway.error_code);
      if (!session.app_goaway_ || code != session.app_goaway_code_) session.connection_error_ = code;
    }
    return 0;
  }

  static ssize_t send(nghttp2_session*, const std::uint8_t* data, std::size_t length, int, void* user_data) {
    return guarded([&]() -> ssize_t {
      Sink& sink = self(user_data).sink_;
      if (sink.out == nullptr) return NGHTTP2_ERR_WOULDBLOCK;
      const std::size_t n = std::min(length, sink.room());
      if (n == 0) return NGHTTP2_ERR_WOULDBLOCK;
      sink.out->insert(sink.out->end(), data, data + n);
      return static_cast<ssize_t>(n);
    });
  }

  // NGHTTP2_DATA_FLAG_NO_COPY: gathers a DATA frame's payload straight from the stream's queue.
  static int send_data(nghttp2_session*, nghttp2_frame* frame, const std::uint8_t* frame_head,
                       std::size_t length, nghttp2_data_source*, void* user_data) {
    return guarded([&] {
      Session& session = self(user_data);
      const std::int32_t stream_id = frame->hd.stream_id;
      Stream* stream = session.find_stream(stream_id);
      if (stream == nullptr || stream->outgoing.size() < length) {
        return static_cast<int>(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE);
      }
      Sink& sink = session.sink_;
      const std::size_t padding = frame->data.padlen;  // includes the Pad Length octet when > 0
      const std::size_t frame_bytes = 9 + length + padding;
      if (sink.out == nullptr || (frame_bytes > sink.room() && sink.written() > 0)) {
        return static_cast<int>(NGHTTP2_ERR_WOULDBLOCK);
      }
      std::vector<std::uint8_t>& out = *sink.out;
      out.insert(out.end(), frame_head, frame_head + 9);
      if (padding > 0) out.push_back(static_cast<std::uint8_t>(padding - 1));
      const auto payload = stream->outgoing.front().first(length);
      out.insert(out.end(), payload.begin(), payload.end());
      if (padding > 1) out.insert(out.end(), padding - 1, 0);
      stream->outgoing.pop(length);
      if (session.events_.on_data_sent) session.events_.on_data_sent(stream_id, stream->outgoing.size());
      return 0;
    });
  }

  static ssize_t read_queue(nghttp2_session*, std::int32_t stream_id, std::uint8_t*, std::size_t length,
                            std::uint32_t* data_flags, nghttp2_data_source*, void* user_data) {
    return guarded([&]() -> ssize_t {
      Stream* stream = self(user_data).find_stream(stream_id);
      if (stream == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      const std::size_t n = std::min(length, stream->outgoing.size());
      if (n == 0 && !stream->data_ended) {
        stream->data_deferred = true;  // resumed by send_data()/end_data()
        return NGHTTP2_ERR_DEFERRED;
      }
      *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
      if (stream->data_ended && n == stream->outgoing.size()) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    });
  }
};

namespace {

struct CallbacksDeleter {
  void operator()(nghttp2_session_callbacks* callbacks) const { nghttp2_session_callbacks_del(callbacks); }
};
struct OptionDeleter {
  void operator()(nghttp2_option* option) const { nghttp2_option_del(option); }
};

}  // namespace

Session::Session(Role role, const Settings& settings, StreamEvents events)
    : events_(std::move(events)), settings_(settings) {
  nghttp2_session_callbacks* raw_callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&raw_callbacks) != 0) throw std::bad_alloc();
  std::unique_ptr<nghttp2_session_callbacks, CallbacksDeleter> callbacks(raw_callbacks);
  nghttp2_session_callbacks_set_send_callback(callbacks.get(), &Callbacks::send);
  nghttp2_session_callbacks_set_send_data_callback(callbacks.get(), &Callbacks::send_data);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks.get(), &Callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks.get(), &Callbacks::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks.get(), &Callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks.get(), &Callbacks::on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks.get(), &Callbacks::on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks.get(), &Callbacks::on_frame_send);

  nghttp2_option* raw_option = nullptr;
  if (nghttp2_option_new(&raw_option) != 0) throw std::bad_alloc();
  std::unique_ptr<nghttp2_option, OptionDeleter> option(raw_option);
  // Windows reopen only when the app has forwarded the bytes (consume()).
  nghttp2_option_set_no_auto_window_update(option.get(), 1);
  // Closed-stream state costs memory and we do not use priorities.
  nghttp2_option_set_no_closed_streams(option.get(), 1);
  nghttp2_option_set_max_settings(option.get(), settings_.max_settings_entries);
  nghttp2_option_set_stream_reset_rate_limit(option.get(), settings_.stream_reset_burst,
                                             settings_.stream_reset_rate_per_second);

  nghttp2_session* raw_session = nullptr;
  const int rv = role == Role::kServer
                     ? nghttp2_session_server_new2(&raw_session, callbacks.get(), this, option.get())
                     : nghttp2_session_client_new2(&raw_session, callbacks.get(), this, option.get());
  if (rv != 0) throw std::bad_alloc();
  session_.reset(raw_session);
}

Session::~Session() = default;

Error Session::start(std::span<const nghttp2_settings_entry> entries) {
  int rv = nghttp2_submit_settings(handle(), NGHTTP2_FLAG_NONE, entries.data(), entries.size());
  if (rv != 0) return from_lib_error(rv);
  if (settings_.connection_window_bytes > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE) {
    rv = nghttp2_session_set_local_window_size(
        handle(), NGHTTP2_FLAG_NONE, 0,
        static_cast<std::int32_t>(
            std::min<std::uint32_t>(settings_.connection_window_bytes, NGHTTP2_MAX_WINDOW_SIZE)));
    if (rv != 0) return from_lib_error(rv);
  }
  return Error::kNone;
}

ReceiveResult Session::receive(std::span<const std::uint8_t> bytes) {
  if (fatal_ != Error::kNone) return {0, Error::kSessionFailed};
  if (connection_error_) return {0, Error::kConnectionError};
  if (bytes.empty()) return {0, Error::kNone};
  const ssize_t rv = nghttp2_session_mem_recv(handle(), bytes.data(), bytes.size());
  if (rv < 0) {
    fatal_ = from_lib_error(static_cast<int>(rv));
    return {0, fatal_};
  }
  return {static_cast<std::size_t>(rv), Error::kNone};
}

ProduceResult Session::produce(std::vector<std::uint8_t>& out, std::size_t max_bytes) {
  if (fatal_ != Error::kNone) return {0, Error::kSessionFailed};
  sink_ = Sink{&out, out.size(), max_bytes};
  const int rv = nghttp2_session_send(handle());
  const std::size_t written = sink_.written();
  sink_ = Sink{};
  if (rv != 0) {
    fatal_ = from_lib_error(rv);
    return {written, fatal_};
  }
  return {written, Error::kNone};
}

bool Session::want_read() const { return fatal_ == Error::kNone && nghttp2_session_want_read(handle()) != 0; }

bool Session::want_write() const {
  return fatal_ == Error::kNone && nghttp2_session_want_write(handle()) != 0;
}

Error Session::send_data(std::int32_t stream_id, std::span<const std::uint8_t> bytes) {
  Stream* stream = find_stream(stream_id);
  if (stream == nullptr) return Error::kNoSuchStream;
  if (stream->data_ended) return Error::kDataEnded;
  if (bytes.size() > outgoing_space(stream_id)) return Error::kBufferFull;
  if (bytes.empty()) return Error::kNone;
  try {
    stream->outgoing.append(bytes);
  } catch (const std::bad_alloc&) {
    return Error::kNoMemory;
  }
  resume_if_deferred(stream_id, *stream);
  return Error::kNone;
}

Error Session::end_data(std::int32_t stream_id) {
  Stream* stream = find_stream(stream_id);
  if (stream == nullptr) return Error::kNoSuchStream;
  if (stream->data_ended) return Error::kDataEnded;
  stream->data_ended = true;
  resume_if_deferred(stream_id, *stream);
  return Error::kNone;
}

std::size_t Session::outgoing_bytes(std::int32_t stream_id) const {
  const Stream* stream = find_stream(stream_id);
  return stream == nullptr ? 0 : stream->outgoing.size();
}

std::size_t Session::outgoing_space(std::int32_t stream_id) const {
  const Stream* stream = find_stream(stream_id);
  if (stream == nullptr || stream->data_ended) return 0;
  const std::size_t queued = stream->outgoing.size();
  return queued >= settings_.max_outgoing_bytes_per_stream ? 0
                                                           : settings_.max_outgoing_bytes_per_stream - queued;
}

Error Session::consume(std::int32_t stream_id, std::size_t bytes) {
  if (stream_id <= 0) return Error::kInvalidArgument;
  if (bytes == 0) return Error::kNone;
  const int rv = nghttp2_session_consume_stream(handle(), stream_id, bytes);
  return rv == 0 ? Error::kNone : from_lib_error(rv);
}

Error Session::reset_stream(std::int32_t stream_id, ErrorCode code) {
  if (stream_id <= 0) return Error::kInvalidArgument;
  if (find_stream(stream_id) == nullptr) return Error::kNoSuchStream;
  const int rv =
      nghttp2_submit_rst_stream(handle(), NGHTTP2_FLAG_NONE, stream_id, static_cast<std::uint32_t>(code));
  return rv == 0 ? Error::kNone : from_lib_error(rv);
}

Error Session::goaway(ErrorCode code) {
  if (fatal_ != Error::kNone) return Error::kSessionFailed;
  app_goaway_ = true;
  app_goaway_code_ = code;
  const int rv =
      nghttp2_submit_goaway(handle(), NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(handle()),
                            static_cast<std::uint32_t>(code), nullptr, 0);
  return rv == 0 ? Error::kNone : from_lib_error(rv);
}

std::int32_t Session::remote_window_bytes(std::int32_t stream_id) const {
  const std::int32_t stream_window = nghttp2_session_get_stream_remote_window_size(handle(), stream_id);
  if (stream_window < 0) return -1;
  return std::min(stream_window, nghttp2_session_get_remote_window_size(handle()));
}

std::int32_t Session::local_window_bytes(std::int32_t stream_id) const {
  return nghttp2_session_get_stream_local_window_size(handle(), stream_id);
}

Session::Stream* Session::find_stream(std::int32_t stream_id) {
  const auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : &it->second;
}

const Session::Stream* Session::find_stream(std::int32_t stream_id) const {
  const auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : &it->second;
}

nghttp2_data_provider Session::queue_data_provider() {
  nghttp2_data_provider provider{};
  provider.read_callback = &Callbacks::read_queue;
  return provider;
}

std::vector<nghttp2_nv> Session::to_nv(std::span<const Header> headers) {
  std::vector<nghttp2_nv> nva;
  nva.reserve(headers.size());
  for (const Header& header : headers) {
    // nghttp2 copies names and values (NGHTTP2_NV_FLAG_NONE); the casts drop const only for its C API.
    nva.push_back(nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(header.name.data())),
                             reinterpret_cast<std::uint8_t*>(const_cast<char*>(header.value.data())),
                             header.name.size(), header.value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  return nva;
}

bool Session::valid_regular_headers(std::span<const Header> headers) {
  return std::all_of(headers.begin(), headers.end(), [](const Header& header) {
    const auto* name = reinterpret_cast<const std::uint8_t*>(header.name.data());
    const auto* value = reinterpret_cast<const std::uint8_t*>(header.value.data());
    return !header.name.empty() && header.name[0] != ':' &&
           nghttp2_check_header_name(name, header.name.size()) != 0 &&
           nghttp2_check_header_value(value, header.value.size()) != 0 && !connection_specific(header.name);
  });
}

Error Session::from_lib_error(int lib_error) {
  switch (lib_error) {
    case 0:
      return Error::kNone;
    case NGHTTP2_ERR_NOMEM:
      return Error::kNoMemory;
    case NGHTTP2_ERR_CALLBACK_FAILURE:
      return Error::kCallbackFailure;
    case NGHTTP2_ERR_BAD_CLIENT_MAGIC:
      return Error::kBadPreface;
    case NGHTTP2_ERR_FLOODED:
      return Error::kFlooded;
    case NGHTTP2_ERR_INVALID_ARGUMENT:
      return Error::kInvalidArgument;
    case NGHTTP2_ERR_DATA_EXIST:
      return Error::kAlreadyResponded;
    case NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE:
      return Error::kStreamIdsExhausted;
    case NGHTTP2_ERR_STREAM_CLOSED:
    case NGHTTP2_ERR_STREAM_CLOSING:
      return Error::kNoSuchStream;
    case NGHTTP2_ERR_SESSION_CLOSING:
    case NGHTTP2_ERR_START_STREAM_NOT_ALLOWED:
      return Error::kGoingAway;
    default:
      return Error::kInternal;
  }
}

void Session::resume_if_deferred(std::int32_t stream_id, Stream& stream) {
  if (!stream.data_deferred) return;
  stream.data_deferred = false;
  // Only fails if nothing is deferred any more (e.g. the stream was reset meanwhile): nothing to do.
  nghttp2_session_resume_data(handle(), stream_id);
}

}  // namespace wsgate::h2
