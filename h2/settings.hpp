// Local HTTP/2 settings and resource bounds of a session (RFC 9113 §6.5.2, RFC 8441 §3), with
// defaults sized for many long-lived WebSocket streams on one connection.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wsgate::h2 {

struct Settings {
  // SETTINGS_MAX_CONCURRENT_STREAMS we advertise (server: peer-opened streams beyond it are refused).
  std::uint32_t max_concurrent_streams = 100;
  // SETTINGS_INITIAL_WINDOW_SIZE: per-stream receive window; reopened only by consume().
  std::uint32_t initial_window_bytes = 256 * 1024;
  // Connection-level receive window (set once with a WINDOW_UPDATE on stream 0). Received bytes are
  // credited back at once, so this only bounds what may be in flight.
  std::uint32_t connection_window_bytes = 16 * 1024 * 1024;
  // SETTINGS_MAX_HEADER_LIST_SIZE, counted as RFC 9113 §6.5.2 (name + value + 32 per field). A larger
  // incoming header block is flagged (HeaderIssue::kHeaderListTooLarge) so the app can answer 431.
  std::uint32_t max_header_list_bytes = 64 * 1024;
  // SETTINGS_MAX_FRAME_SIZE we accept (16384..16777215).
  std::uint32_t max_frame_bytes = 16384;
  // Bound of the per-stream outgoing queue the app fills with send_data().
  std::size_t max_outgoing_bytes_per_stream = 256 * 1024;
  // Most entries accepted in one incoming SETTINGS frame (nghttp2_option_set_max_settings).
  std::size_t max_settings_entries = 32;
  // Rapid-reset guard (CVE-2023-44487): a token bucket of peer RST_STREAMs; over it the session
  // answers GOAWAY (nghttp2_option_set_stream_reset_rate_limit).
  std::uint64_t stream_reset_burst = 1000;
  std::uint64_t stream_reset_rate_per_second = 33;
};

}  // namespace wsgate::h2
