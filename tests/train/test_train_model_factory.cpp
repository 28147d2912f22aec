// Building the starting model: from model.arch (HF-style init), from a checkpoint, with a
// stage-1 projector; the from-scratch checkpoint round trip through model::load_llava.
#include <catch2/catch.hpp>

#include "common/files.h"
#include "train/model_factory.h"
#include "train_fixture.h"

using namespace adallava;
using namespace adallava::train;

namespace {

config::TrainConfig scratch_config(const std::string& out) {
  return config::to_train_config(config::resolve_train_config(
      {}, {"data.train=unused.jsonl",
           "optimizer.lr=1e-3",
           "checkpointing.output_dir=" + out,
           "model.init=null",
           "model.tokenizer=" + test::golden("llava-tiny/llava15_orig/tokenizer.model"),
           "model.arch.vision_image_size=32",
           "model.arch.vision_patch_size=8",
           "model.arch.vision_hidden_size=32",
           "model.arch.vision_layers=3",
           "model.arch.vision_heads=2",
           "model.arch.vision_mlp_dim=64",
           "model.arch.llm_hidden_size=64",
           "model.arch.llm_layers=2",
           "model.arch.llm_heads=4",
           "model.arch.llm_kv_heads=2",
           "model.arch.llm_mlp_dim=96",
           "model.arch.max_position_embeddings=128",
           "data.max_length=128",
           "model.arch.init_std=0.02",
           "schedule.seed=5",
           "trainable.vision_tower=true"}));
}

}  // namespace

TEST_CASE("from model.arch: shapes from the config, vocabulary from the tokenizer, HF init") {
  torch::set_num_threads(1);
  auto cfg = scratch_config(test::scratch_dir("factory-arch"));
  BuiltModel built = build_model(cfg);
  auto& m = *built.model;
  CHECK(m.config.text.vocab_size == 512);
  CHECK(m.config.text.num_kv_heads == 2);
  CHECK(m.vision_config.num_patches() == 16);
  CHECK(m.config.tokenizer_model_max_length == 128);
  CHECK(m.config.vision_tower == kOwnVisionTowerDir);
  // N(0, 0.02) weights: the sample std of the embedding (512 x 64 values) within 3%.
  auto emb = m.model->embed_tokens->weight.slice(0, 1);  // row 0 = pad, zeroed
  CHECK(emb.std().item<double>() == Approx(0.02).epsilon(0.03));
  CHECK(m.model->embed_tokens->weight[0].abs().sum().item<double>() == 0.0);
  auto q = m.model->layers[0]->as<model::LlamaDecoderLayer>()->self_attn->q_proj->weight;
  CHECK(q.std().item<double>() == Approx(0.02).epsilon(0.1));
  CHECK(torch::equal(m.model->norm->weight, torch::ones_like(m.model->norm->weight)));
  auto& tower = m.model->vision_tower->vision_tower->vision_model;
  CHECK(torch::equal(tower->pre_layrnorm->bias, torch::zeros_like(tower->pre_layrnorm->bias)));
  CHECK(tower->embeddings->class_embedding.std().item<double>() == Approx(0.02).epsilon(0.4));
  CHECK(m.model->mm_projector->linears[0]->bias.abs().sum().item<double>() == 0.0);

  SECTION("the same seed gives the same weights") {
    BuiltModel again = build_model(cfg);
    CHECK(test::max_param_diff(*built.model, *again.model) == 0.0);
  }

  SECTION("its checkpoint loads with model::load_llava: identical logits") {
    const std::string dir = test::scratch_dir("factory-arch-ckpt");
    LlavaObjective objective(built.model, built.assets);
    objective.save_weights(dir);
    CHECK(file_exists(join_path(dir, "vision_tower/model.safetensors")));
    CHECK(file_exists(join_path(dir, "tokenizer.model")));
    auto loaded = model::load_llava(dir);
    CHECK(loaded.preprocess.crop_height == 32);
    CHECK(loaded.preprocess.shortest_edge == 32);
    auto batch = test::make_batches(1, 2, 3, /*image_size=*/32)[0];
    built.model->eval();
    CHECK(test::max_abs_diff(test::batch_logits(built.model, batch),
                             test::batch_logits(loaded.model, batch)) == 0.0);
  }
}

