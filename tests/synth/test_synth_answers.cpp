// Answers are correct by construction: an independent reader of the question text recomputes every
// answer from the scene description, and rendered pixels match the scene (object counts per colour,
// letters visible, PNG files equal to a fresh render).
#include <catch2/catch.hpp>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <regex>
#include <set>

#include "data/synth/render.h"
#include "data/synth/scene.h"
#include "synth_fixture.h"

using nlohmann::json;
using namespace synth_test;
namespace syn = adallava::synth;

namespace {

const std::string kShort = "\nAnswer the question using a single word or phrase.";
const std::string kMC = "\nAnswer with the option's letter from the given choices directly.";

std::string singular(const std::string& plural) {
  if (plural == "crosses") return "cross";
  return plural.substr(0, plural.size() - 1);
}

// Objects matching a referring expression such as "star", "red star", "big star", "letter K".
std::vector<const json*> resolve(const json& scene, const std::string& ref) {
  std::vector<const json*> out;
  const auto words = split(ref, ' ');
  for (const auto& o : scene["objects"]) {
    if (words[0] == "letter") {
      if (o["kind"] == "letter" && o["letter"] == words[1]) out.push_back(&o);
      continue;
    }
    if (o["kind"] != "shape" || o["shape"] != words.back()) continue;
    if (words.size() == 2 && o["color"] != words[0] && o["size"] != words[0]) continue;
    out.push_back(&o);
  }
  return out;
}

const json& one(const json& scene, const std::string& ref) {
  auto objs = resolve(scene, ref);
  INFO("reference '" << ref << "'");
  REQUIRE(objs.size() == 1);
  return *objs[0];
}

int count_shapes(const json& scene, const std::string& key, const std::string& value) {
  int n = 0;
  for (const auto& o : scene["objects"])
    if (o["kind"] == "shape" && o[key] == value) ++n;
  return n;
}

std::string yes_no(bool b) {
  return b ? "yes" : "no";
}

std::vector<const json*> letters_of(const json& scene) {
  std::vector<const json*> out;
  for (const auto& o : scene["objects"])
    if (o["kind"] == "letter") out.push_back(&o);
  std::sort(out.begin(), out.end(),
            [](const json* a, const json* b) { return (*a)["x"] < (*b)["x"]; });
  return out;
}

// Recomputes the answer to `q` from `scene`; "" when the question form is unknown.
std::string recompute(const std::string& q, const json& scene) {
  std::smatch m;
  auto re = [&](const char* pattern) { return std::regex_match(q, m, std::regex(pattern)); };
  if (re(R"(What color is the (.+)\?)")) return one(scene, m[1])["color"];
  if (re(R"(What shape is the (\w+) object\?)")) {
    for (const auto& o : scene["objects"])
      if (o["kind"] == "shape" && o["color"] == m[1].str()) return o["shape"];
  }
  if (re(R"(Is the (\w+) object a (\w+)\?)")) {
    for (const auto& o : scene["objects"])
      if (o["kind"] == "shape" && o["color"] == m[1].str()) return yes_no(o["shape"] == m[2].str());
  }
  if (re(R"(Is there a (\w+) in the image\?)"))
    return yes_no(count_shapes(scene, "shape", m[1]) > 0);
  if (re(R"(Is there a (\w+) (\w+) in the image\?)")) {
    int n = 0;
    for (const auto& o : scene["objects"])
      if (o["kind"] == "shape" && o["color"] == m[1].str() && o["shape"] == m[2].str()) ++n;
    return yes_no(n > 0);
  }
  if (re(R"(How many (\w+) shapes are there\?)"))
    return std::to_string(count_shapes(scene, "color", m[1]));
  if (re(R"(How many (\w+) are there\?)"))
    return std::to_string(count_shapes(scene, "shape", singular(m[1])));
  if (re(R"(Are there (\d) (\w+) in the image\?)"))
    return yes_no(count_shapes(scene, "shape", singular(m[2])) == std::stoi(m[1]));
  if (re(R"(Is there only one (\w+) in the image\?)"))
    return yes_no(count_shapes(scene, "shape", m[1]) == 1);
  if (re(R"(Are there more (\w+) than (\w+)\?)"))
    return yes_no(count_shapes(scene, "shape", singular(m[1])) >
                  count_shapes(scene, "shape", singular(m[2])));
  if (re(R"(Is the (.+) on the left or right of the (.+)\?)"))
    return one(scene, m[1])["x"].get<int>() < one(scene, m[2])["x"].get<int>() ? "left" : "right";
  if (re(R"(Is the (.+) above or below the (.+)\?)"))
    return one(scene, m[1])["y"].get<int>() < one(scene, m[2])["y"].get<int>() ? "above" : "below";
  if (re(R"(Is the (.+) (on the left of|on the right of|above|below) the (.+)\?)")) {
    const json& a = one(scene, m[1]);
    const json& b = one(scene, m[3]);
    const std::string rel = m[2];
    if (rel == "on the left of") return yes_no(a["x"] < b["x"]);
    if (rel == "on the right of") return yes_no(a["x"] > b["x"]);
    if (rel == "above") return yes_no(a["y"] < b["y"]);
    return yes_no(a["y"] > b["y"]);
  }
  if (re(R"(Which is (bigger|smaller), the (.+) or the (.+)\?)")) {
    const std::string ra = m[2], rb = m[3];
    const json& a = one(scene, ra);
    const json& b = one(scene, rb);
    REQUIRE(a["size"] != b["size"]);
    const bool a_wins = (a["size"] == "big") == (m[1].str() == "bigger");
    const auto wa = split(ra, ' '), wb = split(rb, ' ');
    // The answer is the word of the winner's description that the other one lacks.
    const auto& winner = a_wins ? wa : wb;
    const auto& loser = a_wins ? wb : wa;
    const json& wo = a_wins ? a : b;
    const json& lo = a_wins ? b : a;
    (void)winner;
    (void)loser;
    return wo["shape"] != lo["shape"] ? wo["shape"].get<std::string>()
                                      : wo["color"].get<std::string>();
  }
  if (re(R"(What letter is in the image\?)")) {
    auto l = letters_of(scene);
    REQUIRE(l.size() == 1);
    return (*l[0])["letter"];
  }
  if (re(R"(What letter is on the (left|right)\?)")) {
    auto l = letters_of(scene);
    REQUIRE(l.size() == 2);
    return (*l[m[1] == "left" ? 0 : 1])["letter"];
  }
  if (re(R"(Is the letter in the image (\w)\?)"))
    return yes_no((*letters_of(scene).at(0))["letter"] == m[1].str());
  if (re(R"(Is the letter on the (left|right) (\w)\?)")) {
    auto l = letters_of(scene);
    REQUIRE(l.size() == 2);
    return yes_no((*l[m[1] == "left" ? 0 : 1])["letter"] == m[2].str());
  }
  if (re(R"(Is the (.+) (\w+)\?)")) return yes_no(one(scene, m[1])["color"] == m[2].str());
  return "";
}

// Question text and canonical answer of one human/gpt turn (multiple choice resolved to the
// option, a leading hint line dropped). A "Reference OCR token:" line must list exactly the
// scene's letters.
std::pair<std::string, std::string> question_and_answer(std::string prompt,
                                                        const std::string& reply,
                                                        const json& scene) {
  if (prompt.rfind("<image>\n", 0) == 0) prompt = prompt.substr(8);
  if (ends_with(prompt, kShort)) {
    auto lines = split(prompt.substr(0, prompt.size() - kShort.size()), '\n');
    if (lines.size() == 2) {
      const std::string ocr = "Reference OCR token: ";
      REQUIRE(lines[1].rfind(ocr, 0) == 0);
      std::multiset<std::string> listed, drawn;
      for (const auto& t : split(lines[1].substr(ocr.size()), ','))
        listed.insert(t.substr(t.find_first_not_of(' ')));
      for (const json* l : letters_of(scene)) drawn.insert((*l)["letter"].get<std::string>());
      CHECK(listed == drawn);
    }
    REQUIRE(lines.size() <= 2);
    return {lines[0], reply};
  }
  REQUIRE(ends_with(prompt, kMC));
  auto lines = split(prompt.substr(0, prompt.size() - kMC.size()), '\n');
  const std::string hint = "Look at the shapes in the picture.";
  if (lines[0] == hint || lines[0] == "Context: " + hint) lines.erase(lines.begin());
  return {lines[0], lines.at(1 + (reply[0] - 'A')).substr(3)};
}

}  // namespace

