// Every file parses and follows the format LLaVA's scripts (and the golden files) use; ids are
// unique, referenced images exist, answers come from the allowed sets.
#include <catch2/catch.hpp>

#include <algorithm>
#include <regex>
#include <set>

#include "data/synth/answer_variants.h"
#include "data/synth/knowledge.h"
#include "data/synth/vocab.h"
#include "synth_fixture.h"

using nlohmann::json;
using namespace synth_test;
namespace syn = adallava::synth;

namespace {

const std::string kShort = "\nAnswer the question using a single word or phrase.";
const std::string kMC = "\nAnswer with the option's letter from the given choices directly.";

std::set<std::string> keys_of(const json& j) {
  std::set<std::string> k;
  for (auto it = j.begin(); it != j.end(); ++it) k.insert(it.key());
  return k;
}

std::set<std::string> allowed_answers(const std::string& family) {
  std::set<std::string> a = {"yes", "no"};
  auto add = [&](const std::vector<std::string>& v) { a.insert(v.begin(), v.end()); };
  if (family == "color") add(syn::colour_names());
  if (family == "shape") add(syn::shape_names());
  if (family == "count") add({"1", "2", "3", "4", "5"});
  if (family == "spatial") add({"left", "right", "above", "below"});
  if (family == "comparison") {
    add(syn::shape_names());
    add(syn::colour_names());
  }
  if (family == "reading") add(syn::letter_names());
  if (family == "knowledge")
    for (const auto& f : syn::knowledge_facts()) a.insert(f.answer);
  return a;
}

std::set<std::string> families() {
  return {"color", "shape", "existence", "count", "spatial", "comparison", "reading"};
}

// Checks one LLaVA instruction entry; returns (family, answer, is_mc) per turn.
void check_instruction_entry(const json& e, const std::string& image_root) {
  INFO(e.dump());
  REQUIRE(e.contains("id"));
  REQUIRE(e["conversations"].is_array());
  const auto& conv = e["conversations"];
  REQUIRE(conv.size() % 2 == 0);
  REQUIRE(e["families"].size() * 2 == conv.size());
  const bool has_image = e.contains("image");
  if (has_image) CHECK(exists(image_root + "/" + e["image"].get<std::string>()));
  for (size_t t = 0; t < conv.size(); t += 2) {
    REQUIRE(conv[t]["from"] == "human");
    REQUIRE(conv[t + 1]["from"] == "gpt");
    std::string prompt = conv[t]["value"];
    const std::string answer = conv[t + 1]["value"];
    if (t == 0 && has_image) {
      REQUIRE(prompt.rfind("<image>\n", 0) == 0);
      prompt = prompt.substr(8);
    }
    CHECK(prompt.find("<image>") == std::string::npos);
    const std::string family = e["families"][t / 2];
    if (ends_with(prompt, kMC)) {
      auto lines = split(prompt.substr(0, prompt.size() - kMC.size()), '\n');
      // An optional hint line first, as ScienceQA ("Context: ...") and MMBench prompts have.
      const std::string hint = "Look at the shapes in the picture.";
      if (lines[0] == hint || lines[0] == "Context: " + hint) lines.erase(lines.begin());
      REQUIRE(lines.size() >= 3);  // question + at least two options
      for (size_t i = 1; i < lines.size(); ++i)
        CHECK(lines[i].substr(0, 3) == std::string(1, 'A' + i - 1) + ". ");
      REQUIRE(answer.size() == 1);
      const int index = answer[0] - 'A';
      REQUIRE(index >= 0);
      REQUIRE(index < static_cast<int>(lines.size()) - 1);
      CHECK(allowed_answers(family).count(lines[index + 1].substr(3)) == 1);
    } else {
      REQUIRE(ends_with(prompt, kShort));
      const auto lines = split(prompt, '\n');
      // question [+ TextVQA's OCR line, reading questions only] + suffix
      if (lines.size() == 3) {
        CHECK(family == "reading");
        CHECK(lines[1].rfind("Reference OCR token: ", 0) == 0);
      } else {
        CHECK(lines.size() == 2);
      }
      CHECK(allowed_answers(family).count(answer) == 1);
    }
  }
}

}  // namespace

