// A configuration schema: every key declared once with its type, default, allowed values, help
// text, and the struct field it fills.
//
// Keys are dotted paths ("optimizer.lr", "model.arch.llm_layers"); every proper prefix of a key
// is a section. A schema is bound to one plain struct (e.g. TrainConfig): each key names the
// field it is stored in, so the struct never needs a second list of keys. Declare keys with
//
//   schema.add(key(ADALLAVA_CONFIG_FIELD(TrainConfig,
//   optimizer.lr)).above(0).def(2e-5).help("..."));
//
// where the macro expands to the key text "optimizer.lr" and an accessor for cfg.optimizer.lr.
// The field's C++ type fixes the value type (bool, int64_t, double, std::string, vectors,
// Frequency); std::optional<...> fields make the key nullable (null = not set).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <typeindex>
#include <vector>

#include "config/value.h"

namespace adallava::config {

struct Bound {
  double value;
  bool inclusive;
};

struct KeySpec {
  std::string key;
  ValueType type = ValueType::String;
  Value default_value;       // null for nullable keys without a default and for required keys
  bool nullable = false;     // null is a legal value
  bool required = false;     // no default: a config file or override must set it
  std::optional<Bound> min;  // numbers, and every element of numeric lists
  std::optional<Bound> max;
  std::vector<std::string> choices;   // Enum only
  std::optional<size_t> list_length;  // lists with a fixed number of elements
  std::string help;
  std::function<void(const Value&, void*)> store;  // writes the value into the bound field
  std::type_index target = typeid(void);           // the struct `store` writes into
};

// Checks an already-typed value against the key's range, choices and list length; throws
// adallava::Error with a message that does not name the key (callers add key and location).
void check_constraints(const KeySpec& spec, const Value& value);
// "> 0 and <= 1", "one of: a, b", "2 elements" ... empty when unconstrained.
std::string describe_constraints(const KeySpec& spec);

class Schema {
 public:
  // Validates the declaration (unique key, default present and within its own constraints,
  // same bound struct as the other keys); a bad declaration is a programming error and throws
  // std::logic_error.
  void add(KeySpec spec);

  const std::vector<KeySpec>& keys() const { return keys_; }
  const KeySpec* find(const std::string& key) const;
  bool is_section(const std::string& name) const;
  // Keys of `section` (or top-level names when empty), direct children only, in declaration order.
  std::vector<std::string> children(const std::string& section) const;
  // The closest known keys to a misspelt one, best first (empty when nothing is close).
  std::vector<std::string> suggestions(const std::string& key) const;

  // Key reference as a Markdown table: key, type, default, allowed values, description.
  std::string markdown_table() const;

  std::type_index target_type() const { return target_; }

 private:
  std::vector<KeySpec> keys_;
  std::type_index target_ = typeid(void);
};

namespace detail {

template <typename T>
struct Optional : std::false_type {
  using type = T;
};
template <typename T>
struct Optional<std::optional<T>> : std::true_type {
  using type = T;
};

template <typename Field>
constexpr ValueType natural_type() {
  using T = typename Optional<Field>::type;
  if constexpr (std::is_same_v<T, bool>)
    return ValueType::Bool;
  else if constexpr (std::is_same_v<T, int64_t>)
    return ValueType::Int;
  else if constexpr (std::is_same_v<T, double>)
    return ValueType::Float;
  else if constexpr (std::is_same_v<T, std::string>)
    return ValueType::String;
  else if constexpr (std::is_same_v<T, std::vector<int64_t>>)
    return ValueType::IntList;
  else if constexpr (std::is_same_v<T, std::vector<double>>)
    return ValueType::FloatList;
  else if constexpr (std::is_same_v<T, std::vector<std::string>>)
    return ValueType::StringList;
  else if constexpr (std::is_same_v<T, Frequency>)
    return ValueType::Frequency;
  else
    static_assert(sizeof(T) == 0,
                  "config fields must be bool, int64_t, double, std::string, "
                  "a vector of those, Frequency, or std::optional of one");
}

template <typename T>
void store_field(const Value& value, T& field) {
  field = std::get<T>(value);
}
template <typename T>
void store_field(const Value& value, std::optional<T>& field) {
  if (is_null(value)) {
    field.reset();
  } else {
    field = std::get<T>(value);
  }
}

}  // namespace detail

// Fluent declaration of one key; see the file comment.
class KeyBuilder {
 public:
  explicit KeyBuilder(KeySpec spec) : spec_(std::move(spec)) {}

  KeyBuilder& path();                                    // string field holding a path
  KeyBuilder& one_of(std::vector<std::string> choices);  // string field holding an enum
  KeyBuilder& required();
  KeyBuilder& at_least(double v) { return set_min(v, true); }
  KeyBuilder& above(double v) { return set_min(v, false); }
  KeyBuilder& at_most(double v) { return set_max(v, true); }
  KeyBuilder& below(double v) { return set_max(v, false); }
  KeyBuilder& length(size_t n);
  KeyBuilder& help(std::string text);

  // Defaults; numbers are converted to the key's type, text is parsed for frequency keys.
  KeyBuilder& def(bool v);
  KeyBuilder& def(int v) { return def(static_cast<int64_t>(v)); }
  KeyBuilder& def(int64_t v);
  KeyBuilder& def(double v);
  KeyBuilder& def(const char* v) { return def(std::string(v)); }
  KeyBuilder& def(const std::string& v);
  KeyBuilder& def(Value v);

  operator KeySpec() const { return spec_; }

 private:
  KeyBuilder& set_min(double v, bool inclusive);
  KeyBuilder& set_max(double v, bool inclusive);
  KeySpec spec_;
};

template <typename Target, typename Field>
KeyBuilder key(const char* name, Field& (*field)(Target&)) {
  KeySpec spec;
  spec.key = name;
  spec.type = detail::natural_type<Field>();
  spec.nullable = detail::Optional<Field>::value;
  spec.target = typeid(Target);
  spec.store = [field](const Value& value, void* target) {
    detail::store_field(value, field(*static_cast<Target*>(target)));
  };
  KeyBuilder builder(std::move(spec));
  return builder;
}

}  // namespace adallava::config

// Expands to `"a.b.c", accessor of t.a.b.c`: the key text and its field, written once.
#define ADALLAVA_CONFIG_FIELD(Target, path) \
#path, +[](Target & target_) -> auto& {   \
    return target_.path;                    \
  }
