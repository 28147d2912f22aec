// GQA testdev-balanced in LLaVA's layout: the question jsonl and the official
// testdev_balanced_questions.json with GQA's fields (semantic program, types, groups), which the
// official eval.py reads.
#include <algorithm>
#include <map>

#include "data/synth/benchmarks.h"

namespace adallava::synth {

namespace {

const std::vector<std::string> kGqaFamilies = {"color", "shape", "existence", "spatial",
                                               "comparison"};

struct GqaTypes {
  const char* structural;
  const char* semantic;
};

GqaTypes gqa_types(const std::string& templ) {
  static const std::map<std::string, GqaTypes> table = {
      {"color_of_shape", {"query", "attr"}}, {"color_of_sized", {"query", "attr"}},
      {"color_yn", {"verify", "attr"}},      {"shape_of_color", {"query", "cat"}},
      {"shape_yn", {"verify", "cat"}},       {"exist_shape", {"verify", "obj"}},
      {"exist_colored", {"verify", "obj"}},  {"spatial_lr", {"choose", "rel"}},
      {"spatial_ab", {"choose", "rel"}},     {"spatial_yn", {"verify", "rel"}},
      {"compare_size", {"compare", "attr"}}, {"compare_more", {"compare", "obj"}},
  };
  return table.at(templ);
}

// GQA's "global" answer group for open questions; yes/no questions have none.
ojson global_group(const QA& qa) {
  if (qa.answer == "yes" || qa.answer == "no") return nullptr;
  if (qa.family == "color") return "color";
  if (qa.family == "spatial") return "place";
  return "shape";
}

}  // namespace

ojson write_gqa(SuiteContext& ctx) {
  const std::string dir = "eval/gqa/";
  const std::string image_folder = "data/images";
  Balancer balancer;
  BenchStats stats;
  std::vector<ojson> lines, scenes;
  ojson questions = ojson::object();
  for (int i = 0; i < ctx.preset().gqa_images; ++i) {
    Rng rng = ctx.stream("gqa", i);
    const auto families = plan_families(balancer, kGqaFamilies, 2, rng);
    const Scene scene = sample_scene(rng, ctx.image_size(), ScenePlan{});
    const std::string image_id = "n" + padded(i + 1, 6);
    const std::string image = image_id + ".png";
    ctx.write_scene_png(dir + image_folder + "/" + image, scene);
    scenes.push_back(scene_line("imageId", image_id, scene));
    stats.images++;
    int k = 0;
    for (const auto& family : families) {
      auto qa = balancer.ask(family, scene, rng);
      if (!qa) continue;
      const std::string qid = std::to_string(201000000L + i * 10L + k++);
      ojson line;
      line["question_id"] = qid;
      line["image"] = image;
      line["text"] = qa->question + kShortAnswerSuffix;
      line["category"] = qa->family;
      lines.push_back(line);
      ctx.add_corpus(qa->question);

      ojson semantic = ojson::array();
      std::string semantic_str;
      for (size_t s = 0; s < qa->program.size(); ++s) {
        const auto& [op, arg] = qa->program[s];
        ojson step;
        step["operation"] = op;
        ojson deps = ojson::array();
        if (op != "select") {
          // Steps after two selections combine both; otherwise each step refines the previous one.
          if (s >= 2 && qa->program[0].first == "select" && qa->program[1].first == "select") {
            deps.push_back(0);
            deps.push_back(1);
          } else if (s > 0) {
            deps.push_back(static_cast<int>(s) - 1);
          }
        }
        step["dependencies"] = deps;
        step["argument"] = arg;
        semantic.push_back(step);
        semantic_str += (s ? " -> " : "") + op + ": " + arg;
      }
      const GqaTypes types = gqa_types(qa->templ);
      ojson q;
      q["semantic"] = semantic;
      q["entailed"] = ojson::array();
      q["equivalent"] = ojson::array({qid});
      q["question"] = qa->question;
      q["imageId"] = image_id;
      q["isBalanced"] = true;
      ojson groups;
      groups["global"] = global_group(*qa);
      groups["local"] = padded(k, 2) + "-" + qa->templ + "_" + qa->answer;
      q["groups"] = groups;
      q["answer"] = qa->answer;
      q["semanticStr"] = semantic_str;
      ojson ann;
      ann["answer"] = ojson::object();
      ann["question"] = ojson::object();
      ann["fullAnswer"] = ojson::object();
      q["annotations"] = ann;
      ojson t;
      t["detailed"] = qa->templ;
      t["semantic"] = types.semantic;
      t["structural"] = types.structural;
      q["types"] = t;
      std::string full = qa->answer + ".";
      full[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(full[0])));
      q["fullAnswer"] = full;
      q["family"] = qa->family;
      questions[qid] = q;
      stats.questions++;
      stats.families[qa->family]++;
    }
  }
  ctx.write_jsonl(dir + "llava_gqa_testdev_balanced.jsonl", lines);
  ctx.write_json(dir + "data/testdev_balanced_questions.json", questions);
  ctx.write_jsonl(dir + "scenes.jsonl", scenes);
  ojson files;
  files["questions"] = "llava_gqa_testdev_balanced.jsonl";
  files["gqa_questions"] = "data/testdev_balanced_questions.json";
  return write_bench_manifest(
      ctx, "gqa",
      "Compositional questions (color, shape, existence, spatial, comparison) with "
      "GQA programs; exact-match scoring.",
      files, image_folder, "category", stats);
}

}  // namespace adallava::synth
