#include "eval/scorers/records.h"

#include <cmath>

#include <fmt/format.h>

#include "common/error.h"
#include "common/files.h"
#include "common/py_text.h"

namespace adallava::scorers {

std::string where(const std::string& path, size_t line) {
  return fmt::format("{}:{}", path, line);
}

namespace {

template <typename OnLine>
void for_each_line(const std::string& path, OnLine on_line) {
  const std::string text = read_text_file(path);
  size_t number = 0;
  for (const auto& line : py::readlines(text)) on_line(++number, line);
}

}  // namespace

std::vector<JsonLine> read_jsonl(const std::string& path) {
  std::vector<JsonLine> records;
  for_each_line(path, [&](size_t number, const std::string& line) {
    try {
      records.push_back({number, nlohmann::json::parse(line)});
    } catch (const nlohmann::json::parse_error& e) {
      fail("{}: malformed JSON line ({})", where(path, number), e.what());
    }
  });
  return records;
}

LenientJsonl read_jsonl_lenient(const std::string& path) {
  LenientJsonl result;
  for_each_line(path, [&](size_t number, const std::string& line) {
    try {
      result.records.push_back({number, nlohmann::json::parse(line)});
    } catch (const nlohmann::json::parse_error&) {
      result.malformed_lines.push_back(number);
    }
  });
  return result;
}

nlohmann::ordered_json read_json_ordered(const std::string& path) {
  const std::string text = read_text_file(path);
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    size_t line = 1;
    for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) line += text[i] == '\n';
    fail("{}: invalid JSON ({})", where(path, line), e.what());
  }
}

AnswerRecord parse_answer_record(const nlohmann::json& value, const std::string& path,
                                 size_t line) {
  if (!value.is_object()) fail("{}: answer record is not a JSON object", where(path, line));
  AnswerRecord record;
  record.path = path;
  record.line = line;
  auto id = value.find("question_id");
  if (id == value.end()) fail("{}: answer record has no \"question_id\"", where(path, line));
  if (!id->is_string() && !id->is_number()) {
    fail("{}: \"question_id\" must be a string or a number", where(path, line));
  }
  record.question_id = *id;
  auto text = value.find("text");
  if (text == value.end() || !text->is_string()) {
    fail("{}: answer record needs a string \"text\"", where(path, line));
  }
  record.text = text->get<std::string>();
  auto prompt = value.find("prompt");
  if (prompt != value.end()) {
    if (!prompt->is_string()) fail("{}: \"prompt\" must be a string", where(path, line));
    record.prompt = prompt->get<std::string>();
    record.has_prompt = true;
  }
  record.raw = value;
  return record;
}

std::vector<AnswerRecord> read_answers(const std::string& path) {
  std::vector<AnswerRecord> answers;
  for (const auto& rec : read_jsonl(path)) {
    answers.push_back(parse_answer_record(rec.value, path, rec.line));
  }
  return answers;
}

std::string id_key(const nlohmann::json& id) {
  // Python: 1 == 1.0, so integral floats share the integer's key.
  if (id.is_number_float()) {
    const double v = id.get<double>();
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e15) {
      return nlohmann::json(static_cast<int64_t>(v)).dump();
    }
  }
  if (id.is_number_unsigned()) return nlohmann::json(id.get<uint64_t>()).dump();
  return id.dump();
}

std::string id_text(const nlohmann::json& id) {
  return id.is_string() ? id.get<std::string>() : id.dump();
}

namespace {

void dump_string(const std::string& s, std::string& out) {
  out.push_back('"');
  for (char32_t c : py::decode(s)) {
    switch (c) {
      case U'"':
        out += "\\\"";
        break;
      case U'\\':
        out += "\\\\";
        break;
      case U'\n':
        out += "\\n";
        break;
      case U'\r':
        out += "\\r";
        break;
      case U'\t':
        out += "\\t";
        break;
      case U'\b':
        out += "\\b";
        break;
      case U'\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20 || c > 0x7E) {
          if (c >= 0x10000) {
            const char32_t v = c - 0x10000;
            out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
          } else {
            out += fmt::format("\\u{:04x}", static_cast<uint32_t>(c));
          }
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

std::string python_float_repr(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return py::repr(v);
}

void dump_value(const nlohmann::ordered_json& v, std::string& out) {
  switch (v.type()) {
    case nlohmann::json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ", ";
        first = false;
        dump_string(it.key(), out);
        out += ": ";
        dump_value(it.value(), out);
      }
      out.push_back('}');
      break;
    }
    case nlohmann::json::value_t::array: {
      out.push_back('[');
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ", ";
        dump_value(v[i], out);
      }
      out.push_back(']');
      break;
    }
    case nlohmann::json::value_t::string:
      dump_string(v.get<std::string>(), out);
      break;
    case nlohmann::json::value_t::number_float:
      out += python_float_repr(v.get<double>());
      break;
    case nlohmann::json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      break;
    case nlohmann::json::value_t::null:
      out += "null";
      break;
    default:
      out += v.dump();
      break;  // integers
  }
}

}  // namespace

std::string python_json_dumps(const nlohmann::ordered_json& value) {
  std::string out;
  dump_value(value, out);
  return out;
}

}  // namespace adallava::scorers
