// Corrupt or incomplete checkpoints give adallava::Error naming the file, never a crash.
#include <catch2/catch.hpp>

#include <filesystem>
#include <random>

#include "common/error.h"
#include "io/weights.h"
#include "io_test_util.h"

namespace io = adallava::io;
namespace fs = std::filesystem;
using adallava::test::golden;

namespace {

template <typename Load>
std::string error_of(Load&& load, const std::string& path) {
  try {
    load(path);
  } catch (const adallava::Error& e) {
    return e.what();
  }
  FAIL("no adallava::Error for " << path);
  return {};
}

std::string safetensors_error(const std::string& path) {
  return error_of([](const std::string& p) { io::load_safetensors(p); }, path);
}

std::string bin_error(const std::string& path) {
  return error_of([](const std::string& p) { io::load_torch_bin(p); }, path);
}

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

std::string with_header(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

}  // namespace

TEST_CASE("corrupt safetensors files") {
  const std::string dir = adallava::test::scratch_dir("io_bad_safetensors");
  const std::string golden_bytes =
      adallava::test::read_bytes(golden("llava-tiny/llava15_orig/model.safetensors"));
  const std::string data(64, '\0');
  struct Case {
    std::string name, bytes, problem;
  };
  const std::vector<Case> cases = {
      {"truncated", golden_bytes.substr(0, golden_bytes.size() / 2), "past the end of the data"},
      {"tiny", "abc", "truncated"},
      {"header_past_end", le64(1u << 20) + "{}", "past the end of the file"},
      {"invalid_json", with_header("{\"a\": [1, 2", data), "not valid JSON"},
      {"offsets_outside",
       with_header(R"({"w":{"dtype":"F32","shape":[32],"data_offsets":[0,128]}})", data),
       "past the end of the data buffer"},
      {"overlapping",
       with_header(R"({"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]},)"
                   R"("b":{"dtype":"F32","shape":[8],"data_offsets":[16,48]}})",
                   data),
       "overlapping"},
      {"unknown_dtype",
       with_header(R"({"w":{"dtype":"F4","shape":[16],"data_offsets":[0,64]}})", data),
       "unknown safetensors dtype 'F4'"},
      {"unsupported_dtype",
       with_header(R"({"w":{"dtype":"U32","shape":[16],"data_offsets":[0,64]}})", data),
       "no LibTorch equivalent"},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      const std::string path = dir + "/" + c.name + ".safetensors";
      adallava::test::write_bytes(path, c.bytes);
      const std::string message = safetensors_error(path);
      INFO(message);
      CHECK(message.find(path) != std::string::npos);
      CHECK(message.find(c.problem) != std::string::npos);
    }
  }
  SECTION("missing file") {
    CHECK_THAT(safetensors_error(dir + "/none.safetensors"), Catch::Contains("none.safetensors"));
  }
}

TEST_CASE("sharded safetensors with a missing shard names the index and the shard") {
  const std::string dir = adallava::test::scratch_dir("io_missing_shard");
  const std::string src = golden("llava-tiny/llava15_orig_sharded");
  fs::copy_file(src + "/model.safetensors.index.json", dir + "/model.safetensors.index.json");
  fs::copy_file(src + "/model-00001-of-00003.safetensors",
                dir + "/model-00001-of-00003.safetensors");
  fs::copy_file(src + "/model-00003-of-00003.safetensors",
                dir + "/model-00003-of-00003.safetensors");
  CHECK(io::has_weights(dir));
  const std::string message = error_of([](const std::string& d) { io::load_weights_dir(d); }, dir);
  INFO(message);
  CHECK(message.find(dir + "/model.safetensors.index.json") != std::string::npos);
  CHECK(message.find("model-00002-of-00003.safetensors") != std::string::npos);
  CHECK(message.find("missing") != std::string::npos);

  // A shard that lacks a tensor the index promises.
  fs::copy_file(src + "/model-00003-of-00003.safetensors",
                dir + "/model-00002-of-00003.safetensors");
  const std::string wrong = error_of([](const std::string& d) { io::load_weights_dir(d); }, dir);
  INFO(wrong);
  CHECK(wrong.find("model-00002-of-00003.safetensors") != std::string::npos);
  CHECK(wrong.find("does not hold it") != std::string::npos);

  // An index that is not valid JSON.
  adallava::test::write_bytes(dir + "/model.safetensors.index.json", "{\"weight_map\": ");
  CHECK_THAT(error_of([](const std::string& d) { io::load_weights_dir(d); }, dir),
             Catch::Contains("model.safetensors.index.json"));
}

