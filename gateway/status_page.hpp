// The admin status page: a StatusSnapshot as self-contained HTML (inline CSS
// and JS, no external resources; refreshes itself every 5 s) and as JSON.
#pragma once

#include <string>
#include <string_view>

#include "gateway/metrics.hpp"

namespace wsgate::gw {

std::string render_status_html(const StatusSnapshot& status);
// `extra_json`: a JSON value from the caller, added as "extra" when not empty.
std::string render_status_json(const StatusSnapshot& status, std::string_view extra_json = {});

// "3d 4h 5m 6s"
std::string format_uptime(double seconds);

}  // namespace wsgate::gw