TEST_CASE("training, validation and caption sets follow LLaVA's formats", "[synth][formats]") {
  const std::string dir = suite("small");
  const json train = read_json(dir + "/train.json");
  const json val = read_json(dir + "/val.json");
  const json pretrain = read_json(dir + "/pretrain.json");
  const auto manifest = read_json(dir + "/manifest.json");
  REQUIRE(train.is_array());
  std::set<std::string> ids, train_images;
  long questions = 0, text_only = 0;
  for (const auto& e : train) {
    check_instruction_entry(e, dir + "/images");
    CHECK(ids.insert(e["id"].get<std::string>()).second);
    if (e.contains("image"))
      train_images.insert(e["image"].get<std::string>());
    else
      text_only++;
    questions += e["families"].size();
  }
  for (const auto& e : val) {
    check_instruction_entry(e, dir + "/images");
    CHECK(ids.insert(e["id"].get<std::string>()).second);
    CHECK(train_images.count(e["image"].get<std::string>()) == 0);
  }
  CHECK(text_only >= 1);
  CHECK(questions == manifest["counts"]["train"]["questions"].get<long>());
  CHECK(manifest["counts"]["train"]["multiple_choice"].get<long>() > 0);
  CHECK(manifest["counts"]["train"]["ocr_lines"].get<long>() > 0);
  REQUIRE(pretrain.size() == train_images.size());
  for (const auto& e : pretrain) {
    REQUIRE(e["conversations"].size() == 2);
    CHECK(e["conversations"][0]["value"] == "<image>\nDescribe the image briefly.");
    CHECK(e["conversations"][1]["from"] == "gpt");
    CHECK(train_images.count(e["image"].get<std::string>()) == 1);
  }
  // Corpus holds the prompts and answers, one text line each, without the image placeholder.
  const std::string corpus = read_file(dir + "/corpus.txt");
  CHECK(corpus.find("<image>") == std::string::npos);
  CHECK(corpus.find("Answer the question using a single word or phrase.") != std::string::npos);
  CHECK(corpus.find("Reference OCR token:") != std::string::npos);
  CHECK(std::count(corpus.begin(), corpus.end(), '\n') ==
        manifest["counts"]["corpus_lines"].get<long>());
}

TEST_CASE("VQAv2 question and annotation files", "[synth][formats][vqav2]") {
  const std::string dir = suite("small") + "/eval/vqav2";
  const auto golden =
      read_jsonl(adallava::test::golden("scorers/vqav2/llava_vqav2_mscoco_test2015.jsonl"));
  const auto lines = read_jsonl(dir + "/llava_vqav2_mscoco_test-dev2015.jsonl");
  CHECK(read_file(dir + "/llava_vqav2_mscoco_test2015.jsonl") ==
        read_file(dir + "/llava_vqav2_mscoco_test-dev2015.jsonl"));
  const json ann = read_json(dir + "/v2_mscoco_synth2015_annotations.json");
  const json qs = read_json(dir + "/v2_OpenEnded_mscoco_synth2015_questions.json");
  std::map<long, json> by_id;
  for (const auto& a : ann["annotations"]) by_id[a["question_id"].get<long>()] = a;
  REQUIRE(lines.size() > 100);
  REQUIRE(by_id.size() == lines.size());
  REQUIRE(qs["questions"].size() == lines.size());
  std::set<long> seen;
  for (const auto& l : lines) {
    INFO(l.dump());
    CHECK(keys_of(l) == keys_of(golden[0]));
    CHECK(l["question_id"].is_number_integer());
    CHECK(seen.insert(l["question_id"].get<long>()).second);
    CHECK(exists(dir + "/test2015/" + l["image"].get<std::string>()));
    CHECK(ends_with(l["text"], kShort));
    CHECK(families().count(l["category"].get<std::string>()) == 1);
    const json& a = by_id.at(l["question_id"].get<long>());
    REQUIRE(a["answers"].size() == 10);
    const std::string canonical = a["multiple_choice_answer"];
    CHECK(allowed_answers(l["category"]).count(canonical) == 1);
    int same = 0;
    std::set<long> answer_ids;
    for (const auto& h : a["answers"]) {
      if (syn::normalizes_to(h["answer"], canonical)) ++same;
      answer_ids.insert(h["answer_id"].get<long>());
    }
    CHECK(same >= 6);
    CHECK(answer_ids.size() == 10);
    CHECK(a["family"] == l["category"]);
  }
  // Human variation is present overall: some "two"-style and capitalized answers.
  int variants = 0;
  for (const auto& a : ann["annotations"])
    for (const auto& h : a["answers"])
      if (h["answer"] != a["multiple_choice_answer"]) ++variants;
  CHECK(variants > static_cast<int>(lines.size()));
}