TEST_CASE("every training and validation answer follows from its scene", "[synth][answers]") {
  const std::string dir = suite("small");
  std::map<std::string, json> scenes;
  for (const auto& s : read_jsonl(dir + "/scenes.jsonl"))
    scenes[s["image"].get<std::string>()] = s["scene"];
  long checked = 0;
  for (const char* split_name : {"train.json", "val.json"}) {
    for (const auto& e : read_json(dir + "/" + split_name)) {
      if (!e.contains("image")) continue;
      const json& scene = scenes.at("images/" + e["image"].get<std::string>());
      const auto& conv = e["conversations"];
      for (size_t t = 0; t < conv.size(); t += 2) {
        const auto [q, a] = question_and_answer(conv[t]["value"], conv[t + 1]["value"], scene);
        INFO(e["image"] << ": " << q);
        CHECK(recompute(q, scene) == a);
        ++checked;
      }
    }
  }
  CHECK(checked > 1500);
}

TEST_CASE("benchmark answers follow from their scenes", "[synth][answers]") {
  const std::string dir = suite("small") + "/eval";
  long checked = 0;
  {  // VQAv2
    std::map<std::string, json> scenes;
    for (const auto& s : read_jsonl(dir + "/vqav2/scenes.jsonl"))
      scenes[s["image"].get<std::string>()] = s["scene"];
    std::map<long, std::string> answers;
    const json vqa_ann = read_json(dir + "/vqav2/v2_mscoco_synth2015_annotations.json");
    for (const auto& a : vqa_ann["annotations"])
      answers[a["question_id"].get<long>()] = a["multiple_choice_answer"];
    for (const auto& l : read_jsonl(dir + "/vqav2/llava_vqav2_mscoco_test-dev2015.jsonl")) {
      const std::string text = l["text"];
      const std::string q = text.substr(0, text.size() - kShort.size());
      INFO(q);
      CHECK(recompute(q, scenes.at(l["image"])) == answers.at(l["question_id"].get<long>()));
      ++checked;
    }
  }
  {  // GQA
    std::map<std::string, json> scenes;
    for (const auto& s : read_jsonl(dir + "/gqa/scenes.jsonl"))
      scenes[s["imageId"].get<std::string>()] = s["scene"];
    const json qs = read_json(dir + "/gqa/data/testdev_balanced_questions.json");
    for (auto it = qs.begin(); it != qs.end(); ++it) {
      INFO(it.value()["question"]);
      CHECK(recompute(it.value()["question"], scenes.at(it.value()["imageId"])) ==
            it.value()["answer"]);
      ++checked;
    }
  }
  {  // MME: the Yes/No ground truth
    std::map<std::string, json> scenes;
    for (const auto& s : read_jsonl(dir + "/mme/scenes.jsonl"))
      scenes[s["image"].get<std::string>()] = s["scene"];
    for (const auto& [image, scene] : scenes) {
      const auto lines = split(read_file(dir + "/mme/MME_Benchmark_release_version/" +
                                         image.substr(0, image.size() - 4) + ".txt"),
                               '\n');
      for (int k = 0; k < 2; ++k) {
        const auto f = split(lines[k], '\t');
        const std::string q =
            f[0].substr(0, f[0].size() - std::string(" Please answer yes or no.").size());
        INFO(q);
        CHECK(recompute(q, scene) == (f[1] == "Yes" ? "yes" : "no"));
        ++checked;
      }
    }
  }
  {  // ScienceQA image problems
    std::map<std::string, json> scenes;
    for (const auto& s : read_jsonl(dir + "/scienceqa/scenes.jsonl"))
      scenes[s["pid"].get<std::string>()] = s["scene"];
    const json problems = read_json(dir + "/scienceqa/problems.json");
    for (const auto& [pid, scene] : scenes) {
      const json& p = problems.at(pid);
      INFO(p["question"]);
      CHECK(recompute(p["question"], scene) == p["choices"][p["answer"].get<int>()]);
      ++checked;
    }
  }
  {  // TextVQA: the canonical letter is among the ten answers at least six times
    std::map<std::string, json> scenes;
    for (const auto& s : read_jsonl(dir + "/textvqa/scenes.jsonl"))
      scenes[s["image_id"].get<std::string>()] = s["scene"];
    const json ann = read_json(dir + "/textvqa/TextVQA_0.5.1_val.json");
    for (const auto& a : ann["data"]) {
      std::string q = a["question"];
      q[0] = static_cast<char>(std::toupper(q[0]));
      const std::string expected = recompute(q, scenes.at(a["image_id"]));
      int agree = 0;
      for (const auto& h : a["answers"])
        agree += h == expected || h == std::string(1, std::tolower(expected[0]));
      INFO(q);
      CHECK(agree >= 6);
      ++checked;
    }
  }
  CHECK(checked > 400);
}

