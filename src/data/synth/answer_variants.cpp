#include "data/synth/answer_variants.h"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace adallava::synth {

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string capitalized(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_number(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

struct Forms {
  std::vector<std::string> same;       // normalize to the canonical answer
  std::vector<std::string> different;  // plausible human phrasing that does not
  std::vector<std::string> wrong;      // a content mistake
};

Forms forms_for(const QA& qa) {
  const std::string& a = qa.answer;
  Forms f;
  f.same = {a};
  if (a == "yes" || a == "no") {
    f.same.push_back(capitalized(a));
    f.different = {a == "yes" ? "yep" : "nope"};
    f.wrong = {a == "yes" ? "no" : "yes"};
  } else if (is_number(a)) {
    const int n = std::stoi(a);
    f.same.push_back(number_word(n));
    f.different = {a + " " + (n == 1 ? "object" : "objects")};
    f.wrong = {std::to_string(n + 1)};
    if (n > 1) f.wrong.push_back(std::to_string(n - 1));
  } else if (contains(colour_names(), a)) {
    f.same.push_back(capitalized(a));
    f.different = {"the " + a + " one", "dark " + a, "light " + a};
    for (const auto& c : colour_names())
      if (c != a) f.wrong.push_back(c);
  } else if (contains(shape_names(), a)) {
    f.same.push_back("a " + a);
    f.same.push_back(capitalized(a));
    f.different = {a + " shape"};
    if (a == "circle") f.different.push_back("round");
    for (const auto& s : shape_names())
      if (s != a) f.wrong.push_back(s);
  } else if (a == "left" || a == "right") {
    f.same.push_back(capitalized(a));
    f.different = {"on the " + a, "to the " + a};
    f.wrong = {a == "left" ? "right" : "left"};
  } else if (a == "above" || a == "below") {
    f.same.push_back(capitalized(a));
    f.different = {a == "above" ? "on top" : "under"};
    f.wrong = {a == "above" ? "below" : "above"};
  } else {  // a letter
    f.same.push_back(lower(a));
    f.different = {"letter " + a, "the letter " + a};
    for (const auto& l : letter_names())
      if (l != a) f.wrong.push_back(l);
  }
  return f;
}

}  // namespace

std::vector<std::string> human_answers(const QA& qa, Rng& rng) {
  const Forms f = forms_for(qa);
  const int different = static_cast<int>(rng.weighted({0.4, 0.35, 0.2, 0.05}));
  const int wrong = rng.chance(0.25) ? 1 : 0;
  std::vector<std::string> answers;
  for (int i = 0; i < 10 - different - wrong; ++i)
    answers.push_back(rng.chance(0.7) ? qa.answer : rng.pick(f.same));
  for (int i = 0; i < different; ++i) answers.push_back(rng.pick(f.different));
  for (int i = 0; i < wrong; ++i) answers.push_back(rng.pick(f.wrong));
  rng.shuffle(answers);
  return answers;
}

bool normalizes_to(const std::string& variant, const std::string& canonical) {
  auto normalize = [](const std::string& s) {
    std::istringstream in(lower(s));
    std::string word, out;
    while (in >> word) {
      while (!word.empty() && word.back() == '.') word.pop_back();
      if (word == "a" || word == "an" || word == "the" || word.empty()) continue;
      for (int n = 0; n <= 10; ++n)
        if (word == number_word(n)) word = std::to_string(n);
      out += (out.empty() ? "" : " ") + word;
    }
    return out;
  };
  return normalize(variant) == normalize(canonical);
}

}  // namespace adallava::synth
