// Vision-tower pretraining on the synthetic suite (model.objective = scene_patches): the patch
// labels, the stream's resume position, a short run lowering the loss, the tower it writes
// loading as model.vision_tower of a from-scratch LLaVA, and the config rules.
#include <catch2/catch.hpp>

#include <fstream>

#include "common/error.h"
#include "common/files.h"
#include "data/synth/generator.h"
#include "data/synth/scene.h"
#include "io/weights.h"
#include "train/data/dataset.h"
#include "train/data/scene_patches.h"
#include "train/model_factory.h"
#include "train/run.h"
#include "train_fixture.h"

using namespace adallava;
using namespace adallava::train;

namespace {

// One tiny suite for every test case of this file (generated on first use).
const std::string& tiny_suite() {
  static const std::string dir = [] {
    const std::string d = test::scratch_dir("scene-patches-suite");
    synth::SynthOptions options;
    options.out_dir = d;
    options.size = "tiny";
    options.force = true;
    synth::generate_suite(options);
    return d;
  }();
  return dir;
}

ScenePatchSetOptions set_options(const std::string& split) {
  ScenePatchSetOptions o;
  o.scenes_path = join_path(tiny_suite(), "scenes.jsonl");
  o.split = split;
  o.image_folder = tiny_suite();
  o.image_size = 96;
  o.patch_size = 16;
  o.preprocess = clip_preprocess_config(96);
  return o;
}

std::vector<std::string> vision_overrides(const std::string& out) {
  const std::string scenes = join_path(tiny_suite(), "scenes.jsonl");
  return {"model.objective=scene_patches",
          "data.train=" + scenes,
          "data.eval=" + scenes,
          "checkpointing.output_dir=" + out,
          "model.arch.vision_image_size=96",
          "model.arch.vision_patch_size=16",
          "model.arch.vision_hidden_size=32",
          "model.arch.vision_layers=2",
          "model.arch.vision_heads=2",
          "model.arch.vision_mlp_dim=64",
          "model.vision_select_layer=-1",
          "trainable.vision_tower=true",
          "trainable.projector=true",
          "trainable.llm=false",
          "optimizer.lr=3e-3",
          "schedule.max_steps=40",
          "schedule.warmup_steps=2",
          "schedule.global_batch_size=8",
          "schedule.micro_batch_size=4",
          "schedule.eval_every=never",
          "logging.log_every=1u",
          "logging.progress=off",
          "threads=1"};
}

// metrics.jsonl lines that carry `key` (training updates: "loss"; validations: "eval_loss").
std::vector<nlohmann::json> metrics_of(const std::string& run_dir, const char* key = "loss") {
  std::vector<nlohmann::json> lines;
  std::ifstream in(join_path(run_dir, "metrics.jsonl"));
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    if (j.contains(key) && j.contains("step")) lines.push_back(j);
  }
  return lines;
}

