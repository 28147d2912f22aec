// Question families and answers are balanced so no answer prior scores well, and POPE negatives
// follow their split's sampling rule.
#include <catch2/catch.hpp>

#include <array>
#include <set>

#include "data/synth/benchmarks.h"
#include "data/synth/vocab.h"
#include "synth_fixture.h"

using nlohmann::json;
using namespace synth_test;
namespace syn = adallava::synth;

namespace {

const std::string kShort = "\nAnswer the question using a single word or phrase.";

struct Tally {
  std::map<std::string, long> family;
  std::map<std::string, std::map<std::string, long>> answers;  // family -> answer -> count
  long total = 0;
};

double max_share(const std::map<std::string, long>& counts) {
  long total = 0, best = 0;
  for (const auto& [k, v] : counts) {
    total += v;
    best = std::max(best, v);
  }
  return total ? static_cast<double>(best) / total : 0;
}

}  // namespace

TEST_CASE("training families and answers are balanced", "[synth][balance]") {
  const std::string dir = suite("small");
  Tally t;
  long yes = 0, no = 0;
  std::map<std::string, long> colours, counts, letters;
  for (const auto& e : read_json(dir + "/train.json")) {
    const auto& conv = e["conversations"];
    for (size_t k = 0; k < conv.size(); k += 2) {
      const std::string family = e["families"][k / 2];
      if (family == "knowledge") continue;
      const std::string prompt = conv[k]["value"];
      const std::string answer = conv[k + 1]["value"];
      t.family[family]++;
      t.total++;
      if (!ends_with(prompt, kShort)) continue;  // multiple choice: letters checked elsewhere
      t.answers[family][answer]++;
      if (answer == "yes") ++yes;
      if (answer == "no") ++no;
      if (family == "color" && answer != "yes" && answer != "no") colours[answer]++;
      if (family == "count" && answer != "yes" && answer != "no") counts[answer]++;
      if (family == "reading" && answer != "yes" && answer != "no") letters[answer]++;
    }
  }
  REQUIRE(t.total > 1400);
  for (const auto& f :
       {"color", "shape", "existence", "count", "spatial", "comparison", "reading"}) {
    const double share = static_cast<double>(t.family[f]) / t.total;
    INFO(f << " share " << share);
    CHECK(share > 0.12);  // uniform would be 1/7 = 0.143
    CHECK(share < 0.17);
    // The best constant answer per family stays near chance for a yes/no question or below.
    INFO("max answer share " << max_share(t.answers[f]));
    CHECK(max_share(t.answers[f]) < 0.53);
  }
  const double yes_rate = static_cast<double>(yes) / (yes + no);
  INFO("yes rate " << yes_rate);
  CHECK(yes_rate > 0.47);
  CHECK(yes_rate < 0.53);
  REQUIRE(colours.size() == 8);
  CHECK(max_share(colours) < 1.5 / 8);
  REQUIRE(counts.size() == 5);
  CHECK(max_share(counts) < 1.5 / 5);
  REQUIRE(letters.size() == syn::letter_names().size());
  CHECK(max_share(letters) < 2.0 / letters.size());
}

TEST_CASE("benchmark families and yes/no answers are balanced", "[synth][balance]") {
  const std::string dir = suite("small") + "/eval";
  std::map<std::string, long> vqa_family, vqa_answer;
  const json vqa_ann = read_json(dir + "/vqav2/v2_mscoco_synth2015_annotations.json");
  for (const auto& a : vqa_ann["annotations"]) {
    vqa_family[a["family"]]++;
    vqa_answer[a["multiple_choice_answer"]]++;
  }
  CHECK(vqa_family.size() == 7);
  CHECK(max_share(vqa_family) < 0.2);
  CHECK(max_share(vqa_answer) < 0.3);
  std::map<std::string, long> gqa_answer;
  const json gqa = read_json(dir + "/gqa/data/testdev_balanced_questions.json");
  for (const auto& [qid, q] : gqa.items()) gqa_answer[q["answer"]]++;
  CHECK(max_share(gqa_answer) < 0.3);
  for (const char* split : {"random", "popular", "adversarial"}) {
    long yes = 0, all = 0;
    for (const auto& l : read_jsonl(dir + "/pope/coco/coco_pope_" + std::string(split) + ".json")) {
      yes += l["label"] == "yes";
      ++all;
    }
    INFO(split);
    CHECK(all > 0);
    CHECK(yes * 2 == all);
  }
  // ScienceQA and MMBench answer letters are spread over the positions.
  std::map<std::string, long> sqa_letters;
  const json problems = read_json(dir + "/scienceqa/problems.json");
  for (const auto& [pid, p] : problems.items())
    sqa_letters[std::string(1, 'A' + p["answer"].get<int>())]++;
  CHECK(max_share(sqa_letters) < 0.5);
}

