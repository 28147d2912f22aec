#include "eval/scorers/answer_normalization.h"

#include <unordered_map>
#include <vector>

#include "common/py_text.h"

namespace adallava::scorers {
namespace {

// Upstream's table, capitalised keys included: they can never match because the text is
// lower-cased first, which is part of the behaviour being reproduced.
const std::unordered_map<std::string, std::string>& contractions() {
  static const std::unordered_map<std::string, std::string> table = {
      {"aint", "ain't"},
      {"arent", "aren't"},
      {"cant", "can't"},
      {"couldve", "could've"},
      {"couldnt", "couldn't"},
      {"couldn'tve", "couldn't've"},
      {"couldnt've", "couldn't've"},
      {"didnt", "didn't"},
      {"doesnt", "doesn't"},
      {"dont", "don't"},
      {"hadnt", "hadn't"},
      {"hadnt've", "hadn't've"},
      {"hadn'tve", "hadn't've"},
      {"hasnt", "hasn't"},
      {"havent", "haven't"},
      {"hed", "he'd"},
      {"hed've", "he'd've"},
      {"he'dve", "he'd've"},
      {"hes", "he's"},
      {"howd", "how'd"},
      {"howll", "how'll"},
      {"hows", "how's"},
      {"Id've", "I'd've"},
      {"I'dve", "I'd've"},
      {"Im", "I'm"},
      {"Ive", "I've"},
      {"isnt", "isn't"},
      {"itd", "it'd"},
      {"itd've", "it'd've"},
      {"it'dve", "it'd've"},
      {"itll", "it'll"},
      {"let's", "let's"},
      {"maam", "ma'am"},
      {"mightnt", "mightn't"},
      {"mightnt've", "mightn't've"},
      {"mightn'tve", "mightn't've"},
      {"mightve", "might've"},
      {"mustnt", "mustn't"},
      {"mustve", "must've"},
      {"neednt", "needn't"},
      {"notve", "not've"},
      {"oclock", "o'clock"},
      {"oughtnt", "oughtn't"},
      {"ow's'at", "'ow's'at"},
      {"'ows'at", "'ow's'at"},
      {"'ow'sat", "'ow's'at"},
      {"shant", "shan't"},
      {"shed've", "she'd've"},
      {"she'dve", "she'd've"},
      {"she's", "she's"},
      {"shouldve", "should've"},
      {"shouldnt", "shouldn't"},
      {"shouldnt've", "shouldn't've"},
      {"shouldn'tve", "shouldn't've"},
      {"somebody'd", "somebodyd"},
      {"somebodyd've", "somebody'd've"},
      {"somebody'dve", "somebody'd've"},
      {"somebodyll", "somebody'll"},
      {"somebodys", "somebody's"},
      {"someoned", "someone'd"},
      {"someoned've", "someone'd've"},
      {"someone'dve", "someone'd've"},
      {"someonell", "someone'll"},
      {"someones", "someone's"},
      {"somethingd", "something'd"},
      {"somethingd've", "something'd've"},
      {"something'dve", "something'd've"},
      {"somethingll", "something'll"},
      {"thats", "that's"},
      {"thered", "there'd"},
      {"thered've", "there'd've"},
      {"there'dve", "there'd've"},
      {"therere", "there're"},
      {"theres", "there's"},
      {"theyd", "they'd"},
      {"theyd've", "they'd've"},
      {"they'dve", "they'd've"},
      {"theyll", "they'll"},
      {"theyre", "they're"},
      {"theyve", "they've"},
      {"twas", "'twas"},
      {"wasnt", "wasn't"},
      {"wed've", "we'd've"},
      {"we'dve", "we'd've"},
      {"weve", "we've"},
      {"werent", "weren't"},
      {"whatll", "what'll"},
      {"whatre", "what're"},
      {"whats", "what's"},
      {"whatve", "what've"},
      {"whens", "when's"},
      {"whered", "where'd"},
      {"wheres", "where's"},
      {"whereve", "where've"},
      {"whod", "who'd"},
      {"whod've", "who'd've"},
      {"who'dve", "who'd've"},
      {"wholl", "who'll"},
      {"whos", "who's"},
      {"whove", "who've"},
      {"whyll", "why'll"},
      {"whyre", "why're"},
      {"whys", "why's"},
      {"wont", "won't"},
      {"wouldve", "would've"},
      {"wouldnt", "wouldn't"},
      {"wouldnt've", "wouldn't've"},
      {"wouldn'tve", "wouldn't've"},
      {"yall", "y'all"},
      {"yall'll", "y'all'll"},
      {"y'allll", "y'all'll"},
      {"yall'd've", "y'all'd've"},
      {"y'alld've", "y'all'd've"},
      {"y'all'dve", "y'all'd've"},
      {"youd", "you'd"},
      {"youd've", "you'd've"},
      {"you'dve", "you'd've"},
      {"youll", "you'll"},
      {"youre", "you're"},
      {"youve", "you've"},
  };
  return table;
}

const std::unordered_map<std::string, std::string>& number_words() {
  static const std::unordered_map<std::string, std::string> table = {
      {"none", "0"}, {"zero", "0"}, {"one", "1"},   {"two", "2"},   {"three", "3"}, {"four", "4"},
      {"five", "5"}, {"six", "6"},  {"seven", "7"}, {"eight", "8"}, {"nine", "9"},  {"ten", "10"}};
  return table;
}

constexpr char32_t kPunctuation[] = {U';', U'/', U'[', U']', U'"',  U'{', U'}',
                                     U'(', U')', U'=', U'+', U'\\', U'_', U'-',
                                     U'>', U'<', U'@', U'`', U',',  U'?', U'!'};
// re.sub(..., count=re.UNICODE) removes at most this many periods.
constexpr int kMaxPeriodsStripped = 32;

// COMMA_STRIP `(?<=\d)(\,)+(?=\d)`: a run of commas between two digits.
bool has_comma_between_digits(const std::u32string& text) {
  for (size_t i = 1; i < text.size(); ++i) {
    if (text[i] != U',' || !py::is_digit(text[i - 1])) continue;
    size_t j = i;
    while (j < text.size() && text[j] == U',') ++j;
    if (j < text.size() && py::is_digit(text[j])) return true;
  }
  return false;
}

std::u32string word_tokenize(const std::u32string& word) {
  std::u32string text = py::lower(word);
  text = py::replace_all(text, U",", U"");
  text = py::replace_all(text, U"?", U"");
  text = py::replace_all(text, U"'s", U" 's");
  return py::strip(text);
}

std::u32string process_punctuation(const std::u32string& in_text) {
  std::u32string out_text = in_text;
  // Note: the condition looks at the text *before* any replacement, as upstream does.
  const bool comma_between_digits = has_comma_between_digits(in_text);
  for (char32_t p : kPunctuation) {
    const std::u32string mark(1, p);
    const bool touches_space = in_text.find(mark + U" ") != std::u32string::npos ||
                               in_text.find(U" " + mark) != std::u32string::npos;
    out_text =
        py::replace_all(out_text, mark, (touches_space || comma_between_digits) ? U"" : U" ");
  }
  // PERIOD_STRIP `(?!<=\d)(\.)(?!\d)`: the first group is a look-ahead for the literal "<=",
  // which can never match at a '.', so only "not followed by a digit" is tested.
  std::u32string stripped;
  stripped.reserve(out_text.size());
  int removed = 0;
  for (size_t i = 0; i < out_text.size(); ++i) {
    const bool next_is_digit = i + 1 < out_text.size() && py::is_digit(out_text[i + 1]);
    if (out_text[i] == U'.' && !next_is_digit && removed < kMaxPeriodsStripped) {
      ++removed;
      continue;
    }
    stripped.push_back(out_text[i]);
  }
  return stripped;
}

std::string process_digit_article(const std::u32string& in_text) {
  std::vector<std::string> words;
  for (const auto& w : py::split_whitespace(py::lower(in_text))) {
    std::string word = py::encode(w);
    auto number = number_words().find(word);
    if (number != number_words().end()) word = number->second;
    if (word == "a" || word == "an" || word == "the") continue;
    words.push_back(std::move(word));
  }
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    auto contraction = contractions().find(words[i]);
    if (i > 0) out.push_back(' ');
    out += contraction != contractions().end() ? contraction->second : words[i];
  }
  return out;
}

}  // namespace

std::string normalize_vqa_answer(std::string_view answer) {
  std::u32string text = word_tokenize(py::decode(answer));
  text = py::replace_all(text, U"\n", U" ");
  text = py::replace_all(text, U"\t", U" ");
  text = py::strip(text);
  text = process_punctuation(text);
  return process_digit_article(text);
}

}  // namespace adallava::scorers