std::string config_error(const std::vector<std::string>& overrides) {
  try {
    config::resolve_train_config({}, overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("scene patch labels: each object's centre patch holds its shape, colour, letter, size") {
  const auto set = ScenePatchSet::open(set_options("train"));
  REQUIRE(set->size() == 24);
  CHECK(set->patches() == 36);
  // The first training scene, read independently.
  std::ifstream in(join_path(tiny_suite(), "scenes.jsonl"));
  std::string line;
  std::getline(in, line);
  const auto scene = synth::scene_from_json(nlohmann::json::parse(line)["scene"], "test");
  const auto& labels = set->labels(0);
  int labelled = 0;
  for (size_t p = 0; p < 36; ++p) labelled += (labels[p * 4 + 1] != 0) ? 1 : 0;
  CHECK(labelled == static_cast<int>(scene.objects.size()));  // centres are >= 3 px apart
  for (const auto& o : scene.objects) {
    const size_t p = static_cast<size_t>((o.y * 6 / 96) * 6 + o.x * 6 / 96);
    CHECK(labels[p * 4 + 1] == 1 + static_cast<int64_t>(o.colour));
    if (o.is_letter) {
      CHECK(labels[p * 4 + 0] == 0);
      CHECK(labels[p * 4 + 2] > 0);
    } else {
      CHECK(labels[p * 4 + 0] == 1 + static_cast<int64_t>(o.shape));
      CHECK(labels[p * 4 + 3] == (o.size == synth::SizeClass::Big ? 2 : 1));
    }
  }
  const auto pixels = set->load_image(0);
  CHECK(pixels.sizes() == torch::IntArrayRef({3, 96, 96}));

  SECTION("the val split is separate; a scene drawn at another size is refused") {
    CHECK(ScenePatchSet::open(set_options("val"))->size() == 6);
    auto other = set_options("train");
    other.image_size = 192;
    other.preprocess = clip_preprocess_config(192);
    CHECK_THROWS_WITH(ScenePatchSet::open(other),
                      Catch::Contains("scenes.jsonl:1") && Catch::Contains("--image-size 192"));
  }
}

TEST_CASE("scene patch stream: a restored position continues with the same batches") {
  const auto set = ScenePatchSet::open(set_options("train"));
  SamplerOptions sampler;
  sampler.micro_batch_size = 5;
  sampler.seed = 3;
  ScenePatchStream a(set, sampler);
  CHECK(a.batches_per_epoch() == 5);
  for (int i = 0; i < 3; ++i) REQUIRE(a.next());
  const auto position = a.position();
  ScenePatchStream b(set, sampler);
  b.restore(position);
  // Through the end of the epoch and into the next one.
  for (int i = 0; i < 6; ++i) {
    auto x = a.next(), y = b.next();
    REQUIRE(x.has_value() == y.has_value());
    if (!x) continue;
    CHECK(x->record_indices == y->record_indices);
    REQUIRE(x->targets.size() == x->images.size());
    CHECK(x->targets[0].sizes() == torch::IntArrayRef({36, 4}));
  }
}

TEST_CASE("objective scene_patches: a short run lowers the loss and writes a tower LLaVA loads") {
  torch::set_num_threads(1);
  const std::string out = test::scratch_dir("scene-patches-run");
  auto overrides = vision_overrides(out);
  overrides.push_back("schedule.eval_every=20u");
  REQUIRE(run_training(config::resolve_train_config({}, overrides), {}) == 0);
  const auto metrics = metrics_of(out);
  REQUIRE(metrics.size() >= 30);
  double first = 0, last = 0;
  for (int i = 0; i < 5; ++i) {
    first += metrics[static_cast<size_t>(i)]["loss"].get<double>() / 5;
    last += metrics[metrics.size() - 1 - static_cast<size_t>(i)]["loss"].get<double>() / 5;
  }
  CHECK(last < 0.7 * first);

  // Validation lines carry each head's accuracy over the labelled patches.
  const auto evaluations = metrics_of(out, "eval_loss");
  CHECK(evaluations.size() == 2);
  for (const auto& j : evaluations) {
    for (const char* head : {"shape", "colour", "letter", "size"}) {
      const std::string key = std::string("eval_patch_") + head;
      REQUIRE(j.contains(key));
      CHECK(j[key].get<double>() >= 0.0);
      CHECK(j[key].get<double>() <= 1.0);
    }
  }

  const std::string tower = join_path(out, "final");
  CHECK(file_exists(join_path(tower, "preprocessor_config.json")));
  const auto saved = io::load_safetensors(join_path(tower, "model.safetensors"));
  for (const auto& [name, t] : saved) CHECK(name.rfind("vision_model.", 0) == 0);

  SECTION("model.vision_tower of a from-scratch LLaVA: the tower's weights, the rest new") {
    const auto cfg = config::to_train_config(config::resolve_train_config(
        {}, {"data.train=unused.jsonl", "optimizer.lr=1e-3",
             "checkpointing.output_dir=" + out + "/llava", "model.vision_tower=" + tower,
             "model.tokenizer=" + test::golden("llava-tiny/llava15_orig/tokenizer.model"),
             "model.vision_select_layer=-1", "model.arch.llm_hidden_size=64",
             "model.arch.llm_layers=2", "model.arch.llm_heads=4", "model.arch.llm_kv_heads=2",
             "model.arch.llm_mlp_dim=96", "model.arch.max_position_embeddings=128",
             "data.max_length=128", "trainable.vision_tower=true"}));
    BuiltModel built = build_model(cfg);
    CHECK(built.model->vision_config.hidden_size == 32);
    CHECK(built.model->config.mm_hidden_size == 32);
    const auto state = module_state(*built.model->model->vision_tower->vision_tower);
    REQUIRE(state.size() == saved.size());
    for (const auto& [name, t] : saved) CHECK(torch::equal(state.at(name), t));
  }

  SECTION("resume from the last checkpoint reaches the same final tower") {
    // The same 40-update schedule twice: straight through, and resumed from update 20.
    const std::string half = test::scratch_dir("scene-patches-half");
    auto overrides = vision_overrides(half);
    overrides.push_back("checkpointing.save_every=20u");
    overrides.push_back("checkpointing.keep_last_n=2");
    REQUIRE(run_training(config::resolve_train_config({}, overrides), {}) == 0);
    const auto full = io::load_safetensors(join_path(half, "final/model.safetensors"));
    const std::string resumed = test::scratch_dir("scene-patches-resumed");
    auto again = vision_overrides(resumed);
    again.push_back("checkpointing.resume=" + join_path(half, "checkpoint-20"));
    REQUIRE(run_training(config::resolve_train_config({}, again), {}) == 0);
    const auto continued = io::load_safetensors(join_path(resumed, "final/model.safetensors"));
    for (const auto& [name, t] : full) CHECK(torch::equal(continued.at(name), t));
  }
}

TEST_CASE("objective scene_patches: config errors name the key") {
  const std::string out = test::scratch_dir("scene-patches-config");
  auto with = [&](const std::string& extra) {
    auto o = vision_overrides(out);
    o.push_back(extra);
    return config_error(o);
  };
  CHECK_THAT(with("model.init=" + test::tiny_checkpoint()),
             Catch::Contains("model.init") && Catch::Contains("scene_patches"));
  CHECK_THAT(with("trainable.llm=true"), Catch::Contains("trainable.llm"));
  CHECK_THAT(with("adaptive.variant=L"), Catch::Contains("adaptive.variant"));
  CHECK_THAT(with("model.objective=clip"), Catch::Contains("model.objective"));
  // A from-scratch LLaVA with a given tower takes the vision shape from it.
  CHECK_THAT(
      config_error({"data.train=x.jsonl", "optimizer.lr=1e-3", "checkpointing.output_dir=" + out,
                    "model.vision_tower=" + out, "model.tokenizer=t.model",
                    "model.arch.vision_hidden_size=64", "model.arch.llm_hidden_size=64",
                    "model.arch.llm_layers=2", "model.arch.llm_heads=4",
                    "model.arch.llm_kv_heads=2", "model.arch.llm_mlp_dim=96",
                    "model.arch.max_position_embeddings=128", "data.max_length=128"}),
      Catch::Contains("model.arch.vision_hidden_size") && Catch::Contains("model.vision_tower"));
}
