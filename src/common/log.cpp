#include "common/log.h"

#include "common/error.h"

namespace adallava {

void set_log_level(const std::string& level) {
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") fail("unknown log level '{}'", level);
  spdlog::set_level(parsed);
}

}  // namespace adallava
