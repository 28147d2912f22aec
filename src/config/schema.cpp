#include "config/schema.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "common/error.h"

namespace adallava::config {

namespace {

bool within(double v, const KeySpec& spec) {
  if (spec.min && (spec.min->inclusive ? v < spec.min->value : v <= spec.min->value)) return false;
  if (spec.max && (spec.max->inclusive ? v > spec.max->value : v >= spec.max->value)) return false;
  return true;
}

std::string format_bound(double v) {
  // Integral bounds read better without a decimal point ("> 0", not "> 0.0").
  if (v == static_cast<double>(static_cast<int64_t>(v)))
    return std::to_string(static_cast<int64_t>(v));
  return format_float(v);
}

std::string describe_range(const KeySpec& spec) {
  std::vector<std::string> parts;
  if (spec.min)
    parts.push_back((spec.min->inclusive ? ">= " : "> ") + format_bound(spec.min->value));
  if (spec.max)
    parts.push_back((spec.max->inclusive ? "<= " : "< ") + format_bound(spec.max->value));
  return fmt::format("{}", fmt::join(parts, " and "));
}

template <typename T>
void check_number(const KeySpec& spec, T v, const std::string& what) {
  if (!within(static_cast<double>(v), spec)) {
    fail("{}{} is out of range: must be {}", what, format_yaml_value(Value(v)),
         describe_range(spec));
  }
}

template <typename T>
void check_list(const KeySpec& spec, const std::vector<T>& items) {
  if (spec.list_length && items.size() != *spec.list_length) {
    fail("expected {} elements, got {}", *spec.list_length, items.size());
  }
  if constexpr (!std::is_same_v<T, std::string>) {
    for (size_t i = 0; i < items.size(); ++i)
      check_number(spec, items[i], fmt::format("element {}: ", i));
  }
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string last_component(const std::string& key) {
  const auto dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

std::string escape_markdown_cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void check_constraints(const KeySpec& spec, const Value& value) {
  if (is_null(value)) {
    if (!spec.nullable) fail("may not be null");
    return;
  }
  if (const auto* i = std::get_if<int64_t>(&value)) check_number(spec, *i, "");
  if (const auto* d = std::get_if<double>(&value)) check_number(spec, *d, "");
  if (const auto* s = std::get_if<std::string>(&value)) {
    if (spec.type == ValueType::Enum &&
        std::find(spec.choices.begin(), spec.choices.end(), *s) == spec.choices.end()) {
      fail("'{}' is not one of: {}", *s, fmt::join(spec.choices, ", "));
    }
    if (spec.type == ValueType::Path && s->empty()) fail("a path may not be empty");
  }
  if (const auto* v = std::get_if<std::vector<int64_t>>(&value)) check_list(spec, *v);
  if (const auto* v = std::get_if<std::vector<double>>(&value)) check_list(spec, *v);
  if (const auto* v = std::get_if<std::vector<std::string>>(&value)) check_list(spec, *v);
}

std::string describe_constraints(const KeySpec& spec) {
  std::vector<std::string> parts;
  if (spec.type == ValueType::Enum)
    parts.push_back(fmt::format("{}", fmt::join(spec.choices, ", ")));
  if (spec.list_length) parts.push_back(fmt::format("{} elements", *spec.list_length));
  const std::string range = describe_range(spec);
  if (!range.empty()) {
    const bool list = spec.type == ValueType::IntList || spec.type == ValueType::FloatList;
    parts.push_back(list ? "each " + range : range);
  }
  if (spec.type == ValueType::Frequency) parts.push_back("N / Nu updates, Ne epochs, never");
  return fmt::format("{}", fmt::join(parts, "; "));
}

void Schema::add(KeySpec spec) {
  auto bad = [&](const std::string& why) {
    throw std::logic_error("config schema: key '" + spec.key + "': " + why);
  };
  if (spec.key.empty() || spec.key.front() == '.' || spec.key.back() == '.') bad("malformed name");
  if (find(spec.key)) bad("declared twice");
  if (is_section(spec.key)) bad("already used as a section");
  for (const auto& other : keys_) {
    if (spec.key.compare(0, other.key.size() + 1, other.key + ".") == 0) {
      bad("'" + other.key + "' is a key, so it cannot be a section");
    }
  }
  if (keys_.empty()) {
    target_ = spec.target;
  } else if (spec.target != target_) {
    bad("bound to a different struct than the other keys");
  }
  if (!spec.store) bad("has no field");
  if (spec.type == ValueType::Enum && spec.choices.empty()) bad("enum without choices");
  if (spec.required) {
    if (!is_null(spec.default_value)) bad("required keys have no default");
  } else {
    if (is_null(spec.default_value) && !spec.nullable) bad("needs a default (or .required())");
    try {
      check_constraints(spec, spec.default_value);
    } catch (const Error& e) {
      bad(std::string("default violates its own constraints: ") + e.what());
    }
  }
  keys_.push_back(std::move(spec));
}

const KeySpec* Schema::find(const std::string& key) const {
  for (const auto& spec : keys_) {
    if (spec.key == key) return &spec;
  }
  return nullptr;
}

bool Schema::is_section(const std::string& name) const {
  const std::string prefix = name + ".";
  return std::any_of(keys_.begin(), keys_.end(), [&](const KeySpec& s) {
    return s.key.compare(0, prefix.size(), prefix) == 0;
  });
}

std::vector<std::string> Schema::children(const std::string& section) const {
  const std::string prefix = section.empty() ? "" : section + ".";
  std::vector<std::string> names;
  for (const auto& spec : keys_) {
    if (spec.key.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = spec.key.substr(prefix.size());
    const std::string child = rest.substr(0, rest.find('.'));
    if (std::find(names.begin(), names.end(), child) == names.end()) names.push_back(child);
  }
  return names;
}

std::vector<std::string> Schema::suggestions(const std::string& key) const {
  // Compare whole keys, and also the last component alone so that a key put under the wrong
  // section ("optimizer.warmup_ratio") still finds "schedule.warmup_ratio".
  std::vector<std::pair<size_t, std::string>> scored;
  const std::string leaf = last_component(key);
  for (const auto& spec : keys_) {
    const size_t whole = edit_distance(key, spec.key);
    const size_t by_leaf = edit_distance(leaf, last_component(spec.key)) + 1;
    const size_t score = std::min(whole, by_leaf);
    const size_t limit = std::max<size_t>(2, leaf.size() / 3);
    if (score <= limit) scored.emplace_back(score, spec.key);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < 3; ++i) out.push_back(scored[i].second);
  return out;
}

std::string Schema::markdown_table() const {
  std::string out = "| key | type | default | allowed | description |\n|---|---|---|---|---|\n";
  for (const auto& spec : keys_) {
    std::string type = type_name(spec.type);
    if (spec.nullable) type += " or null";
    const std::string def =
        spec.required ? "*required*" : "`" + format_yaml_value(spec.default_value) + "`";
    out += fmt::format("| `{}` | {} | {} | {} | {} |\n", spec.key, type, escape_markdown_cell(def),
                       escape_markdown_cell(describe_constraints(spec)),
                       escape_markdown_cell(spec.help));
  }
  return out;
}

KeyBuilder& KeyBuilder::path() {
  if (spec_.type != ValueType::String)
    throw std::logic_error(spec_.key + ": path() needs a string field");
  spec_.type = ValueType::Path;
  return *this;
}

KeyBuilder& KeyBuilder::one_of(std::vector<std::string> choices) {
  if (spec_.type != ValueType::String)
    throw std::logic_error(spec_.key + ": one_of() needs a string field");
  spec_.type = ValueType::Enum;
  spec_.choices = std::move(choices);
  return *this;
}

KeyBuilder& KeyBuilder::required() {
  spec_.required = true;
  return *this;
}

KeyBuilder& KeyBuilder::length(size_t n) {
  spec_.list_length = n;
  return *this;
}

KeyBuilder& KeyBuilder::help(std::string text) {
  spec_.help = std::move(text);
  return *this;
}

KeyBuilder& KeyBuilder::set_min(double v, bool inclusive) {
  spec_.min = Bound{v, inclusive};
  return *this;
}

KeyBuilder& KeyBuilder::set_max(double v, bool inclusive) {
  spec_.max = Bound{v, inclusive};
  return *this;
}

KeyBuilder& KeyBuilder::def(bool v) {
  return def(Value(v));
}

KeyBuilder& KeyBuilder::def(int64_t v) {
  if (spec_.type == ValueType::Float) return def(Value(static_cast<double>(v)));
  if (spec_.type == ValueType::Frequency) return def(Value(Frequency::every_updates(v)));
  return def(Value(v));
}

KeyBuilder& KeyBuilder::def(double v) {
  return def(Value(v));
}

KeyBuilder& KeyBuilder::def(const std::string& v) {
  if (spec_.type == ValueType::Frequency) return def(Value(parse_frequency(v)));
  return def(Value(v));
}

KeyBuilder& KeyBuilder::def(Value v) {
  const bool type_ok = [&] {
    switch (spec_.type) {
      case ValueType::Bool:
        return std::holds_alternative<bool>(v);
      case ValueType::Int:
        return std::holds_alternative<int64_t>(v);
      case ValueType::Float:
        return std::holds_alternative<double>(v);
      case ValueType::String:
      case ValueType::Path:
      case ValueType::Enum:
        return std::holds_alternative<std::string>(v);
      case ValueType::IntList:
        return std::holds_alternative<std::vector<int64_t>>(v);
      case ValueType::FloatList:
        return std::holds_alternative<std::vector<double>>(v);
      case ValueType::StringList:
        return std::holds_alternative<std::vector<std::string>>(v);
      case ValueType::Frequency:
        return std::holds_alternative<Frequency>(v);
    }
    return false;
  }();
  if (!type_ok && !is_null(v)) {
    throw std::logic_error(spec_.key + ": default does not match the type " +
                           type_name(spec_.type));
  }
  spec_.default_value = std::move(v);
  return *this;
}

}  // namespace adallava::config
