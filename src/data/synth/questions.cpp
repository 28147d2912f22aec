#include "data/synth/questions.h"

#include <algorithm>
#include <cstdlib>
#include <functional>

#include "common/error.h"

namespace adallava::synth {

namespace {

const std::vector<std::string> kFamilies = {"color",   "shape",      "existence", "count",
                                            "spatial", "comparison", "reading"};

struct TemplateInfo {
  std::string id;
  std::string family;
  int level;
  bool yes_no;
};

const std::vector<TemplateInfo> kTemplates = {
    {"color_of_shape", "color", 1, false},   {"color_of_sized", "color", 2, false},
    {"color_yn", "color", 1, true},          {"shape_of_color", "shape", 1, false},
    {"shape_yn", "shape", 1, true},          {"exist_shape", "existence", 1, true},
    {"exist_colored", "existence", 2, true}, {"count_shape", "count", 2, false},
    {"count_color", "count", 3, false},      {"count_yn", "count", 2, true},
    {"spatial_lr", "spatial", 2, false},     {"spatial_ab", "spatial", 2, false},
    {"spatial_yn", "spatial", 3, true},      {"compare_size", "comparison", 3, false},
    {"compare_more", "comparison", 3, true}, {"read_single", "reading", 2, false},
    {"read_side", "reading", 3, false},      {"read_yn", "reading", 2, true},
};

const TemplateInfo& info(const std::string& templ) {
  for (const auto& t : kTemplates)
    if (t.id == templ) return t;
  fail("unknown question template '{}'", templ);
}

const std::vector<std::string> kYesNo = {"yes", "no"};
const std::vector<std::string> kCounts = {"1", "2", "3", "4", "5"};

// Minimum centre distance along an axis for a relation to be asked about: 12 px at 96 px.
int separation(const Scene& s) {
  return std::max(3, 12 * s.width / 96);
}

int count_if_shapes(const Scene& s, const std::function<bool(const SceneObject&)>& pred) {
  int n = 0;
  for (const auto& o : s.objects)
    if (!o.is_letter && pred(o)) ++n;
  return n;
}

// Shortest description that picks out exactly one object; "" when none does. Size words are
// allowed only when `allow_size` (comparison questions must not give the answer away).
std::string reference(const Scene& s, int idx, bool allow_size = true, bool allow_colour = true) {
  const SceneObject& o = s.objects[idx];
  if (o.is_letter) return "letter " + o.letter;
  if (count_if_shapes(s, [&](const SceneObject& p) { return p.shape == o.shape; }) == 1)
    return shape_name(o.shape);
  if (allow_colour && count_if_shapes(s, [&](const SceneObject& p) {
                        return p.shape == o.shape && p.colour == o.colour;
                      }) == 1)
    return colour_name(o.colour) + " " + shape_name(o.shape);
  if (allow_size && count_if_shapes(s, [&](const SceneObject& p) {
                      return p.shape == o.shape && p.size == o.size;
                    }) == 1)
    return size_name(o.size) + " " + shape_name(o.shape);
  return "";
}

QA make(const std::string& templ, std::string question, std::string answer,
        std::vector<std::string> options, std::vector<std::pair<std::string, std::string>> program,
        std::vector<int> objects) {
  const auto& t = info(templ);
  QA qa;
  qa.family = t.family;
  qa.templ = templ;
  qa.level = t.level;
  qa.question = std::move(question);
  qa.answer = std::move(answer);
  qa.options = std::move(options);
  qa.program = std::move(program);
  qa.objects = std::move(objects);
  return qa;
}

std::string other_than(const std::vector<std::string>& pool, const std::string& exclude, Rng& rng) {
  std::vector<std::string> rest;
  for (const auto& p : pool)
    if (p != exclude) rest.push_back(p);
  return rng.pick(rest);
}

std::string select_arg(const Scene& s, int idx) {
  const auto& o = s.objects[idx];
  return (o.is_letter ? "letter" : shape_name(o.shape)) + " (" + std::to_string(idx) + ")";
}

void color_candidates(const std::string& templ, const Scene& s, Rng& rng, std::vector<QA>& out) {
  for (int i : s.shape_indices()) {
    const auto& o = s.objects[i];
    const std::string ref = reference(s, i, true, false);
    if (ref.empty()) continue;
    const bool plain = ref == shape_name(o.shape);
    const std::string colour = colour_name(o.colour);
    std::vector<std::pair<std::string, std::string>> prog = {{"select", select_arg(s, i)}};
    if (!plain) prog.push_back({"filter size", size_name(o.size)});
    if (templ == "color_of_shape" && plain) {
      prog.push_back({"query", "color"});
      out.push_back(
          make(templ, "What color is the " + ref + "?", colour, colour_names(), prog, {i}));
    } else if (templ == "color_of_sized" && !plain) {
      prog.push_back({"query", "color"});
      out.push_back(
          make(templ, "What color is the " + ref + "?", colour, colour_names(), prog, {i}));
    } else if (templ == "color_yn") {
      // Half of the wrong colours are taken from other objects in the scene: harder to refute.
      std::string wrong = other_than(colour_names(), colour, rng);
      std::vector<std::string> present;
      for (int j : s.shape_indices())
        if (s.objects[j].colour != o.colour) present.push_back(colour_name(s.objects[j].colour));
      if (!present.empty() && rng.chance(0.5)) wrong = rng.pick(present);
      auto yes_prog = prog, no_prog = prog;
      yes_prog.push_back({"verify color", colour});
      no_prog.push_back({"verify color", wrong});
      out.push_back(
          make(templ, "Is the " + ref + " " + colour + "?", "yes", kYesNo, yes_prog, {i}));
      out.push_back(make(templ, "Is the " + ref + " " + wrong + "?", "no", kYesNo, no_prog, {i}));
    }
  }
}

void shape_candidates(const std::string& templ, const Scene& s, Rng& rng, std::vector<QA>& out) {
  for (int i : s.shape_indices()) {
    const auto& o = s.objects[i];
    if (count_if_shapes(s, [&](const SceneObject& p) { return p.colour == o.colour; }) != 1)
      continue;
    const std::string colour = colour_name(o.colour);
    std::vector<std::pair<std::string, std::string>> prog = {{"select", "object"},
                                                             {"filter color", colour}};
    if (templ == "shape_of_color") {
      prog.push_back({"query", "name"});
      out.push_back(make(templ, "What shape is the " + colour + " object?", shape_name(o.shape),
                         shape_names(), prog, {i}));
    } else {
      const std::string wrong = other_than(shape_names(), shape_name(o.shape), rng);
      auto yes_prog = prog, no_prog = prog;
      yes_prog.push_back({"verify name", shape_name(o.shape)});
      no_prog.push_back({"verify name", wrong});
      out.push_back(make(templ, "Is the " + colour + " object a " + shape_name(o.shape) + "?",
                         "yes", kYesNo, yes_prog, {i}));
      out.push_back(
          make(templ, "Is the " + colour + " object a " + wrong + "?", "no", kYesNo, no_prog, {i}));
    }
  }
}

void existence_candidates(const std::string& templ, const Scene& s, Rng& rng,
                          std::vector<QA>& out) {
  if (templ == "exist_shape") {
    for (Shape sh : all_shapes()) {
      std::vector<int> ids;
      for (int i : s.shape_indices())
        if (s.objects[i].shape == sh) ids.push_back(i);
      out.push_back(make(templ, "Is there a " + shape_name(sh) + " in the image?",
                         ids.empty() ? "no" : "yes", kYesNo,
                         {{"select", shape_name(sh)}, {"exist", "?"}}, ids));
    }
    return;
  }
  // exist_colored: negatives recombine a colour and a shape that are both present elsewhere,
  // so neither attribute alone answers the question.
  std::vector<QA> easy_negatives;
  bool have_hard_negative = false;
  for (Shape sh : all_shapes()) {
    for (Colour c : all_colours()) {
      std::vector<int> ids;
      bool shape_present = false, colour_present = false;
      for (int i : s.shape_indices()) {
        const auto& o = s.objects[i];
        if (o.shape == sh && o.colour == c) ids.push_back(i);
        shape_present |= o.shape == sh;
        colour_present |= o.colour == c;
      }
      QA qa =
          make(templ, "Is there a " + colour_name(c) + " " + shape_name(sh) + " in the image?",
               ids.empty() ? "no" : "yes", kYesNo,
               {{"select", shape_name(sh)}, {"filter color", colour_name(c)}, {"exist", "?"}}, ids);
      if (!ids.empty() || (shape_present && colour_present)) {
        have_hard_negative |= ids.empty();
        out.push_back(qa);
      } else {
        easy_negatives.push_back(qa);
      }
    }
  }
  if (!have_hard_negative && !easy_negatives.empty()) out.push_back(rng.pick(easy_negatives));
}

void count_candidates(const std::string& templ, const Scene& s, Rng& rng, std::vector<QA>& out) {
  if (templ == "count_color") {
    for (Colour c : all_colours()) {
      const int n = count_if_shapes(s, [&](const SceneObject& o) { return o.colour == c; });
      if (n < 1 || n > 5) continue;
      std::vector<int> ids;
      for (int i : s.shape_indices())
        if (s.objects[i].colour == c) ids.push_back(i);
      out.push_back(make(
          templ, "How many " + colour_name(c) + " shapes are there?", std::to_string(n), kCounts,
          {{"select", "object"}, {"filter color", colour_name(c)}, {"count", ""}}, ids));
    }
    return;
  }
  for (Shape sh : all_shapes()) {
    const int n = count_if_shapes(s, [&](const SceneObject& o) { return o.shape == sh; });
    if (n < 1 || n > 5) continue;
    std::vector<int> ids;
    for (int i : s.shape_indices())
      if (s.objects[i].shape == sh) ids.push_back(i);
    const std::vector<std::pair<std::string, std::string>> prog = {{"select", shape_name(sh)},
                                                                   {"count", ""}};
    if (templ == "count_shape") {
      out.push_back(make(templ, "How many " + shape_plural(sh) + " are there?", std::to_string(n),
                         kCounts, prog, ids));
    } else {
      auto claim = [&](int k) {
        return k == 1
                   ? "Is there only one " + shape_name(sh) + " in the image?"
                   : "Are there " + std::to_string(k) + " " + shape_plural(sh) + " in the image?";
      };
      // Wrong claims are off by one where possible: the nearest confusion.
      int wrong = rng.chance(0.5) ? n + 1 : n - 1;
      if (wrong < 1) wrong = n + 1;
      if (wrong > 5) wrong = n - 1;
      out.push_back(make(templ, claim(n), "yes", kYesNo, prog, ids));
      out.push_back(make(templ, claim(wrong), "no", kYesNo, prog, ids));
    }
  }
}

void spatial_candidates(const std::string& templ, const Scene& s, Rng& rng, std::vector<QA>& out) {
  const int sep = separation(s);
  const int n = static_cast<int>(s.objects.size());
  for (int a = 0; a < n; ++a) {
    for (int b = 0; b < n; ++b) {
      if (a == b) continue;
      const std::string ra = reference(s, a), rb = reference(s, b);
      if (ra.empty() || rb.empty()) continue;
      const int dx = s.objects[a].x - s.objects[b].x, dy = s.objects[a].y - s.objects[b].y;
      const bool horizontal_ok = std::abs(dx) >= sep, vertical_ok = std::abs(dy) >= sep;
      const std::vector<std::pair<std::string, std::string>> base = {{"select", select_arg(s, a)},
                                                                     {"select", select_arg(s, b)}};
      if (templ == "spatial_lr" && horizontal_ok) {
        auto prog = base;
        prog.push_back({"choose rel", "left|right"});
        out.push_back(make(templ, "Is the " + ra + " on the left or right of the " + rb + "?",
                           dx < 0 ? "left" : "right", {"left", "right"}, prog, {a, b}));
      } else if (templ == "spatial_ab" && vertical_ok) {
        auto prog = base;
        prog.push_back({"choose rel", "above|below"});
        out.push_back(make(templ, "Is the " + ra + " above or below the " + rb + "?",
                           dy < 0 ? "above" : "below", {"above", "below"}, prog, {a, b}));
      } else if (templ == "spatial_yn") {
        std::vector<std::pair<std::string, bool>> claims;
        if (horizontal_ok) {
          claims.push_back({"on the left of", dx < 0});
          claims.push_back({"on the right of", dx > 0});
        }
        if (vertical_ok) {
          claims.push_back({"above", dy < 0});
          claims.push_back({"below", dy > 0});
        }
        for (const auto& [rel, truth] : claims) {
          auto prog = base;
          prog.push_back({"verify rel", rel});
          out.push_back(make(templ, "Is the " + ra + " " + rel + " the " + rb + "?",
                             truth ? "yes" : "no", kYesNo, prog, {a, b}));
        }
      }
    }
  }
}

// The word that tells two referring expressions apart ("circle" in "red circle" vs "star").
std::string distinguishing_word(const SceneObject& a, const SceneObject& b) {
  if (a.shape != b.shape) return shape_name(a.shape);
  return colour_name(a.colour);
}

void comparison_candidates(const std::string& templ, const Scene& s, Rng& rng,
                           std::vector<QA>& out) {
  if (templ == "compare_more") {
    for (Shape p : all_shapes()) {
      for (Shape q : all_shapes()) {
        if (p == q) continue;
        const int np = count_if_shapes(s, [&](const SceneObject& o) { return o.shape == p; });
        const int nq = count_if_shapes(s, [&](const SceneObject& o) { return o.shape == q; });
        if (np == 0 || nq == 0 || np == nq) continue;
        out.push_back(
            make(templ, "Are there more " + shape_plural(p) + " than " + shape_plural(q) + "?",
                 np > nq ? "yes" : "no", kYesNo,
                 {{"select", shape_name(p)}, {"select", shape_name(q)}, {"compare", "more"}}, {}));
      }
    }
    return;
  }
  const auto shapes = s.shape_indices();
  for (int a : shapes) {
    for (int b : shapes) {
      const auto& oa = s.objects[a];
      const auto& ob = s.objects[b];
      if (a == b || oa.size == ob.size) continue;
      const std::string ra = reference(s, a, false), rb = reference(s, b, false);
      if (ra.empty() || rb.empty()) continue;
      const std::string wa = distinguishing_word(oa, ob), wb = distinguishing_word(ob, oa);
      const bool a_bigger = oa.size == SizeClass::Big;
      for (const bool ask_bigger : {true, false}) {
        const std::string adjective = ask_bigger ? "bigger" : "smaller";
        out.push_back(make(
            templ, "Which is " + adjective + ", the " + ra + " or the " + rb + "?",
            (ask_bigger == a_bigger) ? wa : wb, {wa, wb},
            {{"select", select_arg(s, a)}, {"select", select_arg(s, b)}, {"choose", adjective}},
            {a, b}));
      }
    }
  }
}

void reading_candidates(const std::string& templ, const Scene& s, Rng& rng, std::vector<QA>& out) {
  const auto letters = s.letter_indices();
  const auto& pool = letter_names();
  if (letters.size() == 1) {
    const int i = letters[0];
    const std::string& l = s.objects[i].letter;
    if (templ == "read_single") {
      out.push_back(make(templ, "What letter is in the image?", l, pool,
                         {{"select", "letter"}, {"query", "text"}}, {i}));
    } else if (templ == "read_yn") {
      const std::string wrong = other_than(pool, l, rng);
      out.push_back(make(templ, "Is the letter in the image " + l + "?", "yes", kYesNo,
                         {{"select", "letter"}, {"verify text", l}}, {i}));
      out.push_back(make(templ, "Is the letter in the image " + wrong + "?", "no", kYesNo,
                         {{"select", "letter"}, {"verify text", wrong}}, {i}));
    }
    return;
  }
  if (letters.size() != 2) return;
  const auto& a = s.objects[letters[0]];
  const auto& b = s.objects[letters[1]];
  if (std::abs(a.x - b.x) < separation(s)) return;
  const int left = a.x < b.x ? letters[0] : letters[1];
  const int right = a.x < b.x ? letters[1] : letters[0];
  for (const auto& [side, idx] :
       std::vector<std::pair<std::string, int>>{{"left", left}, {"right", right}}) {
    const std::string& l = s.objects[idx].letter;
    const std::vector<std::pair<std::string, std::string>> prog = {
        {"select", "letter"}, {"filter hposition", side}, {"query", "text"}};
    if (templ == "read_side") {
      out.push_back(make(templ, "What letter is on the " + side + "?", l, pool, prog, {idx}));
    } else if (templ == "read_yn") {
      // The other letter of the scene is the natural wrong claim half of the time.
      std::string wrong = other_than(pool, l, rng);
      if (rng.chance(0.5)) wrong = s.objects[idx == left ? right : left].letter;
      out.push_back(
          make(templ, "Is the letter on the " + side + " " + l + "?", "yes", kYesNo, prog, {idx}));
      out.push_back(make(templ, "Is the letter on the " + side + " " + wrong + "?", "no", kYesNo,
                         prog, {idx}));
    }
  }
}

}  // namespace

const std::vector<std::string>& family_names() {
  return kFamilies;
}

bool is_hard_family(const std::string& family) {
  return family == "count" || family == "spatial" || family == "comparison" || family == "reading";
}

std::vector<std::string> family_templates(const std::string& family) {
  std::vector<std::string> out;
  for (const auto& t : kTemplates)
    if (t.family == family) out.push_back(t.id);
  ADALLAVA_CHECK(!out.empty(), "unknown question family '{}'", family);
  return out;
}

std::string template_family(const std::string& templ) {
  return info(templ).family;
}
bool is_yes_no_template(const std::string& templ) {
  return info(templ).yes_no;
}

std::vector<QA> template_candidates(const std::string& templ, const Scene& scene, Rng& rng) {
  std::vector<QA> out;
  const std::string family = info(templ).family;
  if (family == "color")
    color_candidates(templ, scene, rng, out);
  else if (family == "shape")
    shape_candidates(templ, scene, rng, out);
  else if (family == "existence")
    existence_candidates(templ, scene, rng, out);
  else if (family == "count")
    count_candidates(templ, scene, rng, out);
  else if (family == "spatial")
    spatial_candidates(templ, scene, rng, out);
  else if (family == "comparison")
    comparison_candidates(templ, scene, rng, out);
  else if (family == "reading")
    reading_candidates(templ, scene, rng, out);
  return out;
}

std::optional<QA> Balancer::ask(const std::string& family, const Scene& scene, Rng& rng,
                                const std::vector<std::string>& templates) {
  std::vector<std::string> allowed = templates.empty() ? family_templates(family) : templates;
  std::vector<std::pair<std::string, std::vector<QA>>> usable;
  for (const auto& t : allowed) {
    if (template_family(t) != family) continue;
    auto cands = template_candidates(t, scene, rng);
    if (!cands.empty()) usable.push_back({t, std::move(cands)});
  }
  if (usable.empty()) return std::nullopt;
  auto least = [&](auto key_of, size_t n) {
    long best = -1;
    std::vector<size_t> ties;
    for (size_t i = 0; i < n; ++i) {
      const long c = counts_[key_of(i)];
      if (best < 0 || c < best) {
        best = c;
        ties.clear();
      }
      if (c == best) ties.push_back(i);
    }
    return ties[rng.below(ties.size())];
  };
  const size_t ti = least([&](size_t i) { return "T|" + usable[i].first; }, usable.size());
  const auto& cands = usable[ti].second;
  const size_t ci = least([&](size_t i) { return "A|" + usable[ti].first + "|" + cands[i].answer; },
                          cands.size());
  const QA& qa = cands[ci];
  counts_["F|" + qa.family]++;
  counts_["T|" + qa.templ]++;
  counts_["A|" + qa.templ + "|" + qa.answer]++;
  return qa;
}

std::string Balancer::next_family(const std::vector<std::string>& families, Rng& rng) {
  long best = -1;
  std::vector<std::string> ties;
  for (const auto& f : families) {
    const long c = counts_["F|" + f];
    if (best < 0 || c < best) {
      best = c;
      ties.clear();
    }
    if (c == best) ties.push_back(f);
  }
  return ties[rng.below(ties.size())];
}

int Balancer::next_slot(const std::string& key, int n, Rng& rng) {
  long best = -1;
  std::vector<int> ties;
  for (int i = 0; i < n; ++i) {
    const long c = counts_["S|" + key + "|" + std::to_string(i)];
    if (best < 0 || c < best) {
      best = c;
      ties.clear();
    }
    if (c == best) ties.push_back(i);
  }
  const int slot = ties[rng.below(ties.size())];
  counts_["S|" + key + "|" + std::to_string(slot)]++;
  return slot;
}

const std::vector<std::string>& QuestionPlan::templates_for(const std::string& family) const {
  static const std::vector<std::string> any;
  auto it = templates.find(family);
  return it == templates.end() ? any : it->second;
}

QuestionPlan plan_questions(const std::vector<std::string>& families, Balancer& balancer, Rng& rng,
                            bool open_only) {
  QuestionPlan plan;
  if (open_only) {
    for (const auto& f : families)
      for (const auto& t : family_templates(f))
        if (!is_yes_no_template(t)) plan.templates[f].push_back(t);
  }
  auto has = [&](const char* f) {
    return std::find(families.begin(), families.end(), f) != families.end();
  };
  if (has("reading")) plan.scene.letters = 1 + static_cast<int>(rng.below(2));
  if (has("count")) {
    // The template decides which kind of group makes its answer k: a colour group for
    // "How many red shapes", a shape group for the others.
    const auto templates = open_only ? plan.templates["count"] : family_templates("count");
    const std::string templ =
        templates[balancer.next_slot("count_template", templates.size(), rng)];
    plan.templates["count"] = {templ};
    plan.scene.group_size = 1 + balancer.next_slot("count_group_" + templ, 5, rng);
    plan.scene.group_mode = templ == "count_color" ? 1 : 0;
  }
  return plan;
}

std::vector<std::string> multiple_choice_options(const QA& qa, int n, int answer_index, Rng& rng) {
  std::vector<std::string> distractors;
  for (const auto& o : qa.options)
    if (o != qa.answer) distractors.push_back(o);
  rng.shuffle(distractors);
  n = std::max(2, std::min(n, static_cast<int>(distractors.size()) + 1));
  distractors.resize(n - 1);
  answer_index = std::min(answer_index, n - 1);
  std::vector<std::string> options = distractors;
  options.insert(options.begin() + answer_index, qa.answer);
  return options;
}

std::string ocr_token_line(const Scene& scene, Rng& rng) {
  std::vector<std::string> tokens;
  for (int idx : scene.letter_indices()) tokens.push_back(scene.objects[idx].letter);
  rng.shuffle(tokens);
  std::string text = "Reference OCR token: ";
  for (size_t t = 0; t < tokens.size(); ++t) text += (t ? ", " : "") + tokens[t];
  return text;
}

std::string option_letter(int index) {
  return std::string(1, static_cast<char>('A' + index));
}

}  // namespace adallava::synth
