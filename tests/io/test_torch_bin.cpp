// load_torch_bin on checkpoints written by torch.save in Python: OrderedDict state dicts with
// their _metadata, views sharing storage, every common dtype, protocol 4 pickles, sharded .bin
// directories, and pickles that must be refused rather than executed.
#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "io/weights.h"
#include "io_test_util.h"

namespace io = adallava::io;

namespace {

// Writes checkpoints into argv[1] and prints the expected values as JSON.
const char* kPythonWriter = R"PY(
import collections, json, os, sys, torch
out = sys.argv[1]
torch.manual_seed(3)
model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4))
sd = model.state_dict()                      # OrderedDict with a _metadata attribute
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
sd['shared.base'] = base
sd['shared.transposed'] = base.t()           # same storage, non-contiguous
sd['shared.row'] = base[2]                   # same storage, offset
sd['shared.cols'] = base[:, 1:5:2]           # strided slice
sd['bf16'] = torch.randn(5).bfloat16()
sd['f16'] = torch.randn(2, 3).half()
sd['f64'] = torch.randn(3).double()
sd['i64'] = torch.tensor([1, -2, 3 << 40])
sd['i32'] = torch.tensor([7, -8], dtype=torch.int32)
sd['u8'] = torch.tensor([0, 200, 255], dtype=torch.uint8)
sd['bool'] = torch.tensor([True, False, True])
sd['scalar'] = torch.tensor(3.5)
sd['empty'] = torch.empty(0, 2)
torch.save(sd, os.path.join(out, 'ordered.bin'))
torch.save(sd, os.path.join(out, 'protocol4.bin'), pickle_protocol=4)
torch.save({'only': torch.ones(2)}, os.path.join(out, 'single.bin'))   # SETITEM, not SETITEMS
torch.save({'p': torch.nn.Parameter(torch.full((2,), 1.25))}, os.path.join(out, 'param.bin'))
torch.save({'w': torch.ones(2), 'step': 3}, os.path.join(out, 'not_tensor.bin'))
torch.save([torch.ones(2)], os.path.join(out, 'list.bin'))

class Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + os.path.join(out, 'PWNED'),))
torch.save({'x': Evil()}, os.path.join(out, 'evil.bin'))

shard_dir = os.path.join(out, 'sharded')
os.makedirs(shard_dir)
torch.save({'a.weight': torch.randn(2, 2)}, os.path.join(shard_dir, 'pytorch_model-00001-of-00002.bin'))
torch.save(collections.OrderedDict([('b.weight', torch.randn(3)), ('c.bias', torch.randn(1))]),
           os.path.join(shard_dir, 'pytorch_model-00002-of-00002.bin'))
index = {'metadata': {'total_size': 0}, 'weight_map': {
    'a.weight': 'pytorch_model-00001-of-00002.bin',
    'b.weight': 'pytorch_model-00002-of-00002.bin',
    'c.bias': 'pytorch_model-00002-of-00002.bin'}}
json.dump(index, open(os.path.join(shard_dir, 'pytorch_model.bin.index.json'), 'w'))

def describe(d):
    return {k: {'dtype': str(v.dtype), 'shape': list(v.shape),
                'values': v.double().flatten().tolist()} for k, v in d.items()}
print(json.dumps({'ordered': describe(sd),
                  'sharded': describe({**torch.load(os.path.join(shard_dir, 'pytorch_model-00001-of-00002.bin')),
                                       **torch.load(os.path.join(shard_dir, 'pytorch_model-00002-of-00002.bin'))})}))
)PY";

struct Fixture {
  std::string dir;
  nlohmann::json expected;
};

// Generated once per process: running Python costs about a second.
const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture made;
    made.dir = adallava::test::scratch_dir("io_torch_bin");
    adallava::test::write_bytes(made.dir + "/write_bins.py", kPythonWriter);
    made.expected =
        nlohmann::json::parse(adallava::test::run_python(made.dir + "/write_bins.py", made.dir));
    return made;
  }();
  return f;
}

