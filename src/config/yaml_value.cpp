#include "config/yaml_value.h"

#include <cerrno>
#include <cstdlib>
#include <regex>

#include "common/error.h"

namespace adallava::config {

namespace {

bool is_plain(const YAML::Node& node) {
  return node.Tag() == "?" || node.Tag().empty();
}

bool is_null_node(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return true;
  if (!node.IsScalar() || !is_plain(node)) return false;
  static const std::regex kNull("|~|null|Null|NULL");
  return std::regex_match(node.Scalar(), kNull);
}

// Bool, int and float need an unquoted scalar: quoting makes a YAML string.
const std::string& plain_scalar(const YAML::Node& node, const std::string& expected) {
  if (!node.IsScalar()) fail("expected {}, got {}", expected, describe_node(node));
  if (!is_plain(node)) fail("expected {}, got the quoted string {}", expected, describe_node(node));
  return node.Scalar();
}

bool read_bool(const YAML::Node& node) {
  const std::string& text = plain_scalar(node, "a bool (true or false)");
  static const std::regex kTrue("true|True|TRUE");
  static const std::regex kFalse("false|False|FALSE");
  if (std::regex_match(text, kTrue)) return true;
  if (std::regex_match(text, kFalse)) return false;
  fail("expected a bool (true or false), got {}", describe_node(node));
}

int64_t read_int(const YAML::Node& node) {
  const std::string& text = plain_scalar(node, "an int");
  static const std::regex kInt("[-+]?[0-9]+");
  if (!std::regex_match(text, kInt)) fail("expected an int, got {}", describe_node(node));
  errno = 0;
  const long long v = std::strtoll(text.c_str(), nullptr, 10);
  if (errno == ERANGE) fail("{} does not fit in a 64-bit int", describe_node(node));
  return v;
}

double read_float(const YAML::Node& node) {
  const std::string& text = plain_scalar(node, "a float");
  static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  if (!std::regex_match(text, kFloat)) fail("expected a float, got {}", describe_node(node));
  errno = 0;
  const double v = std::strtod(text.c_str(), nullptr);
  if (errno == ERANGE && (v > 1.0 || v < -1.0))
    fail("{} is too large for a float", describe_node(node));
  return v;
}

std::string read_string(const YAML::Node& node, const std::string& expected) {
  if (!node.IsScalar()) fail("expected {}, got {}", expected, describe_node(node));
  return node.Scalar();
}

template <typename T, typename ReadItem>
std::vector<T> read_list(const YAML::Node& node, const std::string& expected, ReadItem read_item) {
  if (!node.IsSequence()) {
    fail("expected {} written as a YAML list, e.g. [a, b], got {}", expected, describe_node(node));
  }
  std::vector<T> items;
  for (size_t i = 0; i < node.size(); ++i) {
    try {
      items.push_back(read_item(node[i]));
    } catch (const Error& e) {
      fail("element {}: {}", i, e.what());
    }
  }
  return items;
}

Value read_typed(const YAML::Node& node, const KeySpec& spec) {
  switch (spec.type) {
    case ValueType::Bool:
      return read_bool(node);
    case ValueType::Int:
      return read_int(node);
    case ValueType::Float:
      return read_float(node);
    case ValueType::String:
      return read_string(node, "a string");
    case ValueType::Path:
      return read_string(node, "a path");
    case ValueType::Enum:
      return read_string(node, "one of " + fmt::format("{}", fmt::join(spec.choices, ", ")));
    case ValueType::IntList:
      return read_list<int64_t>(node, "a list of ints", read_int);
    case ValueType::FloatList:
      return read_list<double>(node, "a list of floats", read_float);
    case ValueType::StringList:
      return read_list<std::string>(node, "a list of strings",
                                    [](const YAML::Node& n) { return read_string(n, "a string"); });
    case ValueType::Frequency:
      return parse_frequency(read_string(node, "a frequency (N, Nu, Ne or never)"));
  }
  fail("unsupported type");
}

}  // namespace

std::string describe_node(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "null";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  return "'" + node.Scalar() + "'";
}

Value read_yaml_value(const YAML::Node& node, const KeySpec& spec) {
  if (is_null_node(node)) {
    if (!spec.nullable) fail("may not be null");
    return std::monostate{};
  }
  Value value = read_typed(node, spec);
  check_constraints(spec, value);
  return value;
}

}  // namespace adallava::config
