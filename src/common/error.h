// User-facing errors. Every failure caused by input (files, configs, budgets, images) is
// reported as adallava::Error with a message naming the file/field and the problem; the CLI
// prints it on one line and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace adallava {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

#define ADALLAVA_CHECK(cond, ...)               \
  do {                                          \
    if (!(cond)) ::adallava::fail(__VA_ARGS__); \
  } while (0)

}  // namespace adallava
