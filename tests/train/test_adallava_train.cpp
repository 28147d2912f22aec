// AdaLLaVA joint training pieces: a checkpoint written here has exactly the official tensor
// names and config keys; the objective samples one budget level per sample, trains the
// scheduler through the straight-through plan, and a few updates lower the loss.
#include <fstream>
#include <set>

#include <torch/torch.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adaptive/adallava.h"
#include "io/weights.h"
#include "support/paths.h"
#include "train/adallava_objective.h"
#include "train/optimizer.h"
#include "train_fixture.h"

using namespace adallava;
using namespace adallava::test;

namespace {

train::CheckpointAssets golden_assets(const std::string& dir) {
  train::CheckpointAssets assets;
  assets.tokenizer_model = dir + "/tokenizer.model";
  assets.tokenizer_config_dir = dir;
  assets.external_vision_tower = golden("adallava/clip_vision");
  return assets;
}

std::set<std::string> official_tensor_names(const std::string& variant) {
  std::ifstream in(golden("adallava/tensors_ada_" + variant + "_model.safetensors.txt"));
  std::set<std::string> names;
  std::string line;  // name <TAB> dtype <TAB> shape
  while (std::getline(in, line))
    if (!line.empty()) names.insert(line.substr(0, line.find('\t')));
  return names;
}

}  // namespace

TEST_CASE("an AdaLLaVA checkpoint written here has the official key set and config keys",
          "[train][adaptive]") {
  for (const std::string variant : {"L", "H"}) {
    const std::string src = golden("adallava/ada_" + variant);
    auto loaded = adaptive::load_adallava(src);
    train::LlavaObjective objective(loaded.model, golden_assets(src));
    const std::string out = scratch_dir("adallava_compat_" + variant);
    objective.save_weights(out);

    std::set<std::string> ours;
    for (const auto& [name, tensor] : io::load_weights_dir(out)) ours.insert(name);
    INFO("variant " << variant);
    CHECK(ours == official_tensor_names(variant));

    nlohmann::json written, official;
    std::ifstream(out + "/config.json") >> written;
    std::ifstream(src + "/config.json") >> official;
    for (const char* key : {"architectures", "model_type", "num_prefix_layers", "scheduler_type",
                            "scheduler_rank", "token_selecting"}) {
      INFO(key);
      CHECK(written.at(key) == official.at(key));
    }
    // And it loads back to the same scheduler weights.
    model::LoadOptions options;
    options.vision_tower_dir = golden("adallava/clip_vision");
    auto again = adaptive::load_adallava(out, options);
    auto a = adaptive::scheduler_of(*loaded.model), b = adaptive::scheduler_of(*again.model);
    REQUIRE(b);
    CHECK(a->mlp_head->weight.equal(b->mlp_head->weight));
  }
}

TEST_CASE("the AdaLLaVA objective trains the scheduler and lowers the loss", "[train][adaptive]") {
  auto loaded = model::load_llava(tiny_checkpoint());
  auto m = loaded.model;
  adaptive::UnitSpec spec;
  spec.variant = adaptive::Variant::L;
  spec.num_layers = m->config.text.num_layers;
  spec.num_prefix_layers = 2;
  spec.num_heads = m->config.text.num_heads;
  auto scheduler = adaptive::attach_scheduler(*m, spec);
  scheduler->reset_parameters(0.02);
  m->train();
  train::AdaLlavaObjective objective(m, {}, scheduler, 5.0);
  CHECK(objective.group_of("scheduler.scheduler_up_proj.net.1.weight") == "latency_encoder");
  CHECK(objective.group_of("scheduler.mlp_head.bias") == "scheduler");
  CHECK(objective.group_of("model.layers.0.mlp.up_proj.weight") == "llm");

  auto batches = make_batches(1, 4, 17);
  auto rng = at::detail::createCPUGenerator(3);
  torch::optim::Adam adam(m->parameters(), torch::optim::AdamOptions(3e-3));
  double first = 0, last = 0;
  for (int step = 0; step < 8; ++step) {
    adam.zero_grad();
    auto out = objective.forward(batches[0], rng);
    REQUIRE(std::isfinite(out.loss.item<double>()));
    out.loss.backward();
    if (step == 0) {
      // The straight-through plan carries the loss gradient into the scheduler head.
      CHECK(scheduler->mlp_head->weight.grad().defined());
      first = out.loss.item<double>();
    }
    last = out.loss.item<double>();
    adam.step();
  }
  INFO("loss " << first << " -> " << last);
  CHECK(last < first - 0.3);
}

TEST_CASE("training budget levels are drawn uniformly from the lowest trained budget up",
          "[train][adaptive]") {
  auto rng = at::detail::createCPUGenerator(11);
  // A demo-like L spec: 8 layers, 2 prefix, so k in {0..6}; budget 0.5 selects k = 2.
  adaptive::UnitSpec spec;
  spec.variant = adaptive::Variant::L;
  spec.num_layers = 8;
  spec.num_prefix_layers = 2;
  spec.num_heads = 4;
  const int64_t k_min = adaptive::units_for_budget(0.5, spec);
  REQUIRE(k_min == 2);
  const int64_t draws = 7000;
  auto k = train::sample_unit_counts(draws, k_min, spec.switchable_units(), rng);
  std::vector<int64_t> seen(spec.switchable_units() + 1, 0);
  for (int64_t v : k) {
    REQUIRE(v >= k_min);
    REQUIRE(v <= spec.switchable_units());
    ++seen[v];
  }
  // Five levels, 1400 expected each; 4.5 binomial standard deviations (about 34) either side.
  for (int64_t level = k_min; level <= spec.switchable_units(); ++level) {
    INFO("level " << level);
    CHECK(std::abs(seen[level] - 1400) < 153);
  }
  // The full range (min budget 0) draws exactly what the official uniform draw does.
  auto a = at::detail::createCPUGenerator(5), b = at::detail::createCPUGenerator(5);
  auto ours = train::sample_unit_counts(64, 0, 6, a);
  for (int64_t v : ours) CHECK(v == torch::randint(7, {1}, b).item<int64_t>());
  CHECK_THROWS_WITH(train::sample_unit_counts(1, 7, 6, rng),
                    Catch::Contains("no budget level to draw"));
}