TEST_CASE("the scene reader recomputes answers that are wrong when the scene is altered",
          "[synth][answers]") {
  // Guard against a recompute() that agrees with everything.
  const json scene = json::parse(R"({"objects": [
      {"kind": "shape", "shape": "circle", "size": "big", "color": "red", "x": 20, "y": 20, "radius": 14},
      {"kind": "shape", "shape": "circle", "size": "small", "color": "blue", "x": 70, "y": 60, "radius": 8},
      {"kind": "shape", "shape": "star", "size": "small", "color": "red", "x": 70, "y": 20, "radius": 8},
      {"kind": "letter", "letter": "K", "color": "white", "x": 20, "y": 75, "radius": 11}]})");
  CHECK(recompute("How many circles are there?", scene) == "2");
  CHECK(recompute("How many red shapes are there?", scene) == "2");
  CHECK(recompute("What color is the star?", scene) == "red");
  CHECK(recompute("What color is the small circle?", scene) == "blue");
  CHECK(recompute("Is the star on the left or right of the blue circle?", scene) == "right");
  CHECK(recompute("Is the letter K above or below the star?", scene) == "below");
  CHECK(recompute("Which is bigger, the red circle or the star?", scene) == "circle");
  CHECK(recompute("Which is smaller, the red circle or the blue circle?", scene) == "blue");
  CHECK(recompute("Are there more circles than stars?", scene) == "yes");
  CHECK(recompute("Is there a blue star in the image?", scene) == "no");
  CHECK(recompute("What letter is in the image?", scene) == "K");
  CHECK(recompute("Is the star red?", scene) == "yes");
}