TEST_CASE("model.projector_init replaces the projector with a stage-1 run's") {
  torch::set_num_threads(1);
  // A "stage-1 output": the golden checkpoint with a perturbed projector, saved by us.
  auto source = test::tiny_objective();
  {
    torch::NoGradGuard no_grad;
    for (auto& p : source.model()->model->mm_projector->parameters()) p.add_(0.5);
  }
  const std::string stage1 = test::scratch_dir("factory-stage1");
  source.save_weights(stage1);
  auto cfg =
      test::tiny_config(test::scratch_dir("factory-projector"), {"model.projector_init=" + stage1});
  BuiltModel built = build_model(cfg);
  CHECK(test::max_param_diff(*built.model->model->mm_projector,
                             *source.model()->model->mm_projector) == 0.0);
  // The LLM still comes from model.init.
  auto golden = model::load_llava(test::tiny_checkpoint());
  CHECK(test::max_param_diff(*built.model->model->norm, *golden.model->model->norm) == 0.0);

  SECTION("a file without projector tensors is an error naming it") {
    const std::string bad = join_path(test::scratch_dir("factory-bad-projector"), "x.safetensors");
    io::save_safetensors(bad, {{"model.norm.weight", torch::ones({64})}});
    auto bad_cfg = test::tiny_config(test::scratch_dir("factory-projector-2"),
                                     {"model.projector_init=" + bad});
    CHECK_THROWS_WITH(build_model(bad_cfg),
                      Catch::Contains(bad) && Catch::Contains("no mm_projector"));
  }
}

TEST_CASE("the loss is HF's shifted token-mean cross-entropy") {
  // logits [1, 3, 4]: positions 0 and 1 predict labels[1] and labels[2]; label -100 ignored.
  auto logits = torch::tensor({0.1f, 0.2f, 0.3f, 0.4f, 1.0f, 0.0f, -1.0f, 2.0f, 5.f, 5.f, 5.f, 5.f})
                    .reshape({1, 3, 4});
  auto labels = torch::tensor({int64_t{2}, int64_t{3}, int64_t{-100}}).reshape({1, 3});
  LossOutput out = shifted_cross_entropy(logits, labels);
  CHECK(out.loss_tokens == 1);
  // -log softmax([0.1,0.2,0.3,0.4])[3]
  const double expected =
      -(0.4 - std::log(std::exp(0.1) + std::exp(0.2) + std::exp(0.3) + std::exp(0.4)));
  CHECK(out.loss.item<double>() == Approx(expected).epsilon(1e-6));
  auto none = torch::full({1, 3}, int64_t{-100});
  LossOutput empty = shifted_cross_entropy(logits, none);
  CHECK(empty.loss_tokens == 0);
  CHECK(empty.loss.item<double>() == 0.0);
}

TEST_CASE("without autograd the loss also counts token accuracy over the loss tokens") {
  // Positions 0..2 predict labels[1..3]; position 0's argmax is 3 (a hit), position 1's is 0
  // (a miss), position 2 is ignored (-100) although its argmax would hit.
  auto logits = torch::tensor({0.1f, 0.2f, 0.3f, 0.4f, 1.0f, 0.0f, -1.0f, 0.5f, 0.f, 0.f, 9.f, 0.f,
                               0.f, 0.f, 0.f, 0.f})
                    .reshape({1, 4, 4});
  auto labels = torch::tensor({int64_t{0}, int64_t{3}, int64_t{2}, int64_t{-100}}).reshape({1, 4});
  CHECK(shifted_cross_entropy(logits, labels).accuracy.empty());  // training: no extra argmax
  torch::NoGradGuard no_grad;
  LossOutput out = shifted_cross_entropy(logits, labels);
  REQUIRE(out.accuracy.count("token_accuracy") == 1);
  CHECK(out.accuracy["token_accuracy"].hits == 1.0);
  CHECK(out.accuracy["token_accuracy"].total == 2.0);
}
