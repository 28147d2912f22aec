// AdamW with decoupled weight decay, numerically the algorithm of torch.optim.AdamW (1.13,
// single-tensor path, amsgrad off), over named parameter groups with their own lr and decay.
// Its state is plain named tensors so checkpoints hold it as safetensors.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <ATen/Tensor.h>

#include "io/weights.h"

namespace torch::nn {
class Module;
}

namespace adallava::train {

struct ParamGroup {
  std::string name;  // e.g. "llm", "llm/no_decay", "projector"
  double lr = 0;     // peak lr; the schedule multiplies it
  double weight_decay = 0;
  std::vector<std::string> param_names;
  std::vector<at::Tensor> params;
};

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

class AdamW {
 public:
  AdamW(std::vector<ParamGroup> groups, AdamWOptions options);

  // One update with lr = group.lr * lr_factor. Parameters without a gradient are skipped (no
  // decay, no moment update), as torch does for grad None.
  void step(double lr_factor);
  void zero_grad();

  const std::vector<ParamGroup>& groups() const { return groups_; }
  int64_t num_params() const;  // elements updated

  // exp_avg.<name>, exp_avg_sq.<name> (float32) and step.<name> (int64 scalar) per parameter
  // that has been updated at least once.
  io::StateDict state() const;
  // Restores state(); every tensor must match a parameter of this optimizer in shape; names of
  // this optimizer's parameters missing from `state` are an error naming `source`.
  void load_state(const io::StateDict& state, const std::string& source);

 private:
  struct Moments {
    at::Tensor exp_avg, exp_avg_sq;
    int64_t step = 0;
  };
  std::vector<ParamGroup> groups_;
  AdamWOptions options_;
  std::vector<std::vector<Moments>> moments_;  // [group][param]
};

// HF Trainer's grouping: parameters of LayerNorm / RMSNorm modules and every "bias" get no
// weight decay. `group_of` names a parameter's module group (vision_tower, projector, llm,
// latency_encoder, scheduler); `lr_of_group` its peak lr. Parameters with requires_grad false
// are left out. Empty groups are dropped.
std::vector<ParamGroup> make_param_groups(
    torch::nn::Module& module, const std::function<std::string(const std::string&)>& group_of,
    const std::function<double(const std::string&)>& lr_of_group, double weight_decay);

// Names of the parameters that live in LayerNorm / RMSNorm modules.
std::set<std::string> norm_parameter_names(torch::nn::Module& module);

// Gradient L2 norm over `params` (undefined grads count as zero), in float64 accumulation.
double global_grad_norm(const std::vector<at::Tensor>& params);
// Multiplies every defined grad by `factor`.
void scale_grads(const std::vector<at::Tensor>& params, double factor);

}  // namespace adallava::train
