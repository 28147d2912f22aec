// MME in the release layout: MME_Benchmark_release_version/<category>/<image>.png beside
// <image>.txt with "question Please answer yes or no.\tYes|No" lines (two per image, one Yes and
// one No), and LLaVA's llava_mme.jsonl where the question's " Please answer yes or no." is replaced
// by the short-answer suffix. Only the perception categories our scenes can express are produced.
#include <algorithm>

#include "data/synth/benchmarks.h"

namespace adallava::synth {

namespace {

struct MmeCategory {
  const char* name;
  const char* family;
  std::vector<std::string> templates;
};

const std::vector<MmeCategory>& mme_categories() {
  static const std::vector<MmeCategory> cats = {
      {"existence", "existence", {"exist_shape", "exist_colored"}},
      {"count", "count", {"count_yn"}},
      {"position", "spatial", {"spatial_yn"}},
      {"color", "color", {"color_yn"}},
      {"OCR", "reading", {"read_yn"}},
  };
  return cats;
}

const char* const kMmeSuffix = " Please answer yes or no.";

}  // namespace

ojson write_mme(SuiteContext& ctx) {
  const std::string dir = "eval/mme/";
  const std::string release = "MME_Benchmark_release_version";
  BenchStats stats;
  std::vector<ojson> lines, scenes;
  ojson category_families = ojson::object();
  long image_counter = 0;
  for (const auto& cat : mme_categories()) {
    category_families[cat.name] = cat.family;
    Balancer balancer;
    for (int i = 0; i < ctx.preset().mme_images_per_category; ++i) {
      Rng rng = ctx.stream(std::string("mme_") + cat.name, i);
      std::vector<QA> cands;
      Scene scene;
      std::string templ;
      // Retry scenes until the template can ask both a yes and a no question.
      for (int attempt = 0; attempt < 50; ++attempt) {
        ScenePlan plan;
        if (std::string(cat.family) == "reading") plan.letters = 1 + static_cast<int>(rng.below(2));
        scene = sample_scene(rng, ctx.image_size(), plan);
        templ =
            cat.templates[balancer.next_slot("templ", static_cast<int>(cat.templates.size()), rng)];
        cands = template_candidates(templ, scene, rng);
        const bool has_yes =
            std::any_of(cands.begin(), cands.end(), [](const QA& q) { return q.answer == "yes"; });
        const bool has_no =
            std::any_of(cands.begin(), cands.end(), [](const QA& q) { return q.answer == "no"; });
        if (has_yes && has_no) break;
        cands.clear();
      }
      if (cands.empty()) continue;
      std::vector<QA> yes, no;
      for (const auto& q : cands) (q.answer == "yes" ? yes : no).push_back(q);
      const QA first = rng.pick(yes);
      // The "no" question is about the same objects when one exists, as MME pairs are.
      std::vector<QA> same_objects;
      for (const auto& q : no)
        if (q.objects == first.objects) same_objects.push_back(q);
      const QA second = same_objects.empty() ? rng.pick(no) : rng.pick(same_objects);

      const std::string stem = padded(++image_counter, 12);
      const std::string rel_image = std::string(cat.name) + "/" + stem + ".png";
      ctx.write_scene_png(dir + release + "/" + rel_image, scene);
      scenes.push_back(scene_line("image", rel_image, scene));
      std::string txt;
      for (const QA* q : {&first, &second}) {
        txt += q->question + kMmeSuffix + "\t" + (q->answer == "yes" ? "Yes" : "No") + "\n";
        ojson line;
        line["question_id"] = rel_image;
        line["image"] = rel_image;
        line["text"] = q->question + kShortAnswerSuffix;
        line["category"] = cat.name;
        lines.push_back(line);
        ctx.add_corpus(q->question + kMmeSuffix);
        stats.questions++;
        stats.families[cat.family]++;
      }
      ctx.write_text(dir + release + "/" + cat.name + "/" + stem + ".txt", txt);
      stats.images++;
    }
  }
  ctx.write_jsonl(dir + "llava_mme.jsonl", lines);
  ctx.write_jsonl(dir + "scenes.jsonl", scenes);
  ojson files;
  files["questions"] = "llava_mme.jsonl";
  files["release"] = release;
  ojson extra;
  extra["category_families"] = category_families;
  return write_bench_manifest(
      ctx, "mme",
      "Paired yes/no questions (one Yes, one No per image) in the existence, count, "
      "position, color and OCR categories.",
      files, release, "category (MME category; see category_families)", stats, extra);
}

}  // namespace adallava::synth
