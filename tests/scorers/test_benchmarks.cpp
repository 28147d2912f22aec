// score_benchmark (the entry point behind `adallava eval score`): resolving each benchmark's
// native files from its golden folder, as laid out under LLaVA's playground/data/eval/<bench>/,
// gives the golden headline numbers (exact); bad requests name what is wrong.
#include <catch2/catch.hpp>

#include "common/error.h"
#include "common/files.h"
#include "eval/scorers/benchmarks.h"
#include "support/paths.h"

using namespace adallava::scorers;
using adallava::test::golden;

namespace {
ScoreResult run(const std::string& benchmark, const std::string& answers,
                const std::string& annotations) {
  ScoreRequest r;
  r.benchmark = benchmark;
  r.answers = golden("scorers/" + answers);
  r.annotations = golden("scorers/" + annotations);
  return score_benchmark(r);
}
}  // namespace

TEST_CASE("score_benchmark resolves every golden folder", "[scorers][cli]") {
  const auto summary = adallava::read_json_file(golden("scorers/expected.json"))["benchmarks"];

  auto textvqa = run("textvqa", "textvqa/answers/llava-v1.5-synthetic.jsonl", "textvqa");
  CHECK(textvqa.metrics["accuracy"].get<double>() == summary["textvqa"]["accuracy"].get<double>());
  CHECK(textvqa.report == "Samples: 60\nAccuracy: 51.50%\n");

  auto vqav2 =
      run("vqav2", "vqav2/answers/llava_vqav2_mscoco_test-dev2015/llava-v1.5-synthetic/merge.jsonl",
          "vqav2");
  CHECK(vqav2.metrics["answered"].get<size_t>() ==
        summary["vqav2_submission"]["answered"].get<size_t>());
  CHECK(vqav2.submission == adallava::read_text_file(golden(
                                "scorers/vqav2/answers_upload/llava_vqav2_mscoco_test-dev2015/"
                                "llava-v1.5-synthetic.json")));

  auto gqa =
      run("gqa", "gqa/answers/llava_gqa_testdev_balanced/llava-v1.5-synthetic/merge.jsonl", "gqa");
  CHECK(gqa.metrics["accuracy"].get<double>() == summary["gqa"]["accuracy"].get<double>());
  CHECK(gqa.metrics["distribution"].get<double>() == summary["gqa"]["distribution"].get<double>());

  auto sqa = run("scienceqa", "scienceqa/answers/llava-v1.5-synthetic.jsonl", "scienceqa");
  CHECK(sqa.metrics["acc"].get<double>() == summary["scienceqa"]["acc"].get<double>());

  auto pope = run("pope", "pope/answers/llava-v1.5-synthetic.jsonl", "pope");
  for (const auto& [split, want] : summary["pope"].items()) {
    CHECK(pope.metrics["categories"][split]["f1"].get<double>() == want["f1"].get<double>());
    CHECK(pope.metrics["categories"][split]["accuracy"].get<double>() ==
          want["accuracy"].get<double>());
  }

  auto mme = run("mme", "mme/answers/llava-v1.5-synthetic.jsonl", "mme");
  CHECK(mme.metrics["perception_total"].get<double>() ==
        summary["mme"]["perception_total"].get<double>());
  CHECK(mme.metrics["cognition_total"].get<double>() ==
        summary["mme"]["cognition_total"].get<double>());
}

TEST_CASE("score_benchmark rejects bad requests", "[scorers][cli]") {
  ScoreRequest r;
  r.benchmark = "vizwiz";
  r.answers = golden("scorers/textvqa/answers/llava-v1.5-synthetic.jsonl");
  CHECK_THROWS_WITH(score_benchmark(r),
                    Catch::Contains("unknown benchmark \"vizwiz\"") &&
                        Catch::Contains("vqav2, gqa, textvqa, scienceqa, pope, mme, mmbench"));
  r.benchmark = "textvqa";
  CHECK_THROWS_WITH(score_benchmark(r), Catch::Contains("--annotations is required"));
  r.answers = "/nonexistent/answers.jsonl";
  CHECK_THROWS_WITH(score_benchmark(r), Catch::Contains("/nonexistent/answers.jsonl"));
}
