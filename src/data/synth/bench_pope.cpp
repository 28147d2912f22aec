// POPE in LLaVA's layout: llava_pope_test.jsonl (all three splits, ids unique across the file,
// category = split) and coco/coco_pope_<split>.json label files (jsonl, ids restarting at 1), which
// eval_pope.py zips with the answers by order. Objects are colour-shape pairs ("red circle"), so
// there are 48 of them and the three negative-sampling rules differ:
//   random      - absent pairs drawn uniformly;
//   popular     - the absent pairs present in the most POPE images;
//   adversarial - absent pairs that look most like what is there: sharing the shape of a present
//                 object (different colour) first, then sharing its colour, then by popularity.
// POPE scenes draw colours and shapes with skewed weights so that "popular" has real meaning.
#include <algorithm>
#include <array>

#include "data/synth/benchmarks.h"

namespace adallava::synth {

namespace {

constexpr int kPairs = kNumColours * kNumShapes;
const std::vector<std::string> kSplits = {"adversarial", "popular", "random"};

int pair_id(const SceneObject& o) {
  return static_cast<int>(o.colour) * kNumShapes + static_cast<int>(o.shape);
}
Colour pair_colour(int id) {
  return static_cast<Colour>(id / kNumShapes);
}
Shape pair_shape(int id) {
  return static_cast<Shape>(id % kNumShapes);
}
std::string pair_name(int id) {
  return colour_name(pair_colour(id)) + " " + shape_name(pair_shape(id));
}

}  // namespace

std::vector<int> pope_negatives(const std::string& split, const std::vector<bool>& present,
                                const std::vector<long>& frequency, int n, Rng& rng) {
  std::vector<int> absent;
  for (int id = 0; id < kPairs; ++id)
    if (!present[id]) absent.push_back(id);
  if (split == "random") {
    rng.shuffle(absent);
  } else {
    std::array<bool, kNumShapes> shape_present{};
    std::array<bool, kNumColours> colour_present{};
    for (int id = 0; id < kPairs; ++id) {
      if (!present[id]) continue;
      shape_present[static_cast<int>(pair_shape(id))] = true;
      colour_present[static_cast<int>(pair_colour(id))] = true;
    }
    auto similarity = [&](int id) {
      return 2 * shape_present[static_cast<int>(pair_shape(id))] +
             colour_present[static_cast<int>(pair_colour(id))];
    };
    std::stable_sort(absent.begin(), absent.end(), [&](int a, int b) {
      if (split == "adversarial" && similarity(a) != similarity(b))
        return similarity(a) > similarity(b);
      return frequency[a] > frequency[b];
    });
  }
  absent.resize(std::min<size_t>(absent.size(), n));
  return absent;
}

ojson write_pope(SuiteContext& ctx) {
  const std::string dir = "eval/pope/";
  const std::string image_folder = "val2014";
  BenchStats stats;
  ScenePlan plan;
  plan.min_distinct_objects = 3;
  plan.colour_weights = {3.0, 2.4, 2.0, 1.6, 1.3, 1.1, 1.0, 0.9};
  plan.shape_weights = {2.6, 2.1, 1.7, 1.4, 1.2, 1.0};
  std::vector<Scene> scenes;
  std::vector<std::string> images;
  std::vector<ojson> scene_lines;
  std::vector<long> frequency(kPairs, 0);
  for (int i = 0; i < ctx.preset().pope_images; ++i) {
    Rng rng = ctx.stream("pope", i);
    Scene scene = sample_scene(rng, ctx.image_size(), plan);
    const std::string image = "synth_val2014_" + padded(i + 1, 12) + ".png";
    ctx.write_scene_png(dir + image_folder + "/" + image, scene);
    scene_lines.push_back(scene_line("image", image, scene));
    std::vector<bool> present(kPairs, false);
    for (int idx : scene.shape_indices()) present[pair_id(scene.objects[idx])] = true;
    for (int id = 0; id < kPairs; ++id) frequency[id] += present[id];
    scenes.push_back(std::move(scene));
    images.push_back(image);
    stats.images++;
  }
  std::vector<ojson> question_lines;
  ojson label_files = ojson::object();
  long global_id = 0;
  for (size_t split_index = 0; split_index < kSplits.size(); ++split_index) {
    const std::string& split = kSplits[split_index];
    std::vector<ojson> labels;
    for (size_t i = 0; i < scenes.size(); ++i) {
      // Positives are the same in every split; only the negatives follow the split's rule.
      Rng positive_rng = ctx.stream("pope_positive", i);
      Rng rng = ctx.stream("pope_" + split, i);
      std::vector<bool> present(kPairs, false);
      for (int idx : scenes[i].shape_indices()) present[pair_id(scenes[i].objects[idx])] = true;
      std::vector<int> positives;
      for (int id = 0; id < kPairs; ++id)
        if (present[id]) positives.push_back(id);
      positive_rng.shuffle(positives);
      positives.resize(std::min<size_t>(3, positives.size()));
      const auto negatives = pope_negatives(split, present, frequency, 3, rng);
      std::vector<std::pair<int, bool>> items;
      for (int id : positives) items.push_back({id, true});
      for (int id : negatives) items.push_back({id, false});
      rng.shuffle(items);
      for (const auto& [id, label] : items) {
        const std::string question = "Is there a " + pair_name(id) + " in the image?";
        ojson l;
        l["question_id"] = static_cast<long>(labels.size()) + 1;
        l["image"] = images[i];
        l["text"] = question;
        l["label"] = label ? "yes" : "no";
        labels.push_back(l);
        ojson q;
        q["question_id"] = ++global_id;
        q["image"] = images[i];
        q["text"] = question + kShortAnswerSuffix;
        q["category"] = split;
        question_lines.push_back(q);
        ctx.add_corpus(question);
        stats.questions++;
        stats.families["existence"]++;
      }
    }
    const std::string file = "coco/coco_pope_" + split + ".json";
    ctx.write_jsonl(dir + file, labels);
    label_files[split] = file;
  }
  ctx.write_jsonl(dir + "llava_pope_test.jsonl", question_lines);
  ctx.write_jsonl(dir + "scenes.jsonl", scene_lines);
  ojson files;
  files["questions"] = "llava_pope_test.jsonl";
  files["labels"] = label_files;
  ojson extra;
  ojson freq = ojson::object();
  for (int id = 0; id < kPairs; ++id) freq[pair_name(id)] = frequency[id];
  extra["object_image_frequency"] = freq;
  extra["family"] = "existence";
  return write_bench_manifest(
      ctx, "pope",
      "Yes/no existence of colour-shape objects; 3 positives and 3 negatives per "
      "image in each split (random, popular, adversarial negatives).",
      files, image_folder, "(all existence; category = POPE split)", stats, extra);
}

}  // namespace adallava::synth