TEST_CASE("rendered pixels match the scene description", "[synth][render]") {
  const std::string dir = suite("small");
  const auto scene_lines = read_jsonl(dir + "/scenes.jsonl");
  int scenes_checked = 0, letters_checked = 0;
  for (size_t i = 0; i < scene_lines.size() && scenes_checked < 40; i += 7, ++scenes_checked) {
    const syn::Scene scene = syn::scene_from_json(scene_lines[i]["scene"], "scenes.jsonl");
    INFO(scene_lines[i]["image"]);
    // The PNG on disk is exactly a fresh render of the scene.
    const cv::Mat disk =
        cv::imread(dir + "/" + scene_lines[i]["image"].get<std::string>(), cv::IMREAD_COLOR);
    const cv::Mat fresh = syn::render_scene(scene);
    REQUIRE(disk.size() == fresh.size());
    CHECK(cv::norm(disk, fresh, cv::NORM_INF) == 0);

    // On a flat canvas, each colour's blobs are exactly its shapes (no overlaps, nothing missing).
    syn::RenderOptions flat;
    flat.background = false;
    flat.noise = false;
    const cv::Mat img = syn::render_scene(scene, flat);
    for (auto colour : syn::all_colours()) {
      int shapes = 0;
      bool letter = false;
      for (const auto& o : scene.objects) {
        if (o.colour != colour) continue;
        if (o.is_letter)
          letter = true;
        else
          ++shapes;
      }
      if (letter) continue;
      const syn::Rgb c = syn::colour_rgb(colour);
      cv::Mat mask(img.size(), CV_8U, cv::Scalar(0));
      for (int y = 0; y < img.rows; ++y)
        for (int x = 0; x < img.cols; ++x) {
          const auto p = img.at<cv::Vec3b>(y, x);
          if (std::abs(p[0] - c.b) + std::abs(p[1] - c.g) + std::abs(p[2] - c.r) <= 40)
            mask.at<uchar>(y, x) = 255;
        }
      cv::Mat labels, stats, centroids;
      const int n = cv::connectedComponentsWithStats(mask, labels, stats, centroids, 8);
      int blobs = 0;
      for (int k = 1; k < n; ++k) blobs += stats.at<int>(k, cv::CC_STAT_AREA) >= 6;
      INFO("colour " << syn::colour_name(colour));
      CHECK(blobs == shapes);
    }

    // Every letter changes the pixels where it is drawn (same noise, with and without objects).
    syn::RenderOptions no_objects;
    no_objects.objects = false;
    const cv::Mat bare = syn::render_scene(scene, no_objects);
    for (const auto& o : scene.objects) {
      if (!o.is_letter) continue;
      const int half = std::max(3, o.radius * 2 / 3);
      const cv::Rect box(o.x - half, o.y - half, 2 * half, 2 * half);
      cv::Mat diff;
      cv::absdiff(fresh(box), bare(box), diff);
      const cv::Scalar mean = cv::mean(diff);
      INFO("letter " << o.letter);
      CHECK(mean[0] + mean[1] + mean[2] > 60);  // a glyph over ~a fifth of the box, ~100+ levels
      ++letters_checked;
    }
  }
  CHECK(scenes_checked == 40);
  CHECK(letters_checked > 5);
}

TEST_CASE("scene JSON round-trips and rejects malformed input", "[synth][scene]") {
  syn::Rng rng(3);
  syn::ScenePlan plan;
  plan.letters = 2;
  const syn::Scene scene = syn::sample_scene(rng, 96, plan);
  const auto j = syn::scene_to_json(scene);
  CHECK(syn::scene_to_json(syn::scene_from_json(json::parse(j.dump()), "x")) == j);
  json bad = json::parse(j.dump());
  bad["objects"][0]["color"] = "teal";
  CHECK_THROWS_WITH(syn::scene_from_json(bad, "scenes.jsonl:4"),
                    Catch::Contains("scenes.jsonl:4") && Catch::Contains("teal"));
  bad = json::parse(j.dump());
  bad.erase("background");
  CHECK_THROWS_WITH(syn::scene_from_json(bad, "scenes.jsonl:5"), Catch::Contains("scenes.jsonl:5"));
  bad = json::parse(j.dump());
  bad["noise_seed"] = "xyz";
  CHECK_THROWS_WITH(syn::scene_from_json(bad, "s"), Catch::Contains("noise_seed"));
}