TEST_CASE("GQA files carry the fields of testdev_balanced_questions.json",
          "[synth][formats][gqa]") {
  const std::string dir = suite("small") + "/eval/gqa";
  const json golden_q =
      read_json(adallava::test::golden("scorers/gqa/data/testdev_balanced_questions.json"));
  const auto golden_lines =
      read_jsonl(adallava::test::golden("scorers/gqa/llava_gqa_testdev_balanced.jsonl"));
  const auto golden_keys = keys_of(golden_q.begin().value());
  const json qs = read_json(dir + "/data/testdev_balanced_questions.json");
  const auto lines = read_jsonl(dir + "/llava_gqa_testdev_balanced.jsonl");
  REQUIRE(lines.size() == qs.size());
  std::set<std::string> seen;
  for (const auto& l : lines) {
    INFO(l.dump());
    CHECK(keys_of(l) == keys_of(golden_lines[0]));
    CHECK(l["question_id"].is_string());
    CHECK(seen.insert(l["question_id"].get<std::string>()).second);
    CHECK(exists(dir + "/data/images/" + l["image"].get<std::string>()));
    const json& q = qs.at(l["question_id"].get<std::string>());
    for (const auto& k : golden_keys) CHECK(q.contains(k));
    CHECK(l["text"] == q["question"].get<std::string>() + kShort);
    CHECK(l["image"] == q["imageId"].get<std::string>() + ".png");
    const std::string answer = q["answer"];
    std::string lower = answer;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    CHECK(answer == lower);  // GQA scoring compares with the lower-cased prediction
    CHECK(allowed_answers(l["category"]).count(answer) == 1);
    CHECK(q["isBalanced"] == true);
    CHECK(!q["semantic"].empty());
    for (const auto& step : q["semantic"])
      for (const auto& dep : step["dependencies"])
        CHECK(dep.get<int>() < static_cast<int>(q["semantic"].size()));
  }
}

TEST_CASE("TextVQA question lines match their annotations", "[synth][formats][textvqa]") {
  const std::string dir = suite("small") + "/eval/textvqa";
  const json golden = read_json(adallava::test::golden("scorers/textvqa/TextVQA_0.5.1_val.json"));
  const auto golden_lines =
      read_jsonl(adallava::test::golden("scorers/textvqa/llava_textvqa_val_v051_ocr.jsonl"));
  const json ann = read_json(dir + "/TextVQA_0.5.1_val.json");
  const auto lines = read_jsonl(dir + "/llava_textvqa_val_v051_ocr.jsonl");
  CHECK(keys_of(ann) == keys_of(golden));
  std::map<std::pair<std::string, std::string>, json> by_key;
  for (const auto& a : ann["data"]) {
    for (const auto& k : keys_of(golden["data"][0])) CHECK(a.contains(k));
    CHECK(a["answers"].size() == 10);
    by_key[{a["image_id"].get<std::string>(), a["question"].get<std::string>()}] = a;
  }
  REQUIRE(lines.size() == ann["data"].size());
  const auto scenes = read_jsonl(dir + "/scenes.jsonl");
  std::map<std::string, json> scene_of;
  for (const auto& s : scenes) scene_of[s["image_id"].get<std::string>()] = s["scene"];
  for (const auto& l : lines) {
    INFO(l.dump());
    CHECK(keys_of(l) == keys_of(golden_lines[0]));
    const auto parts = split(l["text"], '\n');
    REQUIRE(parts.size() == 3);  // eval_textvqa.py's prompt_processor expects exactly three lines
    REQUIRE(parts[1].rfind("Reference OCR token: ", 0) == 0);
    std::string question = parts[0];
    std::transform(question.begin(), question.end(), question.begin(), ::tolower);
    const auto key = std::make_pair(l["question_id"].get<std::string>(), question);
    REQUIRE(by_key.count(key) == 1);
    CHECK(exists(dir + "/train_images/" + l["image"].get<std::string>()));
    // The OCR tokens are exactly the rendered letters.
    std::set<std::string> tokens, letters;
    for (const auto& t : split(parts[1].substr(21), ','))
      tokens.insert(t[0] == ' ' ? t.substr(1) : t);
    for (const auto& o : scene_of.at(key.first)["objects"])
      if (o["kind"] == "letter") letters.insert(o["letter"].get<std::string>());
    CHECK(tokens == letters);
    int same = 0;
    const json& a = by_key.at(key);
    const std::string canonical = a["answers"][0];  // any; count agreement with the majority below
    std::map<std::string, int> votes;
    for (const auto& h : a["answers"]) votes[h.get<std::string>()]++;
    for (const auto& letter : letters)
      for (const auto& h : a["answers"])
        if (syn::normalizes_to(h, letter)) same++;
    CHECK(same >= 6);
    (void)canonical;
  }
}

