// A complete set of values for one schema: defaults, then YAML files in order, then
// `section.key=value` overrides, each later source replacing earlier ones key by key.
//
// Errors name where the bad value came from: "<file>:<line>:<column>: <key>: <problem>" for
// files and "override '<argument>': <key>: <problem>" for overrides.
#pragma once

#include <string>
#include <typeindex>
#include <unordered_map>
#include <vector>

#include "config/schema.h"
#include "config/value.h"

namespace adallava::config {

struct Setting {
  Value value;
  std::string origin;  // "default", "<file>:<line>", or "override '<argument>'"
  bool is_default() const { return origin == "default"; }
};

class ResolvedConfig {
 public:
  // All keys at their defaults; `schema` must outlive this object.
  explicit ResolvedConfig(const Schema& schema);

  // Merges one YAML file. Unknown keys, wrong types, out-of-range values, duplicate keys and
  // YAML syntax errors throw adallava::Error naming the file, line and column.
  void merge_file(const std::string& path);
  // Same, for YAML text; `source_name` stands in for the file name in messages and origins.
  void merge_yaml_text(const std::string& text, const std::string& source_name);
  // Applies "section.key=value"; the value is read with YAML scalar rules, typed by the schema.
  void apply_override(const std::string& argument);
  // Throws naming every required key that is still unset.
  void check_required() const;

  const Schema& schema() const { return *schema_; }
  const Setting& setting(const std::string& key) const;
  const Value& value(const std::string& key) const { return setting(key).value; }
  const std::string& origin(const std::string& key) const { return setting(key).origin; }
  bool is_set(const std::string& key) const { return !is_null(value(key)); }

  // Typed access; asking for the wrong type or an unknown key throws. String access also
  // serves path and enum keys. Null values throw too: test is_set() first for nullable keys.
  bool get_bool(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;
  const std::string& get_string(const std::string& key) const;
  const std::vector<int64_t>& get_int_list(const std::string& key) const;
  const std::vector<double>& get_float_list(const std::string& key) const;
  const std::vector<std::string>& get_string_list(const std::string& key) const;
  const Frequency& get_frequency(const std::string& key) const;

  // The bound struct filled with every value (see schema.h). Call check_required() first.
  template <typename Target>
  Target to_struct() const {
    Target target{};
    fill(&target, typeid(Target));
    return target;
  }

  // The resolved values as YAML, sections in schema order, each line of `header` written as a
  // leading comment. When `annotate_origins`, values that are not defaults carry a trailing
  // "# <origin>" comment. Loading the text with merge_yaml_text gives the same values.
  std::string to_yaml(const std::vector<std::string>& header, bool annotate_origins = true) const;

  // Keys whose values differ (origins are ignored).
  std::vector<std::string> differing_keys(const ResolvedConfig& other) const;
  bool same_values(const ResolvedConfig& other) const { return differing_keys(other).empty(); }

 private:
  void fill(void* target, std::type_index type) const;
  const KeySpec& spec_or_throw(const std::string& key) const;
  template <typename T>
  const T& get_as(const std::string& key, const char* wanted) const;

  const Schema* schema_;
  std::unordered_map<std::string, Setting> settings_;
};

// True when a command-line argument looks like an override ("a.b=c" or "key=value" with an
// '=' after a non-empty name without spaces) rather than a file name.
bool is_override_argument(const std::string& argument);
// Fails on the first of `arguments` that is not an override (a mistyped option or a stray word),
// naming it.
void check_override_arguments(const std::vector<std::string>& arguments);

}  // namespace adallava::config
