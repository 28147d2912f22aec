// The shipped recipes in configs/train: they validate, carry a launch header, hold the
// upstream hyper-parameters, and survive a dump -> load round trip. Also keeps the key
// reference in docs/configuration.md in sync with the schema.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "common/error.h"
#include "common/files.h"
#include "config/train_config.h"
#include "support/paths.h"

using namespace adallava::config;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

std::string recipe_dir() {
  return adallava::test::source_dir() + "/configs/train";
}

std::vector<std::string> recipe_names() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(recipe_dir())) {
    if (entry.path().extension() == ".yaml") names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

ResolvedConfig load_recipe(const std::string& name,
                           const std::vector<std::string>& overrides = {}) {
  return resolve_train_config({recipe_dir() + "/" + name}, overrides);
}

}  // namespace

TEST_CASE("every shipped recipe parses and validates") {
  const auto names = recipe_names();
  for (const char* expected :
       {"llava-v1.5-7b-pretrain.yaml", "llava-v1.5-7b-finetune.yaml",
        "llava-v1.5-13b-pretrain.yaml", "llava-v1.5-13b-finetune.yaml", "adallava-L-7b.yaml",
        "adallava-H-7b.yaml", "demo-vision.yaml", "demo-stage1.yaml", "demo-stage2.yaml",
        "demo-adallava-L.yaml", "demo-adallava-H.yaml"}) {
    CHECK(std::find(names.begin(), names.end(), expected) != names.end());
  }
  for (const auto& name : names) {
    INFO(name);
    REQUIRE_NOTHROW(load_recipe(name));
    const ResolvedConfig r = load_recipe(name);
    // Also valid on several processes (the batch geometry divides): 1-8 for the real recipes,
    // 1-4 for the demos.
    const bool demo = name.rfind("demo-", 0) == 0;
    for (int64_t world : {1, 2, 4, 8}) {
      if (demo && world == 8) continue;
      CHECK_NOTHROW(check_train_config(r, world));
    }
    const TrainConfig cfg = to_train_config(r);
    CHECK(cfg.checkpointing.output_dir == "runs/" + name.substr(0, name.size() - 5));
  }
}

TEST_CASE("every recipe starts with a header giving the launch command and an override") {
  for (const auto& name : recipe_names()) {
    INFO(name);
    const std::string text = adallava::read_text_file(recipe_dir() + "/" + name);
    REQUIRE(text.rfind("# ", 0) == 0);
    const std::string launch = "#   adallava train --config configs/train/" + name;
    CHECK_THAT(text, Contains(launch + "\n"));
    // The override example: the same command followed by section.key=value arguments, which
    // must themselves be valid overrides for this recipe.
    const auto pos = text.find(launch + " ");
    REQUIRE(pos != std::string::npos);
    const auto eol = text.find('\n', pos);
    std::string rest = text.substr(pos + launch.size() + 1, eol - pos - launch.size() - 1);
    std::vector<std::string> overrides;
    for (size_t start = 0; start < rest.size();) {
      const auto space = rest.find(' ', start);
      overrides.push_back(rest.substr(start, space - start));
      start = space == std::string::npos ? rest.size() : space + 1;
    }
    REQUIRE_FALSE(overrides.empty());
    for (const auto& o : overrides) CHECK(is_override_argument(o));
    CHECK_NOTHROW(load_recipe(name, overrides));
  }
}

TEST_CASE("LLaVA-1.5 recipes hold the values of scripts/v1_5/{pretrain,finetune}.sh") {
  for (const char* size : {"7b", "13b"}) {
    INFO(size);
    const TrainConfig pre =
        to_train_config(load_recipe(std::string("llava-v1.5-") + size + "-pretrain.yaml"));
    CHECK(pre.model.conv_template == "plain");
    CHECK(pre.model.image_aspect_ratio == "square");
    CHECK(pre.model.projector_type == "mlp2x_gelu");
    CHECK(pre.model.vision_select_layer == -2);
    CHECK((!pre.trainable.vision_tower && pre.trainable.projector && !pre.trainable.llm));
    CHECK(pre.optimizer.lr == 1e-3);
    CHECK(pre.schedule.global_batch_size == 256);
    CHECK(pre.schedule.micro_batch_size == 32);
    CHECK_FALSE(pre.data.group_by_modality_length);
    CHECK(*pre.model.init == std::string("checkpoints/vicuna-") + size + "-v1.5");

    const TrainConfig fin =
        to_train_config(load_recipe(std::string("llava-v1.5-") + size + "-finetune.yaml"));
    CHECK(fin.model.conv_template == "vicuna_v1");
    CHECK(fin.model.image_aspect_ratio == "pad");
    CHECK((!fin.trainable.vision_tower && fin.trainable.projector && fin.trainable.llm));
    CHECK(fin.optimizer.lr == 2e-5);
    CHECK(fin.schedule.global_batch_size == 128);
    CHECK(fin.schedule.micro_batch_size == 16);
    CHECK(fin.data.group_by_modality_length);
    CHECK(*fin.model.projector_init == std::string("runs/llava-v1.5-") + size + "-pretrain/final");

    for (const TrainConfig* c : {&pre, &fin}) {
      CHECK(c->schedule.lr_schedule == "cosine");
      CHECK(c->schedule.warmup_ratio == 0.03);
      CHECK(c->schedule.epochs == 1.0);
      CHECK_FALSE(c->schedule.max_steps.has_value());
      CHECK(c->optimizer.weight_decay == 0.0);
      CHECK(c->optimizer.betas == std::vector<double>{0.9, 0.999});
      CHECK(c->optimizer.eps == 1e-8);
      CHECK(c->optimizer.grad_clip == 1.0);
      CHECK(c->data.max_length == 2048);
      CHECK(c->precision.dtype == "bf16");
      CHECK(c->precision.master_weights == "fp32");
      CHECK(c->schedule.seed == 42);
      CHECK_FALSE(c->adaptive_enabled());
    }
  }
}