TEST_CASE("ScienceQA problems, splits and LLaVA question list agree",
          "[synth][formats][scienceqa]") {
  const std::string dir = suite("small") + "/eval/scienceqa";
  const json golden_problems = read_json(adallava::test::golden("scorers/scienceqa/problems.json"));
  const json golden_splits = read_json(adallava::test::golden("scorers/scienceqa/pid_splits.json"));
  const json problems = read_json(dir + "/problems.json");
  const json splits = read_json(dir + "/pid_splits.json");
  const json questions = read_json(dir + "/llava_test_CQM-A.json");
  CHECK(keys_of(splits) == keys_of(golden_splits));
  REQUIRE(splits["test"].size() == problems.size());
  REQUIRE(questions.size() == problems.size());
  int with_image = 0;
  for (const auto& q : questions) {
    INFO(q.dump());
    const json& p = problems.at(q["id"].get<std::string>());
    CHECK(keys_of(p) == keys_of(golden_problems.begin().value()));
    const auto& choices = p["choices"];
    REQUIRE(choices.size() >= 2);
    REQUIRE(choices.size() <= 5);
    const int answer = p["answer"];
    REQUIRE(answer >= 0);
    REQUIRE(answer < static_cast<int>(choices.size()));
    CHECK(q["conversations"][1]["value"] ==
          std::string("The answer is ") + char('A' + answer) + ".");
    std::string value = q["conversations"][0]["value"];
    const bool image = !p["image"].is_null();
    CHECK(q.contains("image") == image);
    CHECK((value.find("<image>") != std::string::npos) == image);
    if (image) {
      ++with_image;
      CHECK(exists(dir + "/images/test/" + q["image"].get<std::string>()));
      value = value.substr(8);
    }
    // model_vqa_science.py's prompt: [Context line] question, then "A. ..." per choice.
    std::string expected = p["hint"].get<std::string>().empty()
                               ? ""
                               : "Context: " + p["hint"].get<std::string>() + "\n";
    expected += p["question"].get<std::string>();
    for (size_t c = 0; c < choices.size(); ++c)
      expected += "\n" + std::string(1, 'A' + c) + ". " + choices[c].get<std::string>();
    CHECK(value == expected);
    CHECK(allowed_answers(p["category"]).count(choices[answer].get<std::string>()) == 1);
    std::set<std::string> distinct;
    for (const auto& c : choices) distinct.insert(c.get<std::string>());
    CHECK(distinct.size() == choices.size());
  }
  CHECK(with_image > static_cast<int>(questions.size()) * 3 / 4);
  CHECK(with_image < static_cast<int>(questions.size()));
}

TEST_CASE("MME release files and llava_mme.jsonl", "[synth][formats][mme]") {
  const std::string dir = suite("small") + "/eval/mme";
  const auto golden_lines = read_jsonl(adallava::test::golden("scorers/mme/llava_mme.jsonl"));
  const auto lines = read_jsonl(dir + "/llava_mme.jsonl");
  REQUIRE(lines.size() % 2 == 0);
  const std::regex gt_line(R"(([^\t]+ Please answer yes or no\.)\t(Yes|No))");
  std::set<std::string> categories;
  for (size_t i = 0; i < lines.size(); i += 2) {
    INFO(lines[i].dump());
    CHECK(keys_of(lines[i]) == keys_of(golden_lines[0]));
    REQUIRE(lines[i]["question_id"] ==
            lines[i + 1]["question_id"]);  // two consecutive questions per image
    const std::string image = lines[i]["image"];
    const std::string category = lines[i]["category"];
    categories.insert(category);
    CHECK(image.rfind(category + "/", 0) == 0);
    CHECK(exists(dir + "/MME_Benchmark_release_version/" + image));
    const std::string txt_path =
        dir + "/MME_Benchmark_release_version/" + image.substr(0, image.size() - 4) + ".txt";
    const auto txt = split(read_file(txt_path), '\n');
    REQUIRE(txt.size() == 3);  // two lines and the final newline
    CHECK(txt[2].empty());
    std::set<std::string> answers;
    for (int k = 0; k < 2; ++k) {
      std::smatch m;
      REQUIRE(std::regex_match(txt[k], m, gt_line));
      answers.insert(m[2]);
      // convert_answer_to_mme.py maps the jsonl prompt back to the txt question by this
      // replacement.
      std::string prompt = lines[i + k]["text"];
      REQUIRE(ends_with(prompt, kShort));
      CHECK(prompt.substr(0, prompt.size() - kShort.size()) + " Please answer yes or no." ==
            m[1].str());
    }
    CHECK(answers == std::set<std::string>{"Yes", "No"});
  }
  CHECK(categories == std::set<std::string>{"existence", "count", "position", "color", "OCR"});
}

