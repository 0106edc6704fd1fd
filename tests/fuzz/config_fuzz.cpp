// libFuzzer target for gateway/config.*: any bytes fed to load_config_string must come back as a
// Config or a list of ConfigErrors, never a crash, a hang or an escaping exception.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto result = wsgate::gw::load_config_string(text, "fuzz.yaml");
    // A result is either a config or errors, never both or neither.
    if ((result.config == nullptr) == result.errors.empty()) std::abort();
    for (const auto& error : result.errors) {
      if (error.to_string().empty()) std::abort();
    }
    if (result.config) {
      for (const auto& route : result.config->routes) {
        if (result.config->find_backend(route.backend) == nullptr) std::abort();
        (void)result.config->error_at("routes[0].compression", "probe").to_string();
      }
    }
  } catch (...) {
    std::abort();  // the loader promises not to throw
  }
  return 0;
}
