// save_safetensors -> load_safetensors in every dtype, and interop with PyTorch in Python.
#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/safetensors_view.h"
#include "io/weights.h"
#include "io_test_util.h"

namespace io = adallava::io;

namespace {

io::StateDict sample_tensors() {
  at::manual_seed(7);
  io::StateDict t;
  const at::Tensor base = at::randn({4, 6});
  t["f32"] = base;
  t["f32.transposed"] = base.t();           // non-contiguous
  t["f32.slice"] = base.slice(1, 1, 5, 2);  // strided with an offset
  t["f16"] = at::randn({3, 5}).to(at::kHalf);
  t["bf16"] = at::randn({2, 3, 4}).to(at::kBFloat16);
  t["f64"] = at::randn({5}, at::kDouble);
  t["i64"] = at::arange(-3, 9, at::kLong).reshape({3, 4});
  t["i32"] = at::arange(-100000, 100000, 37777, at::kInt);
  t["i16"] = at::arange(-300, 300, 71, at::kShort);
  t["i8"] = at::arange(-128, 128, 17, at::kChar);
  t["u8"] = at::arange(0, 256, 19, at::kByte);
  t["bool"] = at::randn({7}) > 0;
  t["scalar"] = at::scalar_tensor(2.5);
  t["empty"] = at::empty({0, 3});
  return t;
}

}  // namespace

TEST_CASE("save_safetensors then load_safetensors gives back every tensor exactly") {
  const std::string dir = adallava::test::scratch_dir("io_safetensors_roundtrip");
  const std::string path = dir + "/model.safetensors";
  const io::StateDict original = sample_tensors();
  io::save_safetensors(path, original);

  const io::StateDict loaded = io::load_safetensors(path);
  io::StateDict expected;
  for (const auto& [name, t] : original) expected[name] = t.contiguous();
  adallava::test::require_same_state_dict(loaded, expected);
  CHECK(loaded.at("scalar").dim() == 0);
  CHECK(loaded.at("f32.transposed").sizes() == at::IntArrayRef({6, 4}));

  // The mapping is not shared: tensors stay valid and writable after the file is gone.
  std::filesystem::remove(path);
  at::Tensor f32 = loaded.at("f32");
  f32.add_(1);
  CHECK(at::equal(f32, original.at("f32") + 1));

  // Default metadata is what Hugging Face expects; custom metadata round-trips.
  io::save_safetensors(path, original, {{"format", "pt"}, {"origin", "adallava"}});
  const auto view = adallava::SafetensorsFile::open(path);
  CHECK(view->metadata().at("origin") == "adallava");
  CHECK(view->tensor("bf16").dtype == adallava::StDType::BF16);
}

TEST_CASE("save_safetensors rejects tensors safetensors cannot store") {
  const std::string dir = adallava::test::scratch_dir("io_safetensors_bad_save");
  io::StateDict complex;
  complex["c"] = at::zeros({2}, at::kComplexFloat);
  CHECK_THROWS_WITH(io::save_safetensors(dir + "/c.safetensors", complex),
                    Catch::Contains("c.safetensors") && Catch::Contains("'c'"));
  io::StateDict undefined;
  undefined["u"] = at::Tensor();
  CHECK_THROWS_WITH(io::save_safetensors(dir + "/u.safetensors", undefined),
                    Catch::Contains("u.safetensors") && Catch::Contains("'u'"));
}

// The safetensors Python package is not installed, so the reader is written from the format
// description: 8-byte length, JSON header, raw little-endian data.
static const char* kPythonReader = R"PY(
import json, struct, sys, torch
data = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', data[:8])[0]
header = json.loads(data[8:8 + n].decode('utf-8'))
types = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16, 'F64': torch.float64,
         'I64': torch.int64, 'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8,
         'U8': torch.uint8, 'BOOL': torch.bool}
out = {'metadata': header.pop('__metadata__', {}), 'header_len': n, 'tensors': {}}
for name, entry in header.items():
    begin, end = entry['data_offsets']
    dtype = types[entry['dtype']]
    raw = bytearray(data[8 + n + begin:8 + n + end])
    t = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
    t = t.reshape(entry['shape'])
    out['tensors'][name] = {'dtype': str(t.dtype), 'shape': list(t.shape),
                            'values': t.double().flatten().tolist()}
print(json.dumps(out))
)PY";

TEST_CASE("a file written by save_safetensors is read by PyTorch in Python") {
  const std::string dir = adallava::test::scratch_dir("io_safetensors_interop");
  const std::string script = dir + "/read_safetensors.py";
  adallava::test::write_bytes(script, kPythonReader);
  const io::StateDict original = sample_tensors();
  io::save_safetensors(dir + "/m.safetensors", original);

  const auto parsed =
      nlohmann::json::parse(adallava::test::run_python(script, dir + "/m.safetensors"));
  CHECK(parsed["header_len"].get<int>() % 8 == 0);
  CHECK(parsed["metadata"] == nlohmann::json{{"format", "pt"}});
  REQUIRE(parsed["tensors"].size() == original.size());
  const std::map<at::ScalarType, std::string> torch_names = {
      {at::kFloat, "torch.float32"},     {at::kHalf, "torch.float16"},
      {at::kBFloat16, "torch.bfloat16"}, {at::kDouble, "torch.float64"},
      {at::kLong, "torch.int64"},        {at::kInt, "torch.int32"},
      {at::kShort, "torch.int16"},       {at::kChar, "torch.int8"},
      {at::kByte, "torch.uint8"},        {at::kBool, "torch.bool"}};
  for (const auto& [name, t] : original) {
    INFO(name);
    const auto& entry = parsed["tensors"].at(name);
    CHECK(entry["dtype"].get<std::string>() == torch_names.at(t.scalar_type()));
    CHECK(entry["shape"].get<std::vector<int64_t>>() == t.sizes().vec());
    const auto values = entry["values"].get<std::vector<double>>();
    const at::Tensor expected = t.to(at::kDouble).contiguous().flatten();
    REQUIRE(values.size() == static_cast<size_t>(expected.numel()));
    // Exact: both sides widen the same stored bits to double.
    const double* e = expected.data_ptr<double>();
    for (size_t i = 0; i < values.size(); ++i) REQUIRE(values[i] == e[i]);
  }
}