TEST_CASE("MMBench TSV rows rotate options consistently", "[synth][formats][mmbench]") {
  const std::string dir = suite("small") + "/eval/mmbench";
  const auto rows = split(read_file(dir + "/mmbench_dev_20230712.tsv"), '\n');
  REQUIRE(rows.size() > 2);
  const auto header = split(rows[0], '\t');
  CHECK(header == std::vector<std::string>{"index", "question", "hint", "A", "B", "C", "D",
                                           "answer", "category", "image", "source", "l2-category",
                                           "comment", "split"});
  std::map<long, std::vector<std::vector<std::string>>> groups;
  std::set<long> indices;
  std::vector<bool> column_has_text(4, false);
  for (size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].empty()) continue;
    const auto f = split(rows[r], '\t');
    REQUIRE(f.size() == header.size());
    const long index = std::stol(f[0]);
    CHECK(indices.insert(index).second);
    groups[index % 1000000].push_back(f);
    for (int c = 0; c < 4; ++c)
      if (!f[3 + c].empty() && !std::all_of(f[3 + c].begin(), f[3 + c].end(), ::isdigit))
        column_has_text[c] = true;
  }
  // pandas would parse an all-numeric option column as numbers; each column has some text.
  CHECK(column_has_text[0]);
  CHECK(column_has_text[1]);
  for (const auto& [base, copies] : groups) {
    INFO("index " << base);
    std::vector<std::string> options;
    for (int c = 0; c < 4; ++c)
      if (!copies[0][3 + c].empty()) options.push_back(copies[0][3 + c]);
    const size_t n = options.size();
    REQUIRE(n >= 2);
    REQUIRE(copies.size() == n);
    const std::string answer_text = options[copies[0][7][0] - 'A'];
    CHECK(allowed_answers(copies[0][8]).count(answer_text) == 1);
    for (size_t k = 0; k < n; ++k) {
      const auto& f = copies[k];
      CHECK(std::stol(f[0]) == base + static_cast<long>(k) * 1000000);
      CHECK(f[1] == copies[0][1]);
      CHECK(f[9] == copies[0][9]);
      for (size_t c = 0; c < 4; ++c)
        CHECK(f[3 + c] == (c < n ? options[(c + k) % n] : std::string()));
      REQUIRE(f[7].size() == 1);
      CHECK(options[(f[7][0] - 'A' + k) % n] == answer_text);
    }
  }
}

TEST_CASE("manifests list existing files and consistent counts", "[synth][formats]") {
  const std::string dir = suite("small");
  const auto m = read_json(dir + "/manifest.json");
  CHECK(m["generator"] == "adallava-synth");
  CHECK(m["seed"] == 7);
  CHECK(m["options"]["size"] == "small");
  for (const auto& name : {"pretrain", "train", "val", "scenes", "corpus"})
    CHECK(exists(dir + "/" + m["files"][name].get<std::string>()));
  for (auto it = m["files"]["eval"].begin(); it != m["files"]["eval"].end(); ++it) {
    INFO(it.key());
    const std::string bench_dir = dir + "/eval/" + it.key();
    const auto bm = read_json(dir + "/" + it.value().get<std::string>());
    CHECK(bm["benchmark"] == it.key());
    for (auto f = bm["files"].begin(); f != bm["files"].end(); ++f) {
      if (f.value().is_string())
        CHECK(exists(bench_dir + "/" + f.value().get<std::string>()));
      else
        for (auto g = f.value().begin(); g != f.value().end(); ++g)
          CHECK(exists(bench_dir + "/" + g.value().get<std::string>()));
    }
    long family_total = 0;
    for (auto fam = bm["counts"]["families"].begin(); fam != bm["counts"]["families"].end(); ++fam)
      family_total += fam.value().get<long>();
    CHECK(family_total == bm["counts"]["questions"].get<long>());
    CHECK(bm["counts"] == m["counts"]["eval"][it.key()]);
    CHECK(bm["counts"]["questions"].get<long>() > 0);
  }
}
