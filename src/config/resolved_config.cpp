#include "config/resolved_config.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "common/error.h"
#include "common/files.h"
#include "config/yaml_value.h"

namespace adallava::config {

namespace {

std::string location(const std::string& source, const YAML::Mark& mark) {
  if (mark.line < 0) return source;
  return fmt::format("{}:{}:{}", source, mark.line + 1, mark.column + 1);
}

// "unknown key 'x' (did you mean 'y'?)" or, failing that, what the section does contain.
std::string unknown_key_message(const Schema& schema, const std::string& key) {
  std::string message = fmt::format("unknown key '{}'", key);
  const auto close = schema.suggestions(key);
  if (!close.empty())
    return message + fmt::format(" (did you mean '{}'?)", fmt::join(close, "' or '"));
  const auto dot = key.rfind('.');
  const std::string section = dot == std::string::npos ? "" : key.substr(0, dot);
  if (!section.empty() && schema.is_section(section)) {
    return message +
           fmt::format(" ('{}' has: {})", section, fmt::join(schema.children(section), ", "));
  }
  return message + fmt::format(" (top-level names: {})", fmt::join(schema.children(""), ", "));
}

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

// Walks one mapping of a YAML file, recursing into sections.
class FileMerger {
 public:
  FileMerger(const Schema& schema, const std::string& source,
             std::unordered_map<std::string, Setting>& settings)
      : schema_(schema), source_(source), settings_(settings) {}

  void merge_mapping(const YAML::Node& map, const std::string& section) {
    std::set<std::string> seen;
    for (const auto& entry : map) {
      const YAML::Node& key_node = entry.first;
      const YAML::Node& value_node = entry.second;
      const std::string where = location(source_, key_node.Mark());
      if (!key_node.IsScalar())
        fail("{}: keys must be plain names, got {}", where, describe_node(key_node));
      const std::string name =
          section.empty() ? key_node.Scalar() : section + "." + key_node.Scalar();
      if (!seen.insert(name).second) fail("{}: {}: duplicate key in the same mapping", where, name);

      if (const KeySpec* spec = schema_.find(name)) {
        Value value;
        try {
          value = read_yaml_value(value_node, *spec);
        } catch (const Error& e) {
          fail("{}: {}: {}", location(source_, value_node.Mark()), name, e.what());
        }
        settings_[name] =
            Setting{std::move(value), fmt::format("{}:{}", source_, key_node.Mark().line + 1)};
      } else if (schema_.is_section(name)) {
        if (value_node.IsNull()) continue;  // an empty section changes nothing
        if (!value_node.IsMap()) {
          fail("{}: {}: is a section and needs a mapping of its keys ({}), got {}", where, name,
               fmt::join(schema_.children(name), ", "), describe_node(value_node));
        }
        merge_mapping(value_node, name);
      } else {
        fail("{}: {}", where, unknown_key_message(schema_, name));
      }
    }
  }

 private:
  const Schema& schema_;
  const std::string& source_;
  std::unordered_map<std::string, Setting>& settings_;
};

}  // namespace

ResolvedConfig::ResolvedConfig(const Schema& schema) : schema_(&schema) {
  for (const auto& spec : schema.keys())
    settings_[spec.key] = Setting{spec.default_value, "default"};
}

void ResolvedConfig::merge_file(const std::string& path) {
  merge_yaml_text(read_text_file(path), path);
}

void ResolvedConfig::merge_yaml_text(const std::string& text, const std::string& source_name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    fail("{}: YAML syntax error: {}", location(source_name, e.mark), e.msg);
  }
  if (!root.IsDefined() || root.IsNull()) return;  // empty file
  if (!root.IsMap()) {
    fail("{}: expected a mapping of sections at the top level, got {}",
         location(source_name, root.Mark()), describe_node(root));
  }
  // Merge into a copy so a file with an error leaves this config unchanged.
  auto merged = settings_;
  FileMerger(*schema_, source_name, merged).merge_mapping(root, "");
  settings_ = std::move(merged);
}

