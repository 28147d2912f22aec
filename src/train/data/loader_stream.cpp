#include "train/data/loader_stream.h"

#include "common/error.h"

namespace adallava::train {

nlohmann::json to_json(const LoaderPosition& position) {
  return {{"epoch", position.epoch},
          {"batches_consumed", position.batches_consumed},
          {"seed", position.seed}};
}

LoaderPosition loader_position_from_json(const nlohmann::json& j) {
  ADALLAVA_CHECK(j.is_object(), "data position must be an object, got {}", j.dump());
  auto integer = [&](const char* key) -> const nlohmann::json& {
    const auto it = j.find(key);
    ADALLAVA_CHECK(it != j.end(), "data position lacks '{}'", key);
    ADALLAVA_CHECK(it->is_number_integer(), "data position '{}' must be an integer", key);
    return *it;
  };
  LoaderPosition p;
  p.epoch = integer("epoch").get<int64_t>();
  p.batches_consumed = integer("batches_consumed").get<int64_t>();
  p.seed = integer("seed").get<uint64_t>();
  return p;
}

DatasetOptions dataset_options(const config::TrainConfig& cfg, bool eval, int64_t image_tokens,
                               const image::PreprocessConfig& preprocess) {
  DatasetOptions d;
  if (eval) {
    ADALLAVA_CHECK(cfg.data.eval.has_value(), "data.eval is not set");
    d.data_path = *cfg.data.eval;
    d.image_folder = cfg.data.eval_image_folder.value_or(cfg.data.image_folder.value_or(""));
    d.max_records = cfg.data.max_eval_samples;
  } else {
    d.data_path = cfg.data.train;
    d.image_folder = cfg.data.image_folder.value_or("");
    d.max_records = cfg.data.max_train_samples;
  }
  d.conv_template = cfg.model.conv_template;
  d.max_length = cfg.data.max_length;
  d.image_tokens = image_tokens;
  d.bad_record_policy = cfg.data.bad_record_policy;
  d.preprocess = preprocess;
  d.pad_to_square = cfg.model.image_aspect_ratio == "pad";
  d.num_threads = std::max<int64_t>(1, cfg.data.num_workers);
  return d;
}

LoaderOptions loader_options(const config::TrainConfig& cfg, bool eval, int64_t rank,
                             int64_t world_size) {
  LoaderOptions o;
  o.sampler.micro_batch_size = cfg.schedule.micro_batch_size;
  o.sampler.world_size = world_size;
  o.sampler.rank = rank;
  o.sampler.grad_accum_steps = eval ? 1 : cfg.grad_accum_steps(world_size);
  o.sampler.shuffle = !eval && cfg.data.shuffle;
  o.sampler.group_by_modality = !eval && cfg.data.group_by_modality_length;
  o.sampler.seed = static_cast<uint64_t>(cfg.schedule.seed);
  o.num_workers = cfg.data.num_workers;
  o.prefetch = cfg.data.prefetch;
  return o;
}

}  // namespace adallava::train
