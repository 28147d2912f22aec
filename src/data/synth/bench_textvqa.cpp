// TextVQA val in LLaVA's layout: the question jsonl with the "Reference OCR token:" line and the
// TextVQA_0.5.1_val.json annotations (ten answers each). eval_textvqa.py matches the two by
// (image_id, lower-cased question), so the jsonl question line lower-cased equals the annotation.
#include <cstdio>
#include <optional>
#include <set>

#include "data/synth/answer_variants.h"
#include "data/synth/benchmarks.h"

namespace adallava::synth {

ojson write_textvqa(SuiteContext& ctx) {
  const std::string dir = "eval/textvqa/";
  const std::string image_folder = "train_images";
  Balancer balancer;
  BenchStats stats;
  std::vector<ojson> lines, scenes;
  ojson data = ojson::array();
  std::set<std::string> used_ids;
  for (int i = 0; i < ctx.preset().textvqa_images; ++i) {
    Rng rng = ctx.stream("textvqa", i);
    ScenePlan plan;
    plan.letters = 1 + balancer.next_slot("letters", 2, rng);
    Scene scene;
    std::optional<QA> qa;
    // Two letters too close to tell left from right support no question: draw the scene again.
    for (int attempt = 0; attempt < 20 && !qa; ++attempt) {
      scene = sample_scene(rng, ctx.image_size(), plan);
      qa = balancer.ask("reading", scene, rng, open_templates("reading"));
    }
    if (!qa) continue;
    std::string image_id;
    do {
      char hex[17];
      std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(rng.next_u64()));
      image_id = hex;
    } while (!used_ids.insert(image_id).second);
    const std::string image = image_id + ".png";
    ctx.write_scene_png(dir + image_folder + "/" + image, scene);
    scenes.push_back(scene_line("image_id", image_id, scene));

    const std::string ocr_line = ocr_token_line(scene, rng);

    ojson line;
    line["question_id"] = image_id;
    line["image"] = image;
    line["text"] = qa->question + "\n" + ocr_line + kShortAnswerSuffix;
    line["category"] = qa->family;
    lines.push_back(line);
    ctx.add_corpus(qa->question);
    ctx.add_corpus(ocr_line);

    std::string lower;
    for (char c : qa->question)
      lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ojson tokens_json = ojson::array();
    std::string word;
    for (char c : lower) {
      if (c == ' ' || c == '?') {
        if (!word.empty()) tokens_json.push_back(word);
        word.clear();
      } else {
        word += c;
      }
    }
    if (!word.empty()) tokens_json.push_back(word);
    ojson item;
    item["question"] = lower;
    item["image_id"] = image_id;
    item["image_classes"] = ojson::array({"Letter"});
    item["flickr_original_url"] = "";
    item["flickr_300k_url"] = "";
    item["image_width"] = scene.width;
    item["image_height"] = scene.height;
    item["answers"] = human_answers(*qa, rng);
    item["question_tokens"] = tokens_json;
    item["question_id"] = 40000 + i;
    item["set_name"] = "val";
    item["family"] = qa->family;
    item["template"] = qa->templ;
    data.push_back(item);
    stats.images++;
    stats.questions++;
    stats.families[qa->family]++;
  }
  ctx.write_jsonl(dir + "llava_textvqa_val_v051_ocr.jsonl", lines);
  ojson ann;
  ann["dataset_type"] = "val";
  ann["dataset_name"] = "textvqa";
  ann["dataset_version"] = "0.5.1";
  ann["data"] = data;
  ctx.write_json(dir + "TextVQA_0.5.1_val.json", ann);
  ctx.write_jsonl(dir + "scenes.jsonl", scenes);
  ojson files;
  files["questions"] = "llava_textvqa_val_v051_ocr.jsonl";
  files["annotations"] = "TextVQA_0.5.1_val.json";
  return write_bench_manifest(
      ctx, "textvqa",
      "Reading questions about rendered letters, with the reference OCR tokens line; "
      "ten answers each for VQA accuracy.",
      files, image_folder, "category", stats);
}

}  // namespace adallava::synth
