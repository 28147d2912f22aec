// Question families and templates. Every question is generated from a Scene and its answer is
// computed from the same Scene, so the pair is correct by construction. Families are graded:
// color, shape and existence need one object and one attribute; count, spatial, comparison and
// reading need several objects, relations or fine glyph detail.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/synth/rng.h"
#include "data/synth/scene.h"

namespace adallava::synth {

struct QA {
  std::string family;                // color, shape, existence, count, spatial, comparison, reading
  std::string templ;                 // template id, e.g. "count_shape"
  int level = 1;                     // 1 single attribute ... 3 relation between several objects
  std::string question;              // without any response-format suffix
  std::string answer;                // canonical short answer
  std::vector<std::string> options;  // the answer's natural option set (contains `answer`)
  std::vector<std::pair<std::string, std::string>> program;  // GQA-style (operation, argument)
  std::vector<int> objects;                                  // scene objects the question refers to
};

const std::vector<std::string>& family_names();
bool is_hard_family(const std::string& family);
// Template ids of a family (all formats), in a fixed order.
std::vector<std::string> family_templates(const std::string& family);
std::string template_family(const std::string& templ);
bool is_yes_no_template(const std::string& templ);

// All questions a template can ask about a scene (yes and no variants for yes/no templates).
std::vector<QA> template_candidates(const std::string& templ, const Scene& scene, Rng& rng);

// Keeps answer and template frequencies even: each choice takes the least used template, then the
// least used answer within it, breaking ties with the rng.
class Balancer {
 public:
  // Chooses a question of `family` restricted to `templates` (all when empty); nullopt when
  // the scene supports none.
  std::optional<QA> ask(const std::string& family, const Scene& scene, Rng& rng,
                        const std::vector<std::string>& templates = {});
  // Least-asked family among `families` (ties by rng); ask() does the counting, so a family the
  // scene could not support is proposed again for the next image.
  std::string next_family(const std::vector<std::string>& families, Rng& rng);
  // Least-used index in [0, n) under `key`; counts it.
  int next_slot(const std::string& key, int n, Rng& rng);

 private:
  std::map<std::string, long> counts_;
};

// What an image asked about `families` needs: the scene requirements (letters for reading; for
// counting, a group whose size is the least used so far, since every other object adds a count
// of 1) and, per family, the templates to use (empty = any).
struct QuestionPlan {
  ScenePlan scene;
  std::map<std::string, std::vector<std::string>> templates;
  const std::vector<std::string>& templates_for(const std::string& family) const;
};
// `open_only` restricts every family to its open (not yes/no) templates, for multiple choice.
QuestionPlan plan_questions(const std::vector<std::string>& families, Balancer& balancer, Rng& rng,
                            bool open_only = false);

// The same question as multiple choice with `n` options (n >= 2, capped at the option set's
// size) and the correct one at `answer_index`; returns the option strings.
std::vector<std::string> multiple_choice_options(const QA& qa, int n, int answer_index, Rng& rng);

// TextVQA's OCR line for the scene, "Reference OCR token: R, K": every rendered letter as an OCR
// engine would list them, in shuffled order, comma separated.
std::string ocr_token_line(const Scene& scene, Rng& rng);
std::string option_letter(int index);

}  // namespace adallava::synth
