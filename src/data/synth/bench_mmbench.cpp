// MMBench dev in the TSV layout LLaVA's model_vqa_mmbench.py reads: index, question, hint, A-D,
// answer, category, image (base64 PNG), source, l2-category, comment, split. Each question with n
// options appears n times with the options rotated (index + k * 1000000), the copies CircularEval
// groups by index % 1000000.
#include <algorithm>
#include <optional>

#include "data/synth/benchmarks.h"

namespace adallava::synth {

namespace {

const std::vector<std::string> kMmbFamilies = {"color",   "shape",      "count",
                                               "spatial", "comparison", "reading"};
constexpr long kCircularStride = 1000000;

std::string l2_category(const std::string& family) {
  if (family == "count" || family == "spatial" || family == "comparison")
    return "fine-grained_perception (cross-instance)";
  return "fine-grained_perception (single-instance)";
}

}  // namespace

ojson write_mmbench(SuiteContext& ctx) {
  const std::string dir = "eval/mmbench/";
  Balancer balancer;
  BenchStats stats;
  std::vector<ojson> scenes;
  std::string tsv =
      "index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\timage\tsource\tl2-"
      "category\tcomment\tsplit\n";
  long rows = 0;
  for (int i = 0; i < ctx.preset().mmbench_questions; ++i) {
    Rng rng = ctx.stream("mmbench", i);
    std::optional<QA> qa;
    Scene scene;
    for (int attempt = 0; attempt < 20 && !qa; ++attempt) {
      const std::string family = plan_families(balancer, kMmbFamilies, 1, rng)[0];
      const QuestionPlan plan = plan_questions({family}, balancer, rng, true);
      scene = sample_scene(rng, ctx.image_size(), plan.scene);
      qa = balancer.ask(family, scene, rng, plan.templates_for(family));
    }
    if (!qa) continue;
    const int n = std::min<int>(4, qa->options.size());
    const int slot = balancer.next_slot("mmb" + std::to_string(n), n, rng);
    const auto options = multiple_choice_options(*qa, n, slot, rng);
    const std::string hint = rng.chance(0.3) ? kShapesHint : "";
    const std::string image =
        base64_encode(ctx.write_scene_png(dir + "images/" + padded(i, 6) + ".png", scene));
    scenes.push_back(scene_line("index", i, scene));
    ctx.add_corpus(qa->question);
    if (!hint.empty()) ctx.add_corpus(hint);
    for (int k = 0; k < n; ++k) {
      std::string row = std::to_string(i + k * kCircularStride) + "\t" + qa->question + "\t" + hint;
      for (int c = 0; c < 4; ++c) row += "\t" + (c < n ? options[(c + k) % n] : std::string());
      const int answer = ((slot - k) % n + n) % n;
      row += "\t" + option_letter(answer) + "\t" + qa->family + "\t" + image + "\tsynthetic\t" +
             l2_category(qa->family) + "\t\tdev\n";
      tsv += row;
      rows++;
    }
    stats.images++;
    stats.questions++;
    stats.families[qa->family]++;
  }
  ctx.write_text(dir + "mmbench_dev_20230712.tsv", tsv);
  ctx.write_jsonl(dir + "scenes.jsonl", scenes);
  ojson files;
  files["questions"] = "mmbench_dev_20230712.tsv";
  ojson extra;
  extra["rows"] = rows;
  extra["circular_stride"] = kCircularStride;
  return write_bench_manifest(
      ctx, "mmbench",
      "Multiple-choice questions (2-4 options) with every rotation of the options "
      "as separate rows for CircularEval; images embedded as base64 PNG (also under "
      "images/ for inspection).",
      files, "images", "category", stats, extra);
}

}  // namespace adallava::synth
