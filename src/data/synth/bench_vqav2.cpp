// VQAv2 in LLaVA's layout: question jsonl (test-dev and the full test list, as the submission
// converter iterates the latter) plus the official-format questions and annotations files with
// ten human answers per question, so the set can be scored locally with VQA accuracy.
#include <algorithm>

#include "data/synth/answer_variants.h"
#include "data/synth/benchmarks.h"

namespace adallava::synth {

namespace {

std::string answer_type(const QA& qa) {
  if (qa.answer == "yes" || qa.answer == "no") return "yes/no";
  if (qa.family == "count") return "number";
  return "other";
}

// VQA's question_type is the question's opening words, lower-cased.
std::string question_type(const std::string& question) {
  std::string lower;
  for (char c : question) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t pos = 0;
  for (int words = 0; words < 3 && pos != std::string::npos; ++words) {
    pos = lower.find(' ', pos + 1);
  }
  return pos == std::string::npos ? lower : lower.substr(0, pos);
}

}  // namespace

ojson write_vqav2(SuiteContext& ctx) {
  const std::string dir = "eval/vqav2/";
  const std::string image_folder = "test2015";
  Balancer balancer;
  BenchStats stats;
  std::vector<ojson> lines, scenes;
  ojson questions = ojson::array(), annotations = ojson::array();
  for (int i = 0; i < ctx.preset().vqav2_images; ++i) {
    Rng rng = ctx.stream("vqav2", i);
    const auto families = plan_families(balancer, family_names(), 3, rng);
    const QuestionPlan plan = plan_questions(families, balancer, rng);
    const Scene scene = sample_scene(rng, ctx.image_size(), plan.scene);
    const long image_id = i + 1;
    const std::string image = "synth_test2015_" + padded(image_id, 12) + ".png";
    ctx.write_scene_png(dir + image_folder + "/" + image, scene);
    scenes.push_back(scene_line("image", image, scene));
    stats.images++;
    int k = 0;
    // A family the scene cannot support (no two separable objects, say) hands its turn to one
    // not yet asked about this image.
    std::vector<std::string> order = families;
    for (const auto& f : family_names())
      if (std::find(order.begin(), order.end(), f) == order.end()) order.push_back(f);
    for (const auto& family : order) {
      if (k == static_cast<int>(families.size())) break;
      auto qa = balancer.ask(family, scene, rng, plan.templates_for(family));
      if (!qa) continue;
      const long qid = image_id * 1000 + k++;
      ojson line;
      line["question_id"] = qid;
      line["image"] = image;
      line["text"] = qa->question + kShortAnswerSuffix;
      line["category"] = qa->family;
      lines.push_back(line);
      ctx.add_corpus(qa->question);

      ojson q;
      q["image_id"] = image_id;
      q["question"] = qa->question;
      q["question_id"] = qid;
      questions.push_back(q);

      ojson a;
      a["question_type"] = question_type(qa->question);
      a["multiple_choice_answer"] = qa->answer;
      ojson answers = ojson::array();
      int answer_id = 1;
      for (const auto& text : human_answers(*qa, rng)) {
        ojson h;
        h["answer"] = text;
        h["answer_confidence"] = rng.chance(0.85) ? "yes" : "maybe";
        h["answer_id"] = answer_id++;
        answers.push_back(h);
      }
      a["answers"] = answers;
      a["image_id"] = image_id;
      a["answer_type"] = answer_type(*qa);
      a["question_id"] = qid;
      a["family"] = qa->family;
      a["template"] = qa->templ;
      annotations.push_back(a);
      stats.questions++;
      stats.families[qa->family]++;
    }
  }
  ctx.write_jsonl(dir + "llava_vqav2_mscoco_test-dev2015.jsonl", lines);
  ctx.write_jsonl(dir + "llava_vqav2_mscoco_test2015.jsonl", lines);
  ojson info;
  info["description"] = "adallava synthetic shapes suite, VQAv2 format";
  info["version"] = "1.0";
  ojson qfile;
  qfile["info"] = info;
  qfile["task_type"] = "Open-Ended";
  qfile["data_type"] = "mscoco";
  qfile["data_subtype"] = "synth2015";
  qfile["questions"] = questions;
  ctx.write_json(dir + "v2_OpenEnded_mscoco_synth2015_questions.json", qfile);
  ojson afile;
  afile["info"] = info;
  afile["data_type"] = "mscoco";
  afile["data_subtype"] = "synth2015";
  afile["annotations"] = annotations;
  ctx.write_json(dir + "v2_mscoco_synth2015_annotations.json", afile);
  ctx.write_jsonl(dir + "scenes.jsonl", scenes);

  ojson files;
  files["questions"] = "llava_vqav2_mscoco_test-dev2015.jsonl";
  files["questions_full"] = "llava_vqav2_mscoco_test2015.jsonl";
  files["vqa_questions"] = "v2_OpenEnded_mscoco_synth2015_questions.json";
  files["vqa_annotations"] = "v2_mscoco_synth2015_annotations.json";
  return write_bench_manifest(
      ctx, "vqav2",
      "Open-ended questions of every family; ten human-style answers per question "
      "for VQA accuracy.",
      files, image_folder, "category", stats);
}

}  // namespace adallava::synth
