// Ten "human" answers per open question, for the VQAv2 and TextVQA annotation files. Real
// annotators disagree in form ("2" / "two", "yes" / "Yes", "red" / "the red one") and now and then
// in content; VQA accuracy (min(#matches / 3, 1)) is built for that, so the variation here keeps at
// least six answers equal to the canonical one after EvalAI normalization.
#pragma once

#include <string>
#include <vector>

#include "data/synth/questions.h"
#include "data/synth/rng.h"

namespace adallava::synth {

std::vector<std::string> human_answers(const QA& qa, Rng& rng);

// Whether `variant` is one of the forms human_answers writes that normalizes to `canonical`
// (lower-case, article-free, number words as digits).
bool normalizes_to(const std::string& variant, const std::string& canonical);

}  // namespace adallava::synth