std::string torch_dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat:
      return "torch.float32";
    case at::kHalf:
      return "torch.float16";
    case at::kBFloat16:
      return "torch.bfloat16";
    case at::kDouble:
      return "torch.float64";
    case at::kLong:
      return "torch.int64";
    case at::kInt:
      return "torch.int32";
    case at::kByte:
      return "torch.uint8";
    case at::kBool:
      return "torch.bool";
    default:
      return "other";
  }
}

void require_matches_python(const io::StateDict& loaded, const nlohmann::json& expected) {
  REQUIRE(loaded.size() == expected.size());
  for (const auto& [name, entry] : expected.items()) {
    INFO(name);
    REQUIRE(loaded.count(name) == 1);
    const at::Tensor& t = loaded.at(name);
    CHECK(t.is_contiguous());
    CHECK(torch_dtype_name(t.scalar_type()) == entry["dtype"].get<std::string>());
    CHECK(t.sizes().vec() == entry["shape"].get<std::vector<int64_t>>());
    const auto values = entry["values"].get<std::vector<double>>();
    const at::Tensor flat = t.to(at::kDouble).contiguous().flatten();
    REQUIRE(values.size() == static_cast<size_t>(flat.numel()));
    for (size_t i = 0; i < values.size(); ++i) REQUIRE(values[i] == flat.data_ptr<double>()[i]);
  }
}

std::string load_error(const std::string& path) {
  try {
    io::load_torch_bin(path);
  } catch (const adallava::Error& e) {
    return e.what();
  }
  FAIL("no error for " << path);
  return {};
}

}  // namespace

TEST_CASE("OrderedDict state dict with views and mixed dtypes loads exactly") {
  const auto& f = fixture();
  const auto loaded = io::load_torch_bin(f.dir + "/ordered.bin");
  require_matches_python(loaded, f.expected["ordered"]);
  // Views are copied out, so writing one entry leaves the others alone.
  at::Tensor row = loaded.at("shared.row");
  row.fill_(-1);
  CHECK(loaded.at("shared.base")[2][0].item<float>() == 12.0f);
}

TEST_CASE("protocol 4 pickles (FRAME, MEMOIZE, SHORT_BINUNICODE) load the same") {
  const auto& f = fixture();
  require_matches_python(io::load_torch_bin(f.dir + "/protocol4.bin"), f.expected["ordered"]);
}

TEST_CASE("single-entry dicts and nn.Parameter values load") {
  const auto& f = fixture();
  const auto single = io::load_torch_bin(f.dir + "/single.bin");
  REQUIRE(single.size() == 1);
  CHECK(at::equal(single.at("only"), at::ones({2})));
  const auto param = io::load_torch_bin(f.dir + "/param.bin");
  REQUIRE(param.size() == 1);
  CHECK(at::equal(param.at("p"), at::full({2}, 1.25)));
}

TEST_CASE("sharded pytorch_model.bin.index.json directory") {
  const auto& f = fixture();
  const std::string dir = f.dir + "/sharded";
  CHECK(io::has_weights(dir));
  require_matches_python(io::load_weights_dir(dir), f.expected["sharded"]);
}

TEST_CASE("pickles that are not tensor state dicts are refused, never executed") {
  const auto& f = fixture();
  std::string message = load_error(f.dir + "/evil.bin");
  CHECK_THAT(message, Catch::Contains("evil.bin") && Catch::Contains("system") &&
                          Catch::Contains("unsupported object"));
  CHECK_FALSE(std::filesystem::exists(f.dir + "/PWNED"));

  message = load_error(f.dir + "/not_tensor.bin");
  CHECK_THAT(message, Catch::Contains("not_tensor.bin") && Catch::Contains("'step'") &&
                          Catch::Contains("not a tensor"));
  message = load_error(f.dir + "/list.bin");
  CHECK_THAT(message, Catch::Contains("list.bin") && Catch::Contains("not a state dict"));
}
