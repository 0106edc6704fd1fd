// Operational log lines on stderr ("wsgate: ..."), one write per line so
// threads do not interleave. Not for the data path.
#pragma once

#include <string_view>

namespace wsgate::gw {

void log_line(std::string_view message);

}  // namespace wsgate::gw
