// `adallava data synth` end to end: exit codes, files and one-line errors.
#include <catch2/catch.hpp>

#include <cstdio>

#include "synth_fixture.h"

namespace {

struct Run {
  int code;
  std::string output;
};

Run run(const std::string& args) {
  const std::string cmd = adallava::test::adallava_bin() + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int status = pclose(pipe);
  return {WEXITSTATUS(status), out};
}

}  // namespace

TEST_CASE("adallava data synth writes a suite and refuses to clobber one", "[synth][cli]") {
  REQUIRE(synth_test::exists(adallava::test::adallava_bin()));
  const std::string dir = adallava::test::scratch_dir("synth_cli") + "/suite";
  const Run ok = run("data synth --out " + dir + " --size tiny --seed 5");
  INFO(ok.output);
  REQUIRE(ok.code == 0);
  const auto manifest = synth_test::read_json(dir + "/manifest.json");
  CHECK(manifest["seed"] == 5);
  CHECK(manifest["options"]["size"] == "tiny");
  CHECK(synth_test::exists(dir + "/eval/mmbench/mmbench_dev_20230712.tsv"));

  const Run again = run("data synth --out " + dir + " --size tiny --seed 5");
  CHECK(again.code != 0);
  CHECK(again.output.find("not empty") != std::string::npos);
  CHECK(run("data synth --out " + dir + " --size tiny --seed 5 --force").code == 0);

  const Run bad_size = run("data synth --out " + dir + "_x --size huge");
  CHECK(bad_size.code != 0);
  CHECK(bad_size.output.find("huge") != std::string::npos);
  CHECK(run("data synth --size tiny").code != 0);  // --out is required
  CHECK(run("data").code != 0);                    // an action is required
}

TEST_CASE("data synth --eval-size sizes the benchmark sets apart from the training set",
          "[synth][cli]") {
  const std::string dir = adallava::test::scratch_dir("synth_cli_eval_size") + "/suite";
  const Run ok = run("data synth --out " + dir + " --size small --eval-size tiny --force");
  INFO(ok.output);
  REQUIRE(ok.code == 0);
  const auto manifest = synth_test::read_json(dir + "/manifest.json");
  CHECK(manifest["options"]["size"] == "small");
  CHECK(manifest["options"]["eval_size"] == "tiny");
  // small: 400 caption images; tiny: 6 VQAv2 images of 3 questions each.
  CHECK(synth_test::read_json(dir + "/pretrain.json").size() == 400);
  CHECK(synth_test::read_jsonl(dir + "/eval/vqav2/llava_vqav2_mscoco_test2015.jsonl").size() == 18);
  CHECK(run("data synth --out " + dir + "_x --eval-size big").code != 0);
}
