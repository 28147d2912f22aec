// Loading and saving whole state dicts as LibTorch tensors.
#pragma once

#include <map>
#include <string>

#include <ATen/Tensor.h>

namespace adallava::io {

// Ordered so that written files and error listings are deterministic.
using StateDict = std::map<std::string, at::Tensor>;

// One safetensors file. Tensors are CPU tensors in the file's dtype (copied out of the mapping).
StateDict load_safetensors(const std::string& path);
// Writes CPU tensors (any layout; made contiguous) atomically; Python's safetensors reads it.
void save_safetensors(const std::string& path, const StateDict& tensors,
                      const std::map<std::string, std::string>& metadata = {{"format", "pt"}});
// A PyTorch zip checkpoint (torch.save of a state dict / OrderedDict of tensors).
StateDict load_torch_bin(const std::string& path);

// All weights of a checkpoint directory, whichever of these it holds (first match wins):
// model.safetensors.index.json (shards), model.safetensors, pytorch_model.bin.index.json,
// pytorch_model.bin. Errors name the directory or the missing shard.
StateDict load_weights_dir(const std::string& dir);
// True when `dir` holds any of the weight files above.
bool has_weights(const std::string& dir);

}  // namespace adallava::io
