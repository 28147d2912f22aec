#include "io/weights.h"

#include <cstring>

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "common/safetensors_view.h"
#include "io/state_dict_pickle.h"

namespace adallava::io {

namespace {

constexpr const char* kSafetensorsIndex = "model.safetensors.index.json";
constexpr const char* kSafetensors = "model.safetensors";
constexpr const char* kTorchBinIndex = "pytorch_model.bin.index.json";
constexpr const char* kTorchBin = "pytorch_model.bin";

at::ScalarType to_scalar_type(StDType t, const std::string& path, const std::string& name) {
  switch (t) {
    case StDType::Bool:
      return at::kBool;
    case StDType::U8:
      return at::kByte;
    case StDType::I8:
      return at::kChar;
    case StDType::I16:
      return at::kShort;
    case StDType::F16:
      return at::kHalf;
    case StDType::BF16:
      return at::kBFloat16;
    case StDType::I32:
      return at::kInt;
    case StDType::F32:
      return at::kFloat;
    case StDType::F64:
      return at::kDouble;
    case StDType::I64:
      return at::kLong;
    case StDType::U16:
    case StDType::U32:
    case StDType::U64:
      break;
  }
  fail("{}: tensor '{}': dtype {} has no LibTorch equivalent", path, name, st_dtype_name(t));
}

StDType to_st_dtype(at::ScalarType t, const std::string& path, const std::string& name) {
  switch (t) {
    case at::kBool:
      return StDType::Bool;
    case at::kByte:
      return StDType::U8;
    case at::kChar:
      return StDType::I8;
    case at::kShort:
      return StDType::I16;
    case at::kHalf:
      return StDType::F16;
    case at::kBFloat16:
      return StDType::BF16;
    case at::kInt:
      return StDType::I32;
    case at::kFloat:
      return StDType::F32;
    case at::kDouble:
      return StDType::F64;
    case at::kLong:
      return StDType::I64;
    default:
      break;
  }
  fail("{}: tensor '{}': dtype {} cannot be stored in safetensors", path, name, c10::toString(t));
}

// Shared by both index formats: {"weight_map": {tensor: shard file}}. Each shard is loaded once
// and must hold every tensor the index assigns to it.
StateDict load_sharded(const std::string& dir, const std::string& index_name,
                       StateDict (*load_shard)(const std::string&)) {
  const std::string index_path = join_path(dir, index_name);
  const nlohmann::json index = read_json_file(index_path);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    fail("{}: no \"weight_map\" object", index_path);
  }
  std::map<std::string, std::vector<std::string>> tensors_by_shard;
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    if (!shard.is_string())
      fail("{}: weight_map entry '{}' is not a file name", index_path, tensor);
    tensors_by_shard[shard.get<std::string>()].push_back(tensor);
  }
  if (tensors_by_shard.empty()) fail("{}: weight_map is empty", index_path);

  StateDict all;
  std::map<std::string, std::string> shard_of;
  for (const auto& [shard, expected] : tensors_by_shard) {
    const std::string shard_path = join_path(dir, shard);
    if (!file_exists(shard_path)) {
      fail("{}: shard '{}' is missing ({} not found)", index_path, shard, shard_path);
    }
    StateDict loaded = load_shard(shard_path);
    for (const auto& name : expected) {
      if (!loaded.count(name)) {
        fail("{}: tensor '{}' is listed in shard '{}' but {} does not hold it", index_path, name,
             shard, shard_path);
      }
    }
    for (auto& [name, tensor] : loaded) {
      auto [it, inserted] = shard_of.emplace(name, shard);
      if (!inserted) {
        fail("{}: tensor '{}' appears in both shard '{}' and shard '{}'", index_path, name,
             it->second, shard);
      }
      all.emplace(name, std::move(tensor));
    }
  }
  return all;
}

}  // namespace

StateDict load_safetensors(const std::string& path) {
  const auto file = SafetensorsFile::open(path);
  StateDict out;
  for (const auto& name : file->names()) {
    const StTensorView& view = file->tensor(name);
    at::Tensor tensor =
        at::empty(view.shape, at::TensorOptions().dtype(to_scalar_type(view.dtype, path, name)));
    if (view.nbytes != 0) std::memcpy(tensor.data_ptr(), view.data, view.nbytes);
    out.emplace(name, std::move(tensor));
  }
  return out;
}

