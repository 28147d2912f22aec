#include "eval/scorers/mmbench.h"

#include <unordered_map>

#include "common/error.h"
#include "common/py_text.h"
#include "eval/scorers/tsv.h"

namespace adallava::scorers {
namespace {

constexpr int64_t kCircularStride = 1000000;
const std::vector<std::string> kLetters = {"A", "B", "C", "D"};

// is_none() of model_vqa_mmbench.py on a pandas cell.
bool is_missing(const std::string& cell) {
  const std::string lowered = py::lower(cell);
  return is_pandas_na(cell) || lowered == "nan" || lowered == "none";
}

// str.strip('.')
std::string strip_dots(const std::string& s) {
  const size_t begin = s.find_first_not_of('.');
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of('.') - begin + 1);
}

std::string ascii_upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return s;
}

void add(MmbenchAccuracy& acc, bool correct) {
  ++acc.total;
  acc.correct += correct;
}

void finish(MmbenchAccuracy& acc) {
  acc.accuracy = ratio(static_cast<double>(acc.correct), static_cast<double>(acc.total)) * 100;
}

MetricsJson accuracy_json(const MmbenchAccuracy& acc) {
  return {
      {"accuracy", number_or_null(acc.accuracy)}, {"correct", acc.correct}, {"total", acc.total}};
}

}  // namespace

std::optional<std::string> mmbench_parse_answer(const std::string& answer,
                                                const std::vector<std::string>& options) {
  const size_t n = std::min(options.size(), kLetters.size());
  const std::string bare = ascii_upper(py::strip(strip_dots(answer)));
  for (size_t i = 0; i < n; ++i) {
    if (bare == kLetters[i]) return kLetters[i];
  }
  const std::string lowered = py::lower(answer);
  for (size_t i = 0; i < n; ++i) {
    if (py::contains(lowered, "the answer is " + py::lower(kLetters[i]) + ".")) return kLetters[i];
  }
  std::optional<std::string> only_match;
  int matches = 0;
  for (size_t i = 0; i < options.size(); ++i) {
    if (py::contains(py::lower(options[i]), lowered)) {
      ++matches;
      if (i < kLetters.size()) only_match = kLetters[i];
    }
  }
  if (matches == 1) return only_match;
  return std::nullopt;
}

MmbenchMetrics score_mmbench(const std::vector<AnswerRecord>& answers,
                             const std::vector<MmbenchQuestion>& questions) {
  std::unordered_map<int64_t, const MmbenchQuestion*> by_index;
  for (const auto& q : questions) {
    if (!by_index.emplace(q.index, &q).second) fail("MMBench: index {} appears twice", q.index);
  }

  MmbenchMetrics m;
  std::map<int64_t, bool> group_correct;  // every row's group starts out correct
  std::map<int64_t, const MmbenchQuestion*> group_main;
  std::unordered_map<int64_t, bool> row_answered;
  for (const auto& q : questions) {
    const int64_t group = q.index % kCircularStride;
    group_correct.emplace(group, true);
    if (!group_main.count(group) || q.index < kCircularStride) group_main[group] = &q;
  }

  for (const auto& a : answers) {
    const std::string at = where(a.path, a.line);
    if (!a.question_id.is_number_integer())
      fail("{}: MMBench question_id must be the TSV index", at);
    const int64_t index = a.question_id.get<int64_t>();
    auto row = by_index.find(index);
    if (row == by_index.end()) fail("{}: index {} is not in the MMBench question file", at, index);
    const MmbenchQuestion& q = *row->second;

    std::vector<std::string> options = q.options;
    std::vector<std::string> option_char(
        kLetters.begin(), kLetters.begin() + std::min(options.size(), kLetters.size()));
    if (a.raw.contains("options")) {
      // --all-rounds answers carry the rotated options and their original letters.
      const auto& o = a.raw["options"];
      const auto& c = a.raw.value("option_char", nlohmann::json());
      if (!o.is_array() || !c.is_array() || o.size() != c.size()) {
        fail("{}: \"options\" and \"option_char\" must be lists of the same length", at);
      }
      options.clear();
      option_char.clear();
      for (size_t i = 0; i < o.size(); ++i) {
        if (!o[i].is_string() || !c[i].is_string()) fail("{}: options must be strings", at);
        options.push_back(o[i].get<std::string>());
        option_char.push_back(c[i].get<std::string>());
      }
    }
    const auto parsed = mmbench_parse_answer(a.text, options);
    bool correct = false;
    if (!parsed) {
      ++m.unparsed;
    } else {
      const size_t position = static_cast<size_t>((*parsed)[0] - 'A');
      correct = position < option_char.size() && option_char[position] == q.answer;
    }
    add(m.per_answer, correct);
    row_answered[index] = true;
    if (!correct) group_correct[index % kCircularStride] = false;
  }

  for (const auto& q : questions) {
    if (!row_answered.count(q.index)) {
      ++m.unanswered_rows;
      group_correct[q.index % kCircularStride] = false;
    }
  }
  for (const auto& [group, correct] : group_correct) {
    const MmbenchQuestion& main = *group_main.at(group);
    add(m.circular, correct);
    if (!main.category.empty()) add(m.per_category[main.category], correct);
    if (!main.l2_category.empty()) add(m.per_l2_category[main.l2_category], correct);
  }
  finish(m.circular);
  finish(m.per_answer);
  for (auto& [name, acc] : m.per_category) finish(acc);
  for (auto& [name, acc] : m.per_l2_category) finish(acc);
  return m;
}

