#include "data/synth/splits.h"

#include <algorithm>

#include "data/synth/caption.h"
#include "data/synth/knowledge.h"
#include "data/synth/questions.h"

namespace adallava::synth {

namespace {

constexpr double kMultipleChoiceFraction = 0.15;
// Share of training reading questions that carry the OCR line TextVQA's prompts have, and of
// multiple-choice questions that open with a hint as ScienceQA ("Context: ...") and MMBench (the
// bare hint) prompts do: LLaVA's instruction mix holds these prompt styles, so ours does too.
constexpr double kOcrLineFraction = 0.3;
constexpr double kHintFraction = 0.3;
const char* const kCaptionPrompt = "Describe the image briefly.";

ojson turn(const char* from, const std::string& value) {
  ojson t;
  t["from"] = from;
  t["value"] = value;
  return t;
}

// Every line of a prompt or answer, without the image placeholder, goes to the tokenizer corpus.
void add_text_lines(SuiteContext& ctx, const std::string& text) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    if (!line.empty() && line != "<image>") ctx.add_corpus(line);
    start = end + 1;
  }
}

std::string options_block(const std::vector<std::string>& options) {
  std::string block;
  for (size_t i = 0; i < options.size(); ++i)
    block += "\n" + option_letter(static_cast<int>(i)) + ". " + options[i];
  return block;
}

}  // namespace

SplitStats write_instruction_split(SuiteContext& ctx, const std::string& split, int images,
                                   std::vector<ojson>& scenes) {
  SplitStats stats;
  Balancer balancer;
  std::vector<ojson> entries, captions;
  const int per_image = std::min<int>(ctx.preset().questions_per_image, family_names().size());
  for (int i = 0; i < images; ++i) {
    Rng rng = ctx.stream(split, i);
    std::vector<std::string> remaining = family_names(), families;
    for (int k = 0; k < per_image; ++k) {
      const std::string f = balancer.next_family(remaining, rng);
      remaining.erase(std::find(remaining.begin(), remaining.end(), f));
      families.push_back(f);
    }
    const QuestionPlan plan = plan_questions(families, balancer, rng);
    const Scene scene = sample_scene(rng, ctx.image_size(), plan.scene);
    const std::string id = split + "_" + padded(i, 6);
    const std::string image = id + ".png";
    ctx.write_scene_png("images/" + image, scene);
    ojson scene_line;
    scene_line["image"] = "images/" + image;
    scene_line["split"] = split;
    scene_line["scene"] = scene_to_json(scene);
    scenes.push_back(scene_line);

    ojson conversations = ojson::array();
    ojson asked = ojson::array();
    auto add_question = [&](const QA& qa) {
      std::string prompt, answer;
      if (!is_yes_no_template(qa.templ) && qa.options.size() >= 2 &&
          rng.chance(kMultipleChoiceFraction)) {
        const int n = std::min<int>(4, qa.options.size());
        const int slot = balancer.next_slot("mc" + std::to_string(n), n, rng);
        const auto options = multiple_choice_options(qa, n, slot, rng);
        std::string hint;
        if (rng.chance(kHintFraction))
          hint = rng.chance(0.5) ? std::string("Context: ") + kShapesHint + "\n"
                                 : std::string(kShapesHint) + "\n";
        prompt = hint + qa.question + options_block(options) + kMultipleChoiceSuffix;
        answer = option_letter(slot);
        stats.multiple_choice++;
      } else if (qa.family == "reading" && rng.chance(kOcrLineFraction)) {
        prompt = qa.question + "\n" + ocr_token_line(scene, rng) + kShortAnswerSuffix;
        answer = qa.answer;
        stats.ocr_lines++;
      } else {
        prompt = qa.question + kShortAnswerSuffix;
        answer = qa.answer;
      }
      if (conversations.empty()) prompt = "<image>\n" + prompt;
      conversations.push_back(turn("human", prompt));
      conversations.push_back(turn("gpt", answer));
      add_text_lines(ctx, prompt);
      add_text_lines(ctx, answer);
      asked.push_back(qa.family);
      stats.families[qa.family]++;
      stats.questions++;
    };
    for (const auto& f : families) {
      if (auto qa = balancer.ask(f, scene, rng, plan.templates_for(f))) add_question(*qa);
    }
    if (conversations.empty()) {  // every scene has shapes, so existence always works
      if (auto qa = balancer.ask("existence", scene, rng)) add_question(*qa);
    }
    ojson entry;
    entry["id"] = id;
    entry["image"] = image;
    entry["conversations"] = conversations;
    entry["families"] = asked;
    entries.push_back(entry);
    stats.images++;
    stats.conversations++;

    if (split == "train") {
      const std::string caption = caption_scene(scene);
      ojson c;
      c["id"] = id;
      c["image"] = image;
      c["conversations"] = ojson::array(
          {turn("human", std::string("<image>\n") + kCaptionPrompt), turn("gpt", caption)});
      captions.push_back(c);
      add_text_lines(ctx, kCaptionPrompt);
      add_text_lines(ctx, caption);
    }
  }

  // Text-only conversations, as LLaVA's mix has (no "image" key): about 2% of the entries.
  if (split == "train") {
    const auto& facts = knowledge_facts();
    const int text_only = std::max(1, images / 50);
    for (int i = 0; i < text_only; ++i) {
      Rng rng = ctx.stream(split + "_text", i);
      ojson conversations = ojson::array();
      ojson asked = ojson::array();
      const size_t first = rng.below(facts.size());
      const size_t turns = 1 + rng.below(2);
      for (size_t k = 0; k < turns; ++k) {
        const auto& fact = facts[(first + k) % facts.size()];
        const std::string prompt = fact.question + kShortAnswerSuffix;
        conversations.push_back(turn("human", prompt));
        conversations.push_back(turn("gpt", fact.answer));
        add_text_lines(ctx, prompt);
        add_text_lines(ctx, fact.answer);
        asked.push_back("knowledge");
        stats.families["knowledge"]++;
        stats.questions++;
      }
      ojson entry;
      entry["id"] = split + "_text_" + padded(i, 6);
      entry["conversations"] = conversations;
      entry["families"] = asked;
      entries.push_back(entry);
      stats.conversations++;
    }
    ctx.write_json("pretrain.json", ojson(captions));
  }
  ctx.write_json(split + ".json", ojson(entries));
  return stats;
}

ojson split_stats_json(const SplitStats& stats) {
  ojson j;
  j["images"] = stats.images;
  j["conversations"] = stats.conversations;
  j["questions"] = stats.questions;
  j["multiple_choice"] = stats.multiple_choice;
  j["ocr_lines"] = stats.ocr_lines;
  j["families"] = family_counts_json(stats.families);
  return j;
}

}  // namespace adallava::synth
