#include "train/optimizer.h"

#include <cmath>
#include <map>

#include <torch/torch.h>

#include "common/error.h"
#include "model/llama.h"

namespace adallava::train {

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions options)
    : groups_(std::move(groups)), options_(options) {
  for (const auto& g : groups_) {
    if (g.params.size() != g.param_names.size())
      fail("optimizer group {}: {} parameters but {} names", g.name, g.params.size(),
           g.param_names.size());
    moments_.emplace_back(g.params.size());
  }
}

int64_t AdamW::num_params() const {
  int64_t n = 0;
  for (const auto& g : groups_)
    for (const auto& p : g.params) n += p.numel();
  return n;
}

void AdamW::zero_grad() {
  for (auto& g : groups_)
    for (auto& p : g.params)
      if (p.mutable_grad().defined()) p.mutable_grad() = at::Tensor();
}

void AdamW::step(double lr_factor) {
  torch::NoGradGuard no_grad;
  const double beta1 = options_.beta1, beta2 = options_.beta2;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    auto& group = groups_[gi];
    const double lr = group.lr * lr_factor;
    for (size_t pi = 0; pi < group.params.size(); ++pi) {
      auto& param = group.params[pi];
      const auto& grad_in = param.grad();
      if (!grad_in.defined()) continue;
      auto& m = moments_[gi][pi];
      if (!m.exp_avg.defined()) {
        m.exp_avg = torch::zeros_like(param, torch::kFloat32);
        m.exp_avg_sq = torch::zeros_like(param, torch::kFloat32);
      }
      // Low-precision weights are updated in float32 and rounded once at the end.
      const bool low_precision = param.scalar_type() != torch::kFloat32;
      auto master = low_precision ? param.to(torch::kFloat32) : param;
      auto grad = grad_in.to(torch::kFloat32);
      m.step += 1;
      // Same operation order as torch.optim.AdamW's _single_tensor_adamw.
      master.mul_(1.0 - lr * group.weight_decay);
      m.exp_avg.mul_(beta1).add_(grad, 1.0 - beta1);
      m.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1.0 - beta2);
      const double bias_correction1 = 1.0 - std::pow(beta1, static_cast<double>(m.step));
      const double bias_correction2 = 1.0 - std::pow(beta2, static_cast<double>(m.step));
      const double step_size = lr / bias_correction1;
      const double bias_correction2_sqrt = std::sqrt(bias_correction2);
      auto denom = (m.exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(options_.eps);
      master.addcdiv_(m.exp_avg, denom, -step_size);
      if (low_precision) param.copy_(master);
    }
  }
}

io::StateDict AdamW::state() const {
  io::StateDict out;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const auto& group = groups_[gi];
    for (size_t pi = 0; pi < group.params.size(); ++pi) {
      const auto& m = moments_[gi][pi];
      if (!m.exp_avg.defined()) continue;
      const auto& name = group.param_names[pi];
      out["exp_avg." + name] = m.exp_avg;
      out["exp_avg_sq." + name] = m.exp_avg_sq;
      out["step." + name] = torch::tensor(m.step, torch::kInt64);
    }
  }
  return out;
}

void AdamW::load_state(const io::StateDict& state, const std::string& source) {
  size_t used = 0;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const auto& group = groups_[gi];
    for (size_t pi = 0; pi < group.params.size(); ++pi) {
      const auto& name = group.param_names[pi];
      auto& m = moments_[gi][pi];
      auto avg = state.find("exp_avg." + name);
      auto avg_sq = state.find("exp_avg_sq." + name);
      auto step = state.find("step." + name);
      const int found = (avg != state.end()) + (avg_sq != state.end()) + (step != state.end());
      if (found == 0) {  // never updated before the checkpoint (no gradient yet)
        m = Moments{};
        continue;
      }
      if (found != 3) fail("{}: incomplete optimizer state for parameter {}", source, name);
      if (avg->second.sizes() != group.params[pi].sizes() ||
          avg_sq->second.sizes() != group.params[pi].sizes())
        fail("{}: optimizer state of {} has shape {}, the parameter {}", source, name,
             fmt::join(avg->second.sizes(), "x"), fmt::join(group.params[pi].sizes(), "x"));
      m.exp_avg = avg->second.to(torch::kFloat32).clone();
      m.exp_avg_sq = avg_sq->second.to(torch::kFloat32).clone();
      m.step = step->second.item<int64_t>();
      used += 3;
    }
  }
  if (used != state.size()) {
    std::vector<std::string> unknown;
    std::set<std::string> known;
    for (const auto& g : groups_)
      for (const auto& n : g.param_names)
        for (const char* k : {"exp_avg.", "exp_avg_sq.", "step."}) known.insert(k + n);
    for (const auto& [name, t] : state)
      if (!known.count(name)) unknown.push_back(name);
    fail(
        "{}: optimizer state for parameters that are not trained in this run: {} (was "
        "`trainable` changed since the checkpoint?)",
        source,
        fmt::join(unknown.begin(), unknown.begin() + std::min<size_t>(unknown.size(), 10), ", "));
  }
}

std::set<std::string> norm_parameter_names(torch::nn::Module& module) {
  auto is_norm = [](const torch::nn::Module* m) {
    return dynamic_cast<const torch::nn::LayerNormImpl*>(m) != nullptr ||
           dynamic_cast<const model::RmsNormImpl*>(m) != nullptr;
  };
  std::set<std::string> names;
  // The root is checked by address: it may live on the stack (named_modules would need it in a
  // shared_ptr to include it).
  if (is_norm(&module))
    for (const auto& p : module.named_parameters(/*recurse=*/false)) names.insert(p.key());
  for (const auto& item : module.named_modules("", /*include_self=*/false)) {
    if (!is_norm(item.value().get())) continue;
    for (const auto& p : item.value()->named_parameters(/*recurse=*/false))
      names.insert(item.key() + "." + p.key());
  }
  return names;
}

std::vector<ParamGroup> make_param_groups(
    torch::nn::Module& module, const std::function<std::string(const std::string&)>& group_of,
    const std::function<double(const std::string&)>& lr_of_group, double weight_decay) {
  const auto norms = norm_parameter_names(module);
  std::map<std::string, ParamGroup> by_name;
  std::vector<std::string> order;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    if (!p.value().requires_grad()) continue;
    const std::string& name = p.key();
    const std::string group = group_of(name);
    const bool no_decay = norms.count(name) || name.find("bias") != std::string::npos;
    const std::string key = no_decay ? group + "/no_decay" : group;
    auto [it, inserted] = by_name.try_emplace(key);
    if (inserted) {
      order.push_back(key);
      it->second.name = key;
      it->second.lr = lr_of_group(group);
      it->second.weight_decay = no_decay ? 0.0 : weight_decay;
    }
    it->second.param_names.push_back(name);
    it->second.params.push_back(p.value());
  }
  std::vector<ParamGroup> groups;
  for (const auto& key : order) groups.push_back(std::move(by_name[key]));
  return groups;
}

double global_grad_norm(const std::vector<at::Tensor>& params) {
  double sum_sq = 0;
  for (const auto& p : params) {
    const auto& g = p.grad();
    if (!g.defined()) continue;
    sum_sq += g.to(torch::kFloat64).pow(2).sum().item<double>();
  }
  return std::sqrt(sum_sq);
}

void scale_grads(const std::vector<at::Tensor>& params, double factor) {
  torch::NoGradGuard no_grad;
  for (const auto& p : params) {
    auto g = p.grad();
    if (g.defined()) g.mul_(factor);
  }
}

}  // namespace adallava::train
