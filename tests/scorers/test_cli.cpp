// `adallava eval score` end to end: exit codes, the metrics JSON file and one-line errors. The
// CLI binary is built by the `adallava` target; without it these checks are skipped (warned).
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>

#include "common/files.h"
#include "support/paths.h"

#include <nlohmann/json.hpp>

using adallava::test::golden;

namespace {

struct Run {
  int exit_code;
  std::string output;
};

Run run(const std::string& args) {
  const std::string command = adallava::test::adallava_bin() + " " + args + " 2>&1";
  Run r{-1, ""};
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) r.output.append(buffer, n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool have_binary() {
  if (std::filesystem::exists(adallava::test::adallava_bin())) return true;
  WARN("adallava binary not built (" << adallava::test::adallava_bin() << "); CLI checks skipped");
  return false;
}

}  // namespace

TEST_CASE("adallava eval score writes the metrics", "[scorers][cli]") {
  if (!have_binary()) return;
  const std::string dir = adallava::test::scratch_dir("scorers_cli");
  const std::string out = dir + "/sub/pope.json";
  const auto r = run("eval score --benchmark pope --answers " +
                     golden("scorers/pope/answers/llava-v1.5-synthetic.jsonl") + " --annotations " +
                     golden("scorers/pope") + " --out " + out);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("0.842, 0.800, 0.889, 0.800, 0.600"));
  const auto metrics = adallava::read_json_file(out);
  CHECK(metrics["categories"]["adversarial"]["f1"].get<double>() == 0.8421052631578948);

  const std::string upload = dir + "/upload.json";
  const auto v = run("eval score --benchmark vqav2 --answers " +
                     golden("scorers/vqav2/answers/llava_vqav2_mscoco_test-dev2015/"
                            "llava-v1.5-synthetic/merge.jsonl") +
                     " --annotations " + golden("scorers/vqav2") + " --submission " + upload);
  INFO(v.output);
  REQUIRE(v.exit_code == 0);
  CHECK_THAT(v.output, Catch::Contains("total results: 21, total split: 24, error_line: 1"));
  CHECK(adallava::read_text_file(upload) ==
        adallava::read_text_file(
            golden("scorers/vqav2/answers_upload/llava_vqav2_mscoco_test-dev2015/"
                   "llava-v1.5-synthetic.json")));
}

TEST_CASE("adallava eval score reports errors on one line", "[scorers][cli]") {
  if (!have_binary()) return;
  const auto unknown = run("eval score --benchmark nope --answers " +
                           golden("scorers/pope/answers/llava-v1.5-synthetic.jsonl"));
  CHECK(unknown.exit_code != 0);
  CHECK_THAT(unknown.output, Catch::Contains("known benchmarks: vqav2, gqa, textvqa"));

  const std::string dir = adallava::test::scratch_dir("scorers_cli_errors");
  const std::string bad = dir + "/bad.jsonl";
  adallava::write_text_file_atomic(bad, "{\"question_id\": 1, \"text\": \"yes\"}\nnot json\n");
  const auto malformed = run("eval score --benchmark pope --answers " + bad + " --annotations " +
                             golden("scorers/pope"));
  CHECK(malformed.exit_code != 0);
  CHECK_THAT(malformed.output, Catch::Contains(bad + ":2"));

  const auto no_action = run("eval");
  CHECK(no_action.exit_code != 0);
}
