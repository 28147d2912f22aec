#include "config/value.h"

#include <cctype>
#include <cstdlib>
#include <regex>

#include <fmt/format.h>

namespace adallava::config {

std::string type_name(ValueType type) {
  switch (type) {
    case ValueType::Bool:
      return "bool";
    case ValueType::Int:
      return "int";
    case ValueType::Float:
      return "float";
    case ValueType::String:
      return "string";
    case ValueType::Path:
      return "path";
    case ValueType::Enum:
      return "enum";
    case ValueType::IntList:
      return "list of int";
    case ValueType::FloatList:
      return "list of float";
    case ValueType::StringList:
      return "list of string";
    case ValueType::Frequency:
      return "frequency";
  }
  return "?";
}

bool is_null(const Value& value) {
  return std::holds_alternative<std::monostate>(value);
}

std::string format_float(double value) {
  // fmt's default formatting is the shortest round-trip representation.
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";  // 'n': inf/nan
  return text;
}

namespace {

// Words that YAML readers (1.1 or 1.2) would not read as a string when unquoted.
bool is_reserved_word(const std::string& text) {
  static const std::regex kReserved("~|null|true|false|yes|no|on|off|y|n|\\.inf|-\\.inf|\\.nan",
                                    std::regex::icase);
  return std::regex_match(text, kReserved);
}

bool looks_numeric(const std::string& text) {
  if (text.empty()) return false;
  char* end = nullptr;
  std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

}  // namespace

std::string format_yaml_string(const std::string& text) {
  static const std::regex kPlainSafe("[A-Za-z0-9_./][A-Za-z0-9_./+-]*");
  if (std::regex_match(text, kPlainSafe) && !is_reserved_word(text) && !looks_numeric(text)) {
    return text;
  }
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\x{:02x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

namespace {

template <typename T, typename Format>
std::string format_list(const std::vector<T>& items, Format format_item) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += format_item(items[i]);
  }
  return out + "]";
}

}  // namespace

std::string format_yaml_value(const Value& value) {
  struct Visitor {
    std::string operator()(std::monostate) const { return "null"; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return format_float(d); }
    std::string operator()(const std::string& s) const { return format_yaml_string(s); }
    std::string operator()(const std::vector<int64_t>& v) const {
      return format_list(v, [](int64_t i) { return std::to_string(i); });
    }
    std::string operator()(const std::vector<double>& v) const {
      return format_list(v, format_float);
    }
    std::string operator()(const std::vector<std::string>& v) const {
      return format_list(v, format_yaml_string);
    }
    std::string operator()(const Frequency& f) const { return f.to_string(); }
  };
  return std::visit(Visitor{}, value);
}

}  // namespace adallava::config
