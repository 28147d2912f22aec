// ScienceQA-IMG in LLaVA's layout: llava_test_CQM-A.json (conversation list read by
// model_vqa_science.py), problems.json and pid_splits.json (read by eval_science_qa.py), images
// under images/test/<pid>/image.png. Most problems ask about the image; about one in seven is a
// text-only fact, as ScienceQA mixes both and reports IMG accuracy separately.
#include <algorithm>
#include <optional>

#include "data/synth/benchmarks.h"
#include "data/synth/knowledge.h"

namespace adallava::synth {

namespace {

const std::vector<std::string> kSqaFamilies = {"color",   "shape",      "count",
                                               "spatial", "comparison", "reading"};

}  // namespace

ojson write_scienceqa(SuiteContext& ctx) {
  const std::string dir = "eval/scienceqa/";
  Balancer balancer;
  BenchStats stats;
  std::vector<ojson> scenes;
  ojson conversations = ojson::array();
  ojson problems = ojson::object();
  ojson test_ids = ojson::array();
  const auto& facts = knowledge_facts();
  for (int i = 0; i < ctx.preset().scienceqa_problems; ++i) {
    Rng rng = ctx.stream("scienceqa", i);
    const std::string pid = std::to_string(i + 1);
    const bool text_only = i % 7 == 6;
    std::string question, family, skill, hint;
    std::vector<std::string> choices;
    int answer = 0;
    if (text_only) {
      const auto& fact = facts[rng.below(facts.size())];
      question = fact.question;
      family = "knowledge";
      skill = "knowledge";
      QA as_qa;
      as_qa.answer = fact.answer;
      as_qa.options = fact.options;
      const int n = 2 + static_cast<int>(rng.below(fact.options.size() - 1));
      answer = balancer.next_slot("sqa" + std::to_string(n), n, rng);
      choices = multiple_choice_options(as_qa, n, answer, rng);
    } else {
      std::optional<QA> qa;
      Scene scene;
      for (int attempt = 0; attempt < 20 && !qa; ++attempt) {
        family = plan_families(balancer, kSqaFamilies, 1, rng)[0];
        const QuestionPlan plan = plan_questions({family}, balancer, rng, true);
        scene = sample_scene(rng, ctx.image_size(), plan.scene);
        qa = balancer.ask(family, scene, rng, plan.templates_for(family));
      }
      if (!qa) continue;
      question = qa->question;
      skill = qa->templ;
      const int max_n = std::min<int>(5, qa->options.size());
      const int n = 2 + static_cast<int>(rng.below(max_n - 1));
      answer = balancer.next_slot("sqa" + std::to_string(n), n, rng);
      choices = multiple_choice_options(*qa, n, answer, rng);
      answer = 0;
      while (choices[answer] != qa->answer) ++answer;
      hint = rng.chance(0.5) ? kShapesHint : "";
      ctx.write_scene_png(dir + "images/test/" + pid + "/image.png", scene);
      scenes.push_back(scene_line("pid", pid, scene));
      stats.images++;
    }
    std::string body = hint.empty() ? "" : "Context: " + hint + "\n";
    body += question;
    for (size_t c = 0; c < choices.size(); ++c)
      body += "\n" + option_letter(static_cast<int>(c)) + ". " + choices[c];
    ctx.add_corpus(question);
    if (!hint.empty()) ctx.add_corpus("Context: " + hint);

    ojson conv;
    conv["id"] = pid;
    if (!text_only) conv["image"] = pid + "/image.png";
    ojson human;
    human["from"] = "human";
    human["value"] = text_only ? body : "<image>\n" + body;
    ojson gpt;
    gpt["from"] = "gpt";
    gpt["value"] = "The answer is " + option_letter(answer) + ".";
    conv["conversations"] = ojson::array({human, gpt});
    conversations.push_back(conv);

    ojson p;
    p["question"] = question;
    p["choices"] = choices;
    p["answer"] = answer;
    p["hint"] = hint;
    p["image"] = text_only ? ojson(nullptr) : ojson("image.png");
    p["task"] = "closed choice";
    p["grade"] = "grade1";
    p["subject"] = "natural science";
    p["topic"] = "shapes";
    p["category"] = family;
    p["skill"] = skill;
    p["lecture"] = "";
    p["solution"] = "";
    p["split"] = "test";
    problems[pid] = p;
    test_ids.push_back(pid);
    stats.questions++;
    stats.families[family]++;
  }
  ojson splits;
  splits["train"] = ojson::array();
  splits["val"] = ojson::array();
  splits["test"] = test_ids;
  splits["trainval"] = ojson::array();
  splits["minitrain"] = ojson::array();
  splits["minival"] = ojson::array();
  ojson minitest = ojson::array();
  for (size_t i = 0; i < test_ids.size() && i < std::max<size_t>(1, test_ids.size() / 10); ++i)
    minitest.push_back(test_ids[i]);
  splits["minitest"] = minitest;
  ctx.write_json(dir + "llava_test_CQM-A.json", conversations);
  ctx.write_json(dir + "problems.json", problems);
  ctx.write_json(dir + "pid_splits.json", splits);
  ctx.write_jsonl(dir + "scenes.jsonl", scenes);
  ojson files;
  files["questions"] = "llava_test_CQM-A.json";
  files["problems"] = "problems.json";
  files["pid_splits"] = "pid_splits.json";
  return write_bench_manifest(
      ctx, "scienceqa",
      "Multiple-choice problems (2-5 choices) about the image, plus text-only "
      "facts (image null); report IMG accuracy.",
      files, "images/test", "problems.json category", stats);
}

}  // namespace adallava::synth