TEST_CASE("AdaLLaVA recipes hold the official training recipe") {
  for (const char* variant : {"L", "H"}) {
    INFO(variant);
    const TrainConfig c =
        to_train_config(load_recipe(std::string("adallava-") + variant + "-7b.yaml"));
    CHECK(c.adaptive.variant == variant);
    CHECK(c.adaptive.num_prefix_layers == 16);
    CHECK(c.adaptive.scheduler_rank == 8);
    CHECK(c.adaptive.tau == 5.0);
    CHECK(c.adaptive.min_train_budget == 0.0);  // every level k = 0..16: budgets 0.5-1
    CHECK(*c.model.init == "checkpoints/llava-v1.5-7b");
    CHECK(c.optimizer.lr == 1e-5);
    CHECK_FALSE(c.optimizer.scheduler_lr.has_value());
    CHECK_FALSE(c.optimizer.projector_lr.has_value());
    CHECK((!c.trainable.vision_tower && c.trainable.projector && c.trainable.llm &&
           c.trainable.latency_encoder && c.trainable.scheduler));
    CHECK(c.model.conv_template == "vicuna_v1");
    CHECK(c.model.image_aspect_ratio == "pad");
    CHECK(c.data.group_by_modality_length);
    CHECK(c.schedule.warmup_ratio == 0.03);
    CHECK(c.optimizer.weight_decay == 0.0);
    CHECK(c.checkpointing.save_every == Frequency::every_updates(500));
    CHECK(c.checkpointing.keep_last_n == 1);
  }
}

TEST_CASE("demo recipes describe a tiny model from scratch and its AdaLLaVA fine-tuning") {
  // Stage 0 pretrains the tower; stage 1 builds a new LLM beside it and keeps it frozen.
  const TrainConfig vision = to_train_config(load_recipe("demo-vision.yaml"));
  CHECK(vision.model.objective == "scene_patches");
  CHECK(*vision.model.arch.vision_image_size / *vision.model.arch.vision_patch_size == 6);
  CHECK_FALSE(vision.trainable.llm);
  const ResolvedConfig stage1 = load_recipe("demo-stage1.yaml");
  const TrainConfig c = to_train_config(stage1);
  CHECK_FALSE(c.model.init.has_value());
  CHECK(c.model.tokenizer.has_value());
  CHECK(*c.model.vision_tower == vision.checkpointing.output_dir + "/final");
  CHECK_FALSE(c.trainable.vision_tower);
  CHECK_FALSE(c.model.arch.vision_image_size.has_value());
  CHECK(*c.model.arch.llm_hidden_size == 256);
  CHECK(*c.model.arch.llm_layers == 8);
  CHECK(*c.model.arch.llm_heads == 8);
  CHECK(c.optimizer.lr == 1e-3);
  CHECK(to_train_config(load_recipe("demo-stage2.yaml")).optimizer.lr == 5e-4);
  CHECK(to_train_config(load_recipe("demo-adallava-L.yaml")).optimizer.lr == 2.5e-4);
  CHECK(*to_train_config(load_recipe("demo-stage2.yaml")).model.init == "runs/demo-stage1/final");
  const TrainConfig h = to_train_config(load_recipe("demo-adallava-H.yaml"));
  CHECK(h.adaptive.variant == "H");
  // 2 of 8 prefix layers (upstream: half), so every budget of the demo sweep leaves a choice.
  CHECK(h.adaptive.num_prefix_layers == 2);
  CHECK(to_train_config(load_recipe("demo-adallava-L.yaml")).adaptive.num_prefix_layers == 2);
  // ... and training draws only the budgets the sweep evaluates, 0.5-1, as upstream's levels.
  CHECK(h.adaptive.min_train_budget == 0.5);
  CHECK(to_train_config(load_recipe("demo-adallava-L.yaml")).adaptive.min_train_budget == 0.5);
  CHECK(*c.model.arch.llm_heads % h.adaptive.scheduler_rank == 0);
  // The demo AdaLLaVA settings are consistent with the demo architecture.
  std::vector<std::string> as_scratch = {
      "adaptive.variant=H", "adaptive.num_prefix_layers=4",
      "adaptive.scheduler_rank=" + std::to_string(h.adaptive.scheduler_rank)};
  CHECK_NOTHROW(load_recipe("demo-stage1.yaml", as_scratch));
}

