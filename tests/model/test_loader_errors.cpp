// Bad checkpoints give one clear error naming the file and the problem, never a crash.
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "data/text/tokenizer.h"
#include "golden_fixture.h"
#include "model/loader.h"

using namespace adallava;
using namespace adallava::test;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

// A copy of a golden checkpoint directory that a test may damage.
std::string copy_checkpoint(const std::string& rel, const std::string& name) {
  const std::string dir = scratch_dir(name);
  for (const auto& entry : fs::directory_iterator(golden("llava-tiny/" + rel)))
    fs::copy(entry.path(), fs::path(dir) / entry.path().filename());
  return dir;
}

void edit_config(const std::string& dir, const std::function<void(nlohmann::json&)>& edit) {
  auto j = read_json_file(dir + "/config.json");
  edit(j);
  std::ofstream(dir + "/config.json") << j.dump(2);
}

}  // namespace

TEST_CASE("a config without a required key names the file and the key", "[model][errors]") {
  auto dir = copy_checkpoint("llava15_orig", "cfg_missing_key");
  edit_config(dir, [](nlohmann::json& j) { j.erase("hidden_size"); });
  REQUIRE_THROWS_WITH(model::load_llava(dir), Contains(dir + "/config.json") &&
                                                  Contains("missing required key 'hidden_size'"));
}

TEST_CASE("a hub id as mm_vision_tower asks for --vision-tower", "[model][errors]") {
  auto dir = copy_checkpoint("llava15_orig", "hub_tower");
  edit_config(
      dir, [](nlohmann::json& j) { j["mm_vision_tower"] = "openai/clip-vit-large-patch14-336"; });
  REQUIRE_THROWS_WITH(model::load_llava(dir), Contains("openai/clip-vit-large-patch14-336") &&
                                                  Contains("--vision-tower DIR"));
  model::LoadOptions opts;
  opts.vision_tower_dir = golden("llava-tiny/clip_vision");
  CHECK_NOTHROW(model::load_llava(dir, opts));
}

TEST_CASE("strict loading lists missing, unexpected and mis-shaped tensors", "[model][errors]") {
  auto dir = copy_checkpoint("llava15_orig", "strict");
  fs::remove(dir + "/pytorch_model.bin");
  auto weights = io::load_safetensors(dir + "/model.safetensors");
  weights.erase("model.layers.1.mlp.up_proj.weight");
  weights["model.layers.9.extra.weight"] = torch::zeros({2});
  weights["lm_head.weight"] = torch::zeros({512, 65});
  weights["model.layers.0.self_attn.rotary_emb.inv_freq"] =
      torch::zeros({8});  // skipped on purpose
  io::save_safetensors(dir + "/model.safetensors", weights);
  model::LoadOptions opts;
  opts.vision_tower_dir = golden("llava-tiny/clip_vision");
  try {
    model::load_llava(dir, opts);
    FAIL("expected an error");
  } catch (const Error& e) {
    std::string msg = e.what();
    CHECK_THAT(msg, Contains(dir));
    CHECK_THAT(msg, Contains("missing 1 tensor(s): model.layers.1.mlp.up_proj.weight"));
    CHECK_THAT(msg, Contains("unexpected 1 tensor(s): model.layers.9.extra.weight"));
    CHECK_THAT(msg, Contains("lm_head.weight (checkpoint 512x65, model 512x64)"));
    CHECK_THAT(msg, !Contains("inv_freq"));
  }
}

TEST_CASE("missing tokenizer.model and missing directories are named", "[model][errors]") {
  auto dir = copy_checkpoint("llava15_orig", "no_tokenizer");
  fs::remove(dir + "/tokenizer.model");
  model::LoadOptions opts;
  opts.vision_tower_dir = golden("llava-tiny/clip_vision");
  auto loaded = model::load_llava(dir, opts);
  REQUIRE_THROWS_WITH(text::Tokenizer::load(loaded.tokenizer_path),
                      Contains(dir + "/tokenizer.model"));
  REQUIRE_THROWS_WITH(model::load_llava(dir + "/nope"), Contains("nope") && Contains("not found"));
}
