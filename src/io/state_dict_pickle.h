// A restricted unpickler for the data.pkl of a torch.save()d state dict.
//
// LibTorch 1.13's own unpickler cannot read ordinary state dicts: it maps collections.OrderedDict
// to None and lacks the SETITEM opcode. This one understands only what a state dict needs
// (containers, strings, numbers, tensor-rebuild globals, storage persistent ids), checks every
// read and stack access, and reports anything else as adallava::Error instead of executing it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/Tensor.h>

namespace adallava::io::detail {

// Returns the storage `key` as a 1-D tensor of `numel` elements of `dtype`; called once per key.
using StorageLoader =
    std::function<at::Tensor(const std::string& key, at::ScalarType dtype, int64_t numel)>;

// Decodes a pickled mapping of names to tensors, in pickle order. Tensors come back contiguous;
// views that did not span their whole storage are copied, so only entries that were the very same
// tensor in Python still share memory. `context` (usually the file path) starts every error.
std::vector<std::pair<std::string, at::Tensor>> unpickle_state_dict(
    const uint8_t* data, size_t size, const StorageLoader& load_storage,
    const std::string& context);

}  // namespace adallava::io::detail