MetricsJson MmbenchMetrics::to_json() const {
  MetricsJson j;
  j["benchmark"] = "mmbench";
  j["circular"] = accuracy_json(circular);
  j["per_answer"] = accuracy_json(per_answer);
  j["unparsed_answers"] = unparsed;
  j["unanswered_rows"] = unanswered_rows;
  MetricsJson cat = MetricsJson::object(), l2 = MetricsJson::object();
  for (const auto& [name, acc] : per_category) cat[name] = accuracy_json(acc);
  for (const auto& [name, acc] : per_l2_category) l2[name] = accuracy_json(acc);
  j["per_category"] = std::move(cat);
  j["per_l2_category"] = std::move(l2);
  return j;
}

std::vector<MmbenchQuestion> read_mmbench_questions(const std::string& tsv_path) {
  const TsvTable table = read_tsv(tsv_path);
  const int index_col = table.column("index"), question_col = table.column("question");
  const int answer_col = table.column("answer");
  if (index_col < 0 || question_col < 0 || table.column("A") < 0 || table.column("B") < 0) {
    fail("{}: MMBench table needs columns index, question, A and B", tsv_path);
  }
  if (answer_col < 0) {
    fail("{}: no \"answer\" column (test splits are scored by the MMBench server)", tsv_path);
  }
  const int category_col = table.column("category"), l2_col = table.column("l2-category");
  std::vector<MmbenchQuestion> out;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    MmbenchQuestion q;
    q.line = table.row_lines[r];
    try {
      size_t used = 0;
      q.index = std::stoll(row[index_col], &used);
      if (used != row[index_col].size()) throw std::invalid_argument("trailing characters");
    } catch (const std::exception&) {
      fail("{}:{}: index \"{}\" is not an integer", tsv_path, q.line, row[index_col]);
    }
    q.question = row[question_col];
    for (const auto& letter : kLetters) {
      const int col = table.column(letter);
      if (col < 0 || is_missing(row[col])) break;
      q.options.push_back(row[col]);
    }
    q.answer = row[answer_col];
    if (q.answer.size() != 1 || q.answer[0] < 'A' ||
        static_cast<size_t>(q.answer[0] - 'A') >= q.options.size()) {
      fail("{}:{}: answer \"{}\" is not one of the row's option letters", tsv_path, q.line,
           q.answer);
    }
    if (category_col >= 0) q.category = row[category_col];
    if (l2_col >= 0) q.l2_category = row[l2_col];
    out.push_back(std::move(q));
  }
  return out;
}

MmbenchMetrics score_mmbench_files(const std::string& answers_path, const std::string& tsv_path) {
  return score_mmbench(read_answers(answers_path), read_mmbench_questions(tsv_path));
}

}  // namespace adallava::scorers
