// The generate command end to end: golden answer ids, JSON output, and one-line errors with a
// non-zero exit for bad input.
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/paths.h"

using namespace adallava::test;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

struct RunResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};

RunResult run(const std::string& args) {
  const std::string cmd = adallava_bin() + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string tiny(const std::string& rel) {
  return golden("llava-tiny/" + rel);
}

}  // namespace

TEST_CASE("generate --json reproduces the upstream answer for a real image file", "[cli]") {
  auto r = run(
      "generate --model " + tiny("llava15_orig") + " --image " + tiny("ref/synthetic_150x100.png") +
      " --prompt 'What is shown in this picture?' --max-new-tokens 8 --json --log-level warn");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  auto manifest = nlohmann::json::parse(std::ifstream(tiny("ref/manifest.json")));
  CHECK(j["ids"] == manifest["generated_ids_preproc_image"]);
  CHECK(j.contains("text"));
}

TEST_CASE("generate reports bad input on one line with a non-zero exit", "[cli][errors]") {
  const std::string dir = scratch_dir("cli_bad_input");
  SECTION("truncated safetensors") {
    const std::string ckpt = dir + "/ckpt";
    fs::create_directories(ckpt);
    for (const char* f : {"config.json", "tokenizer.model"})
      fs::copy(tiny(std::string("llava15_orig/") + f), ckpt + "/" + f);
    std::ifstream in(tiny("llava15_orig/model.safetensors"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(ckpt + "/model.safetensors", std::ios::binary)
        << bytes.substr(0, bytes.size() / 2);
    auto r = run("generate --model " + ckpt + " --prompt hi --max-new-tokens 2");
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK_THAT(r.output, Contains("model.safetensors"));
  }
  SECTION("an image that does not decode") {
    const std::string bad = dir + "/not_an_image.jpg";
    std::ofstream(bad) << "this is text";
    auto r = run("generate --model " + tiny("llava15_orig") + " --image " + bad + " --prompt hi");
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK_THAT(r.output, Contains("not_an_image.jpg"));
  }
  SECTION("a missing image") {
    auto r = run("generate --model " + tiny("llava15_orig") + " --image " + dir +
                 "/missing.png --prompt hi");
    CHECK(r.exit_code != 0);
    CHECK_THAT(r.output, Contains("missing.png"));
  }
}

TEST_CASE("generate --deadline-ms: a generous deadline is met at budget 1; bad values exit 1",
          "[cli][deadline]") {
  const std::string model = "generate --model " + golden("adallava/ada_L") + " --vision-tower " +
                            tiny("clip_vision") + " --prompt 'What is this?' --max-new-tokens 2 ";
  auto r = run(model + "--deadline-ms 10000000 --json");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Contains("calibrating this machine"));
  CHECK_THAT(r.output, Contains("deadline met by 100.0% of 1 requests"));
  auto j = nlohmann::json::parse(r.output.substr(r.output.rfind("\n{") + 1));
  CHECK(j["budget"] == 1.0);

  for (const std::string bad : {"0", "-1", "nan", "inf", "x", "40,80"}) {
    r = run(model + "--deadline-ms '" + bad + "'");
    INFO(bad << ": " << r.output);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Contains("--deadline-ms"));
  }
  r = run(model + "--deadline-ms 40 --budget 0.5");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Contains("exclusive"));
  r = run(model + "--latency-model " + scratch_dir("cli_deadline") + "/lat.json");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Contains("--latency-model is only used with --deadline-ms"));
}