TEST_CASE("POPE negatives follow the random, popular and adversarial rules", "[synth][pope]") {
  const std::string dir = suite("small") + "/eval/pope";
  const json manifest = read_json(dir + "/manifest.json");
  const json& frequency = manifest["object_image_frequency"];
  std::map<std::string, std::set<std::string>> present;
  for (const auto& s : read_jsonl(dir + "/scenes.jsonl"))
    for (const auto& o : s["scene"]["objects"])
      if (o["kind"] == "shape")
        present[s["image"]].insert(o["color"].get<std::string>() + " " +
                                   o["shape"].get<std::string>());
  auto object_of = [](const std::string& text) {  // "Is there a red circle in the image?"
    return text.substr(11, text.size() - 11 - std::string(" in the image?").size());
  };
  std::map<std::string, std::map<std::string, std::set<std::string>>> positives,
      negatives;  // split -> image
  for (const char* split : {"random", "popular", "adversarial"}) {
    const auto labels = read_jsonl(dir + "/coco/coco_pope_" + std::string(split) + ".json");
    long id = 0;
    for (const auto& l : labels) {
      CHECK(l["question_id"] == ++id);
      const std::string obj = object_of(l["text"]);
      const bool is_present = present.at(l["image"]).count(obj) == 1;
      CHECK(is_present == (l["label"] == "yes"));
      (l["label"] == "yes" ? positives : negatives)[split][l["image"]].insert(obj);
    }
  }
  CHECK(positives["random"] == positives["popular"]);
  CHECK(positives["random"] == positives["adversarial"]);
  auto similarity = [&](const std::string& image, const std::string& obj) {
    const auto w = split(obj, ' ');
    bool shape = false, colour = false;
    for (const auto& p : present.at(image)) {
      const auto pw = split(p, ' ');
      shape |= pw[1] == w[1];
      colour |= pw[0] == w[0];
    }
    return 2 * shape + colour;
  };
  int random_differs = 0;
  for (const auto& [image, objs] : present) {
    INFO(image);
    REQUIRE(negatives["popular"][image].size() == 3);
    REQUIRE(negatives["adversarial"][image].size() == 3);
    // Popular: no absent object outside the chosen three is more frequent than a chosen one.
    long weakest = 1 << 30;
    for (const auto& n : negatives["popular"][image])
      weakest = std::min(weakest, frequency[n].get<long>());
    for (const auto& c : syn::colour_names())
      for (const auto& s : syn::shape_names()) {
        const std::string obj = c + " " + s;
        if (objs.count(obj) || negatives["popular"][image].count(obj)) continue;
        CHECK(frequency[obj].get<long>() <= weakest);
      }
    // Adversarial: chosen negatives look at least as similar to the scene as any other absent
    // object.
    int least_similar = 3;
    for (const auto& n : negatives["adversarial"][image])
      least_similar = std::min(least_similar, similarity(image, n));
    CHECK(least_similar >= 2);  // share a shape with something in the image
    for (const auto& c : syn::colour_names())
      for (const auto& s : syn::shape_names()) {
        const std::string obj = c + " " + s;
        if (objs.count(obj) || negatives["adversarial"][image].count(obj)) continue;
        CHECK(similarity(image, obj) <= least_similar);
      }
    random_differs += negatives["random"][image] != negatives["popular"][image];
  }
  CHECK(random_differs > static_cast<int>(present.size()) / 2);
  // The llava question file lists the three splits in order with ids unique over the file.
  const auto questions = read_jsonl(dir + "/llava_pope_test.jsonl");
  std::set<long> ids;
  for (const auto& q : questions) CHECK(ids.insert(q["question_id"].get<long>()).second);
  CHECK(questions.size() == 3 * positives["random"].size() * 6);
  CHECK(questions.front()["category"] == "adversarial");
  CHECK(questions.back()["category"] == "random");
}

TEST_CASE("pope_negatives ranks by the split's rule", "[synth][pope]") {
  std::vector<bool> present(48, false);
  present[0 * 6 + 0] = true;  // red circle
  present[2 * 6 + 3] = true;  // blue star
  std::vector<long> frequency(48, 0);
  frequency[7 * 6 + 5] = 9;  // black cross: most popular
  frequency[5 * 6 + 5] = 8;  // orange cross
  frequency[1 * 6 + 0] = 1;  // green circle: shares the circle's shape only
  frequency[2 * 6 + 0] = 2;  // blue circle: shares a present shape and a present colour
  syn::Rng rng(1);
  const auto popular = syn::pope_negatives("popular", present, frequency, 2, rng);
  CHECK(popular == std::vector<int>{7 * 6 + 5, 5 * 6 + 5});
  // Most similar first: a present shape and a present colour (blue circle, red star; the more
  // frequent first), then a present shape only (green circle, the most frequent of those).
  const auto adversarial = syn::pope_negatives("adversarial", present, frequency, 3, rng);
  CHECK(adversarial == std::vector<int>{2 * 6 + 0, 0 * 6 + 3, 1 * 6 + 0});
  const auto random = syn::pope_negatives("random", present, frequency, 46, rng);
  CHECK(std::find(random.begin(), random.end(), 0) == random.end());
  CHECK(random.size() == 46);
}