TEST_CASE("dump -> load round trip gives identical values") {
  const std::string dir = adallava::test::scratch_dir("config_round_trip");
  const std::vector<std::vector<std::string>> override_sets = {
      {},
      {"data.train=\"odd name: #1 \\\"q\\\".json\"", "optimizer.lr=0.30000000000000004",
       "checkpointing.save_every=0.3333e", "logging.metrics_file=null", "checkpointing.resume=auto",
       "optimizer.projector_lr=1e-6", "data.max_train_samples=1000", "schedule.warmup_steps=7",
       "data.image_folder=null"},
  };
  for (const auto& name : recipe_names()) {
    for (const auto& overrides : override_sets) {
      INFO(name << " with " << overrides.size() << " overrides");
      const ResolvedConfig original = load_recipe(name, overrides);
      const std::vector<std::string> header = {"resolved from " + name, "", "second line"};
      const std::string yaml = original.to_yaml(header);
      CHECK(yaml.rfind("# resolved from " + name + "\n#\n# second line\n", 0) == 0);

      // In memory, and through write_resolved_config + resolve_train_config as a run would.
      ResolvedConfig reloaded(train_schema());
      reloaded.merge_yaml_text(yaml, "dump.yaml");
      CHECK(original.differing_keys(reloaded) == std::vector<std::string>{});
      const std::string path = write_resolved_config(original, dir, header);
      const ResolvedConfig from_file = resolve_train_config({path}, {});
      CHECK(original.same_values(from_file));
      // And the dump of the reloaded config is the same text apart from origin comments.
      CHECK(reloaded.to_yaml(header, false) == original.to_yaml(header, false));
    }
  }
  const ResolvedConfig odd = load_recipe("demo-stage1.yaml", override_sets[1]);
  CHECK(odd.get_string("data.train") == "odd name: #1 \"q\".json");
}

TEST_CASE("the dump lists every key, sections in schema order, with origins") {
  const ResolvedConfig r = load_recipe("adallava-L-7b.yaml", {"optimizer.lr=2e-5"});
  const std::string yaml = r.to_yaml({"header"});
  for (const auto& spec : train_schema().keys()) {
    const auto leaf = spec.key.substr(spec.key.rfind('.') + 1);
    CHECK_THAT(yaml, Contains(leaf + ": "));
  }
  CHECK_THAT(
      yaml,
      Contains("\noptimizer:\n  name: adamw  # ") &&
          Contains("\n  lr: 2e-05  # override 'optimizer.lr=2e-5'\n  betas: [0.9, 0.999]  #"));
  CHECK_THAT(yaml, Contains("  variant: L  # " + recipe_dir() + "/adallava-L-7b.yaml:"));
  CHECK_THAT(yaml, Contains("\nmodel:\n  init: checkpoints/llava-v1.5-7b"));
  CHECK_THAT(yaml, Contains("\n  arch:\n    vision_image_size: null\n"));
  CHECK(yaml.find("\nmodel:") < yaml.find("\noptimizer:"));
  CHECK(yaml.find("\noptimizer:") < yaml.find("\nadaptive:"));
}

TEST_CASE("docs/configuration.md carries the current key reference") {
  const std::string doc_path = adallava::test::source_dir() + "/docs/configuration.md";
  const std::string begin =
      "<!-- BEGIN KEY REFERENCE (generated by train_schema().markdown_table()) -->\n";
  const std::string end = "<!-- END KEY REFERENCE -->";
  std::string doc = adallava::read_text_file(doc_path);
  const auto b = doc.find(begin);
  const auto e = doc.find(end);
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  const std::string table = train_schema().markdown_table();
  const std::string current = doc.substr(b + begin.size(), e - b - begin.size());
  if (current != table && std::getenv("ADALLAVA_UPDATE_DOCS")) {
    doc.replace(b + begin.size(), e - b - begin.size(), table);
    adallava::write_text_file_atomic(doc_path, doc);
    WARN("rewrote the key reference in " << doc_path);
    return;
  }
  INFO("run with ADALLAVA_UPDATE_DOCS=1 to regenerate the table in " << doc_path);
  CHECK(current == table);
  for (const auto& spec : train_schema().keys())
    CHECK_THAT(table, Contains("| `" + spec.key + "` |"));
}