void save_safetensors(const std::string& path, const StateDict& tensors,
                      const std::map<std::string, std::string>& metadata) {
  // Keeps the contiguous CPU copies alive until the file is written.
  std::vector<at::Tensor> keep_alive;
  keep_alive.reserve(tensors.size());
  std::map<std::string, StTensorData> views;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) fail("{}: tensor '{}' is undefined", path, name);
    if (tensor.layout() != at::kStrided) fail("{}: tensor '{}' is not a dense tensor", path, name);
    const StDType dtype = to_st_dtype(tensor.scalar_type(), path, name);
    at::Tensor dense = tensor.to(at::kCPU).contiguous();
    keep_alive.push_back(dense);
    views[name] = StTensorData{dtype, dense.sizes().vec(), dense.data_ptr(),
                               static_cast<size_t>(dense.numel()) * dense.element_size()};
  }
  write_safetensors(path, views, metadata);
}

StateDict load_torch_bin(const std::string& path) {
  if (!file_exists(path)) fail("{}: no such file", path);
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    if (reader.hasRecord("byteorder")) {
      auto [ptr, size] = reader.getRecord("byteorder");
      const std::string order(static_cast<const char*>(ptr.get()), size);
      if (order != "little") fail("{}: byte order '{}' is not supported", path, order);
    }
    if (!reader.hasRecord("data.pkl")) fail("{}: PyTorch checkpoint has no data.pkl", path);
    auto [pickle, pickle_size] = reader.getRecord("data.pkl");
    auto load_storage = [&](const std::string& key, at::ScalarType dtype, int64_t numel) {
      const std::string record = "data/" + key;
      if (!reader.hasRecord(record)) fail("{}: storage record '{}' is missing", path, record);
      auto [bytes, nbytes] = reader.getRecord(record);
      const size_t expected = static_cast<size_t>(numel) * c10::elementSize(dtype);
      if (nbytes != expected) {
        fail("{}: storage record '{}' holds {} bytes, expected {} ({} x {})", path, record, nbytes,
             expected, numel, c10::toString(dtype));
      }
      at::Tensor storage = at::empty({numel}, at::TensorOptions().dtype(dtype));
      if (nbytes != 0) std::memcpy(storage.data_ptr(), bytes.get(), nbytes);
      return storage;
    };
    auto entries = detail::unpickle_state_dict(static_cast<const uint8_t*>(pickle.get()),
                                               pickle_size, load_storage, path);
    StateDict out;
    for (auto& [name, tensor] : entries) out[name] = std::move(tensor);
    return out;
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    fail("{}: not a readable PyTorch zip checkpoint (corrupt, truncated or legacy format): {}",
         path, e.what_without_backtrace());
  } catch (const std::exception& e) {
    fail("{}: cannot read PyTorch checkpoint: {}", path, e.what());
  }
}

StateDict load_weights_dir(const std::string& dir) {
  if (!dir_exists(dir)) fail("{}: weights directory does not exist", dir);
  if (file_exists(join_path(dir, kSafetensorsIndex))) {
    return load_sharded(dir, kSafetensorsIndex, &load_safetensors);
  }
  if (file_exists(join_path(dir, kSafetensors)))
    return load_safetensors(join_path(dir, kSafetensors));
  if (file_exists(join_path(dir, kTorchBinIndex))) {
    return load_sharded(dir, kTorchBinIndex, &load_torch_bin);
  }
  if (file_exists(join_path(dir, kTorchBin))) return load_torch_bin(join_path(dir, kTorchBin));
  fail("{}: no weights found (looked for {}, {}, {}, {})", dir, kSafetensorsIndex, kSafetensors,
       kTorchBinIndex, kTorchBin);
}

bool has_weights(const std::string& dir) {
  for (const char* name : {kSafetensorsIndex, kSafetensors, kTorchBinIndex, kTorchBin}) {
    if (file_exists(join_path(dir, name))) return true;
  }
  return false;
}

}  // namespace adallava::io
