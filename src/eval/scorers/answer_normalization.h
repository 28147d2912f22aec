// EvalAI answer normalization (m4c_evaluator.EvalAIAnswerProcessor, used by LLaVA for VQAv2,
// VizWiz and TextVQA), reproduced with its quirks: at most 32 periods are stripped (re.UNICODE is
// passed as the `count` of re.sub), the "not after a digit" guard never applies, a punctuation
// mark is deleted instead of spaced when it touches a space, number words stop at "ten", and
// "'s" is split off as its own word.
#pragma once

#include <string>
#include <string_view>

namespace adallava::scorers {

std::string normalize_vqa_answer(std::string_view answer);

}  // namespace adallava::scorers