TEST_CASE("truncated and corrupt pytorch_model.bin") {
  const std::string dir = adallava::test::scratch_dir("io_bad_bin");
  const std::string bytes =
      adallava::test::read_bytes(golden("llava-tiny/clip_vision/pytorch_model.bin"));

  SECTION("truncated at many lengths") {
    for (size_t length : {size_t{0}, size_t{10}, size_t{100}, bytes.size() / 3, bytes.size() / 2,
                          bytes.size() - 200, bytes.size() - 1}) {
      const std::string path = dir + "/truncated_" + std::to_string(length) + ".bin";
      adallava::test::write_bytes(path, bytes.substr(0, length));
      const std::string message = bin_error(path);
      INFO(message);
      CHECK(message.find(path) != std::string::npos);
    }
  }

  SECTION("not a zip file") {
    const std::string path = dir + "/text.bin";
    adallava::test::write_bytes(path, std::string(4096, 'x'));
    CHECK_THAT(bin_error(path), Catch::Contains(path) && Catch::Contains("PyTorch zip checkpoint"));
  }

  SECTION("missing file") {
    CHECK_THAT(bin_error(dir + "/none.bin"), Catch::Contains("none.bin"));
  }

  // LibTorch builds its zip reader without CRC checks, so a flipped byte can go unnoticed (for
  // instance inside tensor data, which has no checksum in safetensors either). What must hold is
  // that every outcome is a clean load or an adallava::Error naming the file.
  auto try_load = [&](const std::string& corrupt, int* errors, int* loaded) {
    const std::string path = dir + "/corrupt.bin";
    adallava::test::write_bytes(path, corrupt);
    try {
      io::load_torch_bin(path);
      ++*loaded;
    } catch (const adallava::Error& e) {
      ++*errors;
      INFO(e.what());
      REQUIRE(std::string(e.what()).find(path) != std::string::npos);
    }
  };

  SECTION("every third byte of data.pkl flipped in turn") {
    // data.pkl is stored uncompressed after its local header (name + alignment padding).
    const std::string record_name = "pytorch_model/data.pkl";
    const size_t name_at = bytes.find(record_name);
    REQUIRE(name_at >= 30);
    const size_t extra_length = static_cast<uint8_t>(bytes[name_at - 2]) |
                                static_cast<size_t>(static_cast<uint8_t>(bytes[name_at - 1])) << 8;
    const size_t pickle_at = name_at + record_name.size() + extra_length;
    // The writer streams records, so sizes sit in the data descriptor that follows the data.
    const size_t descriptor_at = bytes.find(std::string("PK\x07\x08", 4), pickle_at);
    REQUIRE(descriptor_at != std::string::npos);
    const size_t pickle_size = descriptor_at - pickle_at;
    REQUIRE(pickle_size > 1000);
    REQUIRE(bytes.substr(pickle_at, 2) == "\x80\x02");  // PROTO 2: we found the pickle
    int errors = 0, loaded = 0, trials = 0;
    for (size_t offset = 0; offset < pickle_size; offset += 3) {
      ++trials;
      std::string corrupt = bytes;
      corrupt[pickle_at + offset] = static_cast<char>(corrupt[pickle_at + offset] ^ 0x5a);
      try_load(corrupt, &errors, &loaded);
    }
    INFO("data.pkl flips: " << errors << " errors, " << loaded << " loads of " << trials);
    CHECK(errors + loaded == trials);
    // Flips inside tensor names or numbers can still decode; opcode flips cannot.
    CHECK(errors > trials / 3);
  }

  SECTION("random flips in the zip directory and anywhere in the file") {
    std::mt19937 rng(1234);
    int errors = 0, loaded = 0;
    for (int trial = 0; trial < 300; ++trial) {
      std::string corrupt = bytes;
      // Half the trials hit the central directory at the end, where the zip structure lives.
      const size_t region = trial % 2 == 0 ? corrupt.size() : 8000;
      for (int k = 0; k < 3; ++k) {
        const size_t at = corrupt.size() - 1 - rng() % region;
        corrupt[at] = static_cast<char>(rng() & 0xff);
      }
      try_load(corrupt, &errors, &loaded);
    }
    INFO("random flips: " << errors << " errors, " << loaded << " loads of 300");
    CHECK(errors + loaded == 300);
    CHECK(errors > 0);
  }
}
