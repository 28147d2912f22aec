// Every checkpoint layout of the golden llava-tiny folder loads to the same tensors.
#include <catch2/catch.hpp>

#include <filesystem>

#include "common/error.h"
#include "io/weights.h"
#include "io_test_util.h"

namespace io = adallava::io;
using adallava::test::golden;

namespace {

void require_matches_listing(const io::StateDict& loaded, const std::string& listing_file) {
  const auto listing = adallava::test::read_listing(golden("llava-tiny/" + listing_file));
  REQUIRE(!listing.empty());
  for (const auto& expected : listing) {
    INFO(listing_file << ": " << expected.name);
    REQUIRE(loaded.count(expected.name) == 1);
    const at::Tensor& t = loaded.at(expected.name);
    const char* dtype = t.scalar_type() == at::kFloat  ? "F32"
                        : t.scalar_type() == at::kHalf ? "F16"
                                                       : "other";
    CHECK(dtype == expected.dtype);
    CHECK(adallava::test::shape_text(t.sizes()) == expected.shape);
  }
}

}  // namespace

TEST_CASE("clip_vision: safetensors and pytorch_model.bin hold identical tensors") {
  const auto st = io::load_safetensors(golden("llava-tiny/clip_vision/model.safetensors"));
  const auto bin = io::load_torch_bin(golden("llava-tiny/clip_vision/pytorch_model.bin"));
  REQUIRE(st.size() == 55);
  require_matches_listing(st, "tensors_clip_vision_model.safetensors.txt");
  adallava::test::require_same_state_dict(st, bin);
  for (const auto& [name, t] : bin) {
    INFO(name);
    CHECK(t.is_contiguous());
  }
}

TEST_CASE("llava15_orig: safetensors and pytorch_model.bin hold identical tensors") {
  const auto st = io::load_safetensors(golden("llava-tiny/llava15_orig/model.safetensors"));
  const auto bin = io::load_torch_bin(golden("llava-tiny/llava15_orig/pytorch_model.bin"));
  REQUIRE(st.size() == 43);
  require_matches_listing(st, "tensors_llava15_orig_model.safetensors.txt");
  adallava::test::require_same_state_dict(st, bin);
  // load_weights_dir prefers the safetensors file and returns the same dict.
  adallava::test::require_same_state_dict(io::load_weights_dir(golden("llava-tiny/llava15_orig")),
                                          st);
  CHECK(io::has_weights(golden("llava-tiny/llava15_orig")));
}

TEST_CASE("llava15_hf: safetensors and pytorch_model.bin hold identical tensors") {
  const auto st = io::load_safetensors(golden("llava-tiny/llava15_hf/model.safetensors"));
  const auto bin = io::load_torch_bin(golden("llava-tiny/llava15_hf/pytorch_model.bin"));
  REQUIRE(st.size() == 98);
  require_matches_listing(st, "tensors_llava15_hf_model.safetensors.txt");
  adallava::test::require_same_state_dict(st, bin);
}

TEST_CASE("sharded checkpoint loads every tensor of all three shards") {
  const auto sharded = io::load_weights_dir(golden("llava-tiny/llava15_orig_sharded"));
  size_t listed = 0;
  for (int shard = 1; shard <= 3; ++shard) {
    const std::string listing = "tensors_llava15_orig_sharded_model-0000" + std::to_string(shard) +
                                "-of-00003.safetensors.txt";
    require_matches_listing(sharded, listing);
    listed += adallava::test::read_listing(golden("llava-tiny/" + listing)).size();
  }
  REQUIRE(sharded.size() == listed);
  REQUIRE(listed == 98);

  // Same LLM and projector as llava15_orig; the embedded tower equals clip_vision.
  const auto orig = io::load_safetensors(golden("llava-tiny/llava15_orig/model.safetensors"));
  for (const auto& [name, t] : orig) {
    INFO(name);
    REQUIRE(sharded.count(name) == 1);
    CHECK(at::equal(sharded.at(name), t));
  }
  const auto tower = io::load_safetensors(golden("llava-tiny/clip_vision/model.safetensors"));
  for (const auto& [name, t] : tower) {
    const std::string embedded = "model.vision_tower.vision_tower." + name;
    INFO(embedded);
    REQUIRE(sharded.count(embedded) == 1);
    CHECK(at::equal(sharded.at(embedded), t));
  }
}

TEST_CASE("float16 checkpoint keeps its dtype and matches float32 to half precision") {
  const auto f16 = io::load_weights_dir(golden("llava-tiny/llava15_orig_f16"));
  require_matches_listing(f16, "tensors_llava15_orig_f16_model.safetensors.txt");
  const auto f32 = io::load_safetensors(golden("llava-tiny/llava15_orig/model.safetensors"));
  REQUIRE(f16.size() == f32.size());
  for (const auto& [name, t] : f16) {
    INFO(name);
    REQUIRE(t.scalar_type() == at::kHalf);
    const at::Tensor reference = f32.at(name);
    // Round-to-nearest float16: relative error <= 2^-11 for normal values.
    const at::Tensor error = (t.to(at::kFloat) - reference).abs();
    const at::Tensor bound = reference.abs() * (1.0 / 2048) + 6e-8;
    CHECK(at::le(error, bound).all().item<bool>());
    // And it is exactly what PyTorch's own cast gives.
    CHECK(at::equal(reference.to(at::kHalf), t));
  }
}

TEST_CASE("load_weights_dir falls back to pytorch_model.bin and reports empty directories") {
  const std::string dir = adallava::test::scratch_dir("io_weights_dir_fallback");
  CHECK_FALSE(io::has_weights(dir));
  try {
    io::load_weights_dir(dir);
    FAIL("no error for an empty directory");
  } catch (const adallava::Error& e) {
    const std::string message = e.what();
    CHECK(message.find(dir) != std::string::npos);
    for (const char* name : {"model.safetensors.index.json", "model.safetensors",
                             "pytorch_model.bin.index.json", "pytorch_model.bin"}) {
      CHECK(message.find(name) != std::string::npos);
    }
  }
  CHECK_THROWS_WITH(io::load_weights_dir(dir + "/absent"), Catch::Contains(dir + "/absent"));

  std::filesystem::copy_file(golden("llava-tiny/clip_vision/pytorch_model.bin"),
                             dir + "/pytorch_model.bin");
  CHECK(io::has_weights(dir));
  adallava::test::require_same_state_dict(
      io::load_weights_dir(dir),
      io::load_safetensors(golden("llava-tiny/clip_vision/model.safetensors")));
}
