// The typed values a configuration key can hold, and their YAML spelling.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "config/frequency.h"

namespace adallava::config {

enum class ValueType {
  Bool,
  Int,
  Float,
  String,
  Path,  // a string naming a file or directory (not checked for existence here)
  Enum,  // a string from a fixed list of choices
  IntList,
  FloatList,
  StringList,
  Frequency,
};

// "bool", "int", "float", "string", "path", "enum", "list of int", ... (used in messages and docs).
std::string type_name(ValueType type);

// std::monostate is null: an optional key that is not set.
using Value = std::variant<std::monostate, bool, int64_t, double, std::string, std::vector<int64_t>,
                           std::vector<double>, std::vector<std::string>, Frequency>;

bool is_null(const Value& value);

// Shortest text that reads back to the same double, always with a '.' or exponent ("1.0", "1e-05").
std::string format_float(double value);
// A string as a YAML scalar: plain when that is unambiguous, else double-quoted with escapes.
std::string format_yaml_string(const std::string& text);
// Any value as YAML text (flow style for lists), readable by the loader as the same value.
std::string format_yaml_value(const Value& value);

}  // namespace adallava::config