void ResolvedConfig::apply_override(const std::string& argument) {
  const std::string context = fmt::format("override '{}'", one_line(argument));
  const auto eq = argument.find('=');
  if (eq == std::string::npos || trim(argument.substr(0, eq)).empty()) {
    fail("{}: expected section.key=value", context);
  }
  const std::string key = trim(argument.substr(0, eq));
  const KeySpec* spec = schema_->find(key);
  if (!spec) {
    if (schema_->is_section(key)) {
      fail("{}: '{}' is a section; override one of its keys ({}) as {}.<key>=<value>", context, key,
           fmt::join(schema_->children(key), ", "), key);
    }
    fail("{}: {}", context, unknown_key_message(*schema_, key));
  }
  YAML::Node node;
  try {
    node = YAML::Load(argument.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    fail("{}: {}: the value is not valid YAML: {}", context, key, e.msg);
  }
  try {
    settings_[key] = Setting{read_yaml_value(node, *spec), context};
  } catch (const Error& e) {
    fail("{}: {}: {}", context, key, e.what());
  }
}

void ResolvedConfig::check_required() const {
  std::vector<std::string> missing;
  for (const auto& spec : schema_->keys()) {
    if (spec.required && is_null(settings_.at(spec.key).value)) missing.push_back(spec.key);
  }
  if (!missing.empty()) {
    fail(
        "required config keys are not set: {} (set them in a config file or as overrides, e.g. "
        "{}=...)",
        fmt::join(missing, ", "), missing.front());
  }
}

const KeySpec& ResolvedConfig::spec_or_throw(const std::string& key) const {
  const KeySpec* spec = schema_->find(key);
  if (!spec) fail("config: {}", unknown_key_message(*schema_, key));
  return *spec;
}

const Setting& ResolvedConfig::setting(const std::string& key) const {
  spec_or_throw(key);
  return settings_.at(key);
}

template <typename T>
const T& ResolvedConfig::get_as(const std::string& key, const char* wanted) const {
  const KeySpec& spec = spec_or_throw(key);
  const Value& v = settings_.at(key).value;
  if (const T* typed = std::get_if<T>(&v)) return *typed;
  if (is_null(v)) fail("config key '{}' is not set", key);
  fail("config key '{}' is a {}, not a {}", key, type_name(spec.type), wanted);
}

bool ResolvedConfig::get_bool(const std::string& key) const {
  return get_as<bool>(key, "bool");
}
int64_t ResolvedConfig::get_int(const std::string& key) const {
  return get_as<int64_t>(key, "int");
}
double ResolvedConfig::get_float(const std::string& key) const {
  return get_as<double>(key, "float");
}
const std::string& ResolvedConfig::get_string(const std::string& key) const {
  return get_as<std::string>(key, "string");
}
const std::vector<int64_t>& ResolvedConfig::get_int_list(const std::string& key) const {
  return get_as<std::vector<int64_t>>(key, "list of int");
}
const std::vector<double>& ResolvedConfig::get_float_list(const std::string& key) const {
  return get_as<std::vector<double>>(key, "list of float");
}
const std::vector<std::string>& ResolvedConfig::get_string_list(const std::string& key) const {
  return get_as<std::vector<std::string>>(key, "list of string");
}
const Frequency& ResolvedConfig::get_frequency(const std::string& key) const {
  return get_as<Frequency>(key, "frequency");
}

void ResolvedConfig::fill(void* target, std::type_index type) const {
  if (type != schema_->target_type())
    fail("config: the schema is not bound to the requested struct");
  for (const auto& spec : schema_->keys()) {
    const Value& v = settings_.at(spec.key).value;
    if (is_null(v) && !spec.nullable) fail("config key '{}' is required but not set", spec.key);
    spec.store(v, target);
  }
}

std::string ResolvedConfig::to_yaml(const std::vector<std::string>& header,
                                    bool annotate_origins) const {
  std::string out;
  for (const auto& line : header) out += line.empty() ? "#\n" : "# " + one_line(line) + "\n";
  // Depth-first over sections in declaration order.
  auto emit = [&](const auto& self, const std::string& section, size_t depth) -> void {
    const std::string indent(2 * depth, ' ');
    for (const auto& child : schema_->children(section)) {
      const std::string full = section.empty() ? child : section + "." + child;
      if (depth == 0 && !out.empty()) out += "\n";
      if (schema_->find(full)) {
        const Setting& s = settings_.at(full);
        out += indent + child + ": " + format_yaml_value(s.value);
        if (annotate_origins && !s.is_default()) out += "  # " + one_line(s.origin);
        out += "\n";
      } else {
        out += indent + child + ":\n";
        self(self, full, depth + 1);
      }
    }
  };
  emit(emit, "", 0);
  return out;
}

std::vector<std::string> ResolvedConfig::differing_keys(const ResolvedConfig& other) const {
  std::vector<std::string> keys;
  for (const auto& spec : schema_->keys()) {
    const auto it = other.settings_.find(spec.key);
    if (it == other.settings_.end() || !(it->second.value == settings_.at(spec.key).value)) {
      keys.push_back(spec.key);
    }
  }
  return keys;
}

bool is_override_argument(const std::string& argument) {
  const auto eq = argument.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  return std::all_of(argument.begin(), argument.begin() + eq, [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

void check_override_arguments(const std::vector<std::string>& arguments) {
  for (const auto& argument : arguments)
    if (!is_override_argument(argument))
      fail("'{}' is neither an option nor a section.key=value override", argument);
}

}  // namespace adallava::config
