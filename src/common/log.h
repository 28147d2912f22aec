// Logging goes through spdlog; components tag their lines, e.g. log::info("[model] ...").
#pragma once

#include <spdlog/spdlog.h>

namespace adallava {

// Sets the global level from a name (trace, debug, info, warn, error, off).
void set_log_level(const std::string& level);

}  // namespace adallava
