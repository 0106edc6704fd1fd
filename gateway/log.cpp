// See log.hpp.
#include "gateway/log.hpp"

#include <unistd.h>

#include <string>

namespace wsgate::gw {

void log_line(std::string_view message) {
  std::string line;
  line.reserve(message.size() + 9);
  line.append("wsgate: ").append(message).push_back('\n');
  // One write(2) per line: atomic for pipes up to PIPE_BUF, and no lock needed.
  std::size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace wsgate::gw
