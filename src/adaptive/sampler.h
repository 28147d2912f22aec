// Execution-plan sampling over scheduler logits (official scheduler_utils semantics).
//
// Training: k sequential Gumbel-max draws without replacement; each draw returns a
// straight-through one-hot (forward value exactly the hard choice, gradient of the softmax of
// (logits + g) / tau). Inference: no noise and no temperature: the top-k plan, ties to the first
// index.
#pragma once

#include <functional>

#include <torch/types.h>

namespace adallava::adaptive {

// Gumbel noise for one draw: role is "layer" (L draws and H layer choices), "heads" or "mlp"
// (H unit choices); step counts the k draws from 0. Returns a float tensor of `size` elements.
using NoiseSource = std::function<torch::Tensor(const char* role, int64_t step, int64_t size)>;

// Noise g = -log(E), E ~ Exp(1), from a generator (what training uses).
NoiseSource gumbel_noise(torch::Generator generator);

// L: logits [N_s] -> 0/1 mask [N_s] with exactly k ones. `noise` null = inference.
torch::Tensor sample_layers(const torch::Tensor& logits, int64_t k, double tau,
                            const NoiseSource* noise);

// H: logits [L - N_pre, 2H] (heads then MLP groups per layer) -> 0/1 mask of the same shape.
// Each of the k steps picks a layer (by one draw over all unpicked units), then the top-r
// unpicked heads and the top-r unpicked MLP groups of that layer.
torch::Tensor sample_heads(const torch::Tensor& logits, int64_t k, int64_t r, double tau,
                           const NoiseSource* noise);

}  // namespace adallava::adaptive
