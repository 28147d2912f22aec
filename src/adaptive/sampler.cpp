#include "adaptive/sampler.h"

#include <limits>

#include <torch/torch.h>

namespace adallava::adaptive {

namespace {

// One masked draw along the last dimension of `logits` [..., N]: `picked` (0/1, same shape)
// marks units already taken. Returns the straight-through indicator of the `count` largest
// unpicked entries of (logits + g) / tau (or of logits at inference).
torch::Tensor masked_draw(const torch::Tensor& logits, const torch::Tensor& picked, int64_t count,
                          double tau, const torch::Tensor& gumbel) {
  const bool training = gumbel.defined();
  auto scores =
      training ? (logits + gumbel.view(logits.sizes()).to(logits.scalar_type())) / tau : logits;
  auto taken = picked.to(torch::kBool);
  scores = scores.masked_fill(taken, -std::numeric_limits<double>::infinity());
  auto soft = scores.softmax(-1);
  // Picked entries rank below every probability, so they are never chosen again.
  auto ranking = soft.detach().masked_fill(taken, -1.0);
  auto index = count == 1 ? std::get<1>(ranking.max(-1, /*keepdim=*/true))
                          : std::get<1>(ranking.topk(count, -1, /*largest=*/true));
  auto hard = torch::zeros_like(soft).scatter_(-1, index, 1.0);
  return training ? hard - soft.detach() + soft : hard;
}

torch::Tensor noise_for(const NoiseSource* noise, const char* role, int64_t step, int64_t size) {
  return noise ? (*noise)(role, step, size) : torch::Tensor();
}

}  // namespace

NoiseSource gumbel_noise(torch::Generator generator) {
  return [generator](const char*, int64_t, int64_t size) mutable {
    return -torch::empty({size}, torch::kFloat32).exponential_(1.0, generator).log();
  };
}

torch::Tensor sample_layers(const torch::Tensor& logits, int64_t k, double tau,
                            const NoiseSource* noise) {
  TORCH_CHECK(logits.dim() == 1, "layer logits must be 1-D");
  TORCH_CHECK(k >= 0 && k <= logits.size(0), "cannot pick ", k, " of ", logits.size(0), " units");
  auto mask = torch::zeros_like(logits);
  for (int64_t step = 0; step < k; ++step)
    mask =
        mask + masked_draw(logits, mask, 1, tau, noise_for(noise, "layer", step, logits.numel()));
  return mask;
}

torch::Tensor sample_heads(const torch::Tensor& logits, int64_t k, int64_t r, double tau,
                           const NoiseSource* noise) {
  TORCH_CHECK(logits.dim() == 2 && logits.size(1) % 2 == 0, "head logits must be [layers, 2H]");
  const int64_t layers = logits.size(0), heads = logits.size(1) / 2;
  TORCH_CHECK(r > 0 && heads % r == 0, "rank ", r, " must divide ", heads, " heads");
  TORCH_CHECK(k >= 0 && k <= layers * heads / r, "cannot allocate ", k, " steps");
  auto mask = torch::zeros_like(logits);
  for (int64_t step = 0; step < k; ++step) {
    // Which layer: one draw over every unit; its one-hot summed per layer.
    auto unit = masked_draw(logits.view(-1), mask.view(-1), 1, tau,
                            noise_for(noise, "layer", step, logits.numel()));
    auto layer = unit.view({layers, 2 * heads}).sum(1);                      // [layers]
    auto picked_here = (mask * layer.unsqueeze(1)).sum(0).view({2, heads});  // that layer's mask
    auto sub_logits = (logits * layer.unsqueeze(1)).sum(0).view({2, heads});
    auto head_pick =
        masked_draw(sub_logits[0], picked_here[0], r, tau, noise_for(noise, "heads", step, heads));
    auto mlp_pick =
        masked_draw(sub_logits[1], picked_here[1], r, tau, noise_for(noise, "mlp", step, heads));
    auto units = torch::cat({head_pick, mlp_pick}, 0);  // [2H]
    mask = mask + layer.unsqueeze(1) * units.unsqueeze(0);
  }
  return mask;
}

}  // namespace adallava::adaptive
