#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/safetensors_view.h"
#include "support/paths.h"

using adallava::SafetensorsFile;
using adallava::StDType;
using adallava::StTensorData;

namespace {

struct ListedTensor {
  std::string name, dtype, shape;
};

// tensors_*.txt lines: name <TAB> dtype <TAB> [d0, d1, ...]
std::vector<ListedTensor> read_listing(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<ListedTensor> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    ListedTensor t;
    std::getline(fields, t.name, '\t');
    std::getline(fields, t.dtype, '\t');
    std::getline(fields, t.shape);
    out.push_back(t);
  }
  return out;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Builds a raw safetensors file: the length prefix can be overridden to simulate corruption.
void write_raw(const std::string& path, const std::string& header, const std::string& data,
               int64_t length_override = -1) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  uint64_t length = length_override >= 0 ? static_cast<uint64_t>(length_override) : header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((length >> (8 * i)) & 0xff));
  out << header << data;
}

std::string open_error(const std::string& path) {
  try {
    SafetensorsFile::open(path);
  } catch (const adallava::Error& e) {
    return e.what();
  }
  FAIL("open() accepted a corrupt file: " << path);
  return {};
}

}  // namespace

TEST_CASE("golden llava15_orig safetensors matches its tensor listing") {
  const auto file =
      SafetensorsFile::open(adallava::test::golden("llava-tiny/llava15_orig/model.safetensors"));
  const auto listing =
      read_listing(adallava::test::golden("llava-tiny/tensors_llava15_orig_model.safetensors.txt"));
  REQUIRE(listing.size() == 43);
  REQUIRE(file->names().size() == listing.size());
  for (const auto& expected : listing) {
    INFO(expected.name);
    REQUIRE(file->contains(expected.name));
    const auto& view = file->tensor(expected.name);
    CHECK(adallava::st_dtype_name(view.dtype) == expected.dtype);
    CHECK(shape_text(view.shape) == expected.shape);
  }
  CHECK(file->metadata().at("format") == "pt");
  // names() follows data offsets: the reference writer put lm_head.weight first.
  CHECK(file->names().front() == "lm_head.weight");

  // Non-trivial values: RMSNorm weights are 1 + 0.1 N, so close to but not exactly 1.
  const auto norm = file->read_as_float("model.norm.weight");
  REQUIRE(norm.size() == 64);
  double mean = 0;
  for (float v : norm) mean += v;
  mean /= norm.size();
  CHECK(std::abs(mean - 1.0) < 0.1);
  CHECK(norm[0] != 1.0f);

  CHECK_THROWS_WITH(file->tensor("no.such.tensor"),
                    Catch::Contains("model.safetensors") && Catch::Contains("no.such.tensor"));
}

TEST_CASE("f16 golden converts to the same values as the f32 golden") {
  const auto f32 =
      SafetensorsFile::open(adallava::test::golden("llava-tiny/llava15_orig/model.safetensors"));
  const auto f16 = SafetensorsFile::open(
      adallava::test::golden("llava-tiny/llava15_orig_f16/model.safetensors"));
  for (const auto& name : f32->names()) {
    INFO(name);
    REQUIRE(f16->tensor(name).dtype == StDType::F16);
    const auto a = f32->read_as_float(name);
    const auto b = f16->read_as_float(name);
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      // float16 keeps 11 significant bits: relative error <= 2^-11 (plus subnormal floor).
      REQUIRE(std::abs(a[i] - b[i]) <= std::abs(a[i]) * 4.9e-4f + 6e-8f);
    }
  }
}

TEST_CASE("write_safetensors round trip") {
  const std::string dir = adallava::test::scratch_dir("safetensors_view_roundtrip");
  const std::string path = dir + "/t.safetensors";
  std::vector<float> f32 = {1.5f, -2.25f, 3.0f, 0.0f, 1e-3f, -7.0f};
  std::vector<uint16_t> bf16 = {0x3f80, 0xc000, 0x4049};  // 1, -2, 3.140625
  std::vector<uint16_t> f16 = {0x3c00, 0xc000, 0x0001};   // 1, -2, smallest subnormal
  std::vector<int64_t> i64 = {-5, 0, 1234567};
  std::vector<uint8_t> flags = {1, 0, 1};
  std::map<std::string, StTensorData> tensors;
  tensors["b.f32"] = {StDType::F32, {2, 3}, f32.data(), f32.size() * 4};
  tensors["a.bf16"] = {StDType::BF16, {3}, bf16.data(), bf16.size() * 2};
  tensors["c.f16"] = {StDType::F16, {3, 1}, f16.data(), f16.size() * 2};
  tensors["d.i64"] = {StDType::I64, {3}, i64.data(), i64.size() * 8};
  tensors["e.bool"] = {StDType::Bool, {3}, flags.data(), flags.size()};
  tensors["f.empty"] = {StDType::F32, {0, 4}, nullptr, 0};
  tensors["g.scalar"] = {StDType::F32, {}, f32.data(), 4};
  adallava::write_safetensors(path, tensors, {{"format", "pt"}, {"note", "x"}});

  // Header length is a multiple of 8 and padding is spaces; no temp file left behind.
  std::ifstream raw(path, std::ios::binary);
  uint8_t len_bytes[8];
  raw.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  CHECK(header_len % 8 == 0);
  std::string header(header_len, '\0');
  raw.read(&header[0], header_len);
  CHECK(header.rfind('}') >= header.size() - 8);
  for (size_t i = header.rfind('}') + 1; i < header.size(); ++i) CHECK(header[i] == ' ');
  CHECK_FALSE(std::ifstream(path + ".tmp").good());

  const auto file = SafetensorsFile::open(path);
  CHECK(file->metadata() == std::map<std::string, std::string>{{"format", "pt"}, {"note", "x"}});
  // Data is laid out in name order.
  CHECK(file->names() == std::vector<std::string>{"a.bf16", "b.f32", "c.f16", "d.i64", "e.bool",
                                                  "f.empty", "g.scalar"});
  CHECK(file->read_as_float("b.f32") == f32);
  CHECK(file->tensor("b.f32").shape == std::vector<int64_t>{2, 3});
  CHECK(file->read_as_float("a.bf16") == std::vector<float>{1.0f, -2.0f, 3.140625f});
  CHECK(file->read_as_float("c.f16") == std::vector<float>{1.0f, -2.0f, std::ldexp(1.0f, -24)});
  CHECK(file->read_as_float("d.i64") == std::vector<float>{-5.0f, 0.0f, 1234567.0f});
  CHECK(file->read_as_float("e.bool") == std::vector<float>{1.0f, 0.0f, 1.0f});
  CHECK(file->tensor("f.empty").nbytes == 0);
  CHECK(file->tensor("f.empty").shape == std::vector<int64_t>{0, 4});
  CHECK(file->tensor("g.scalar").shape.empty());
  CHECK(file->read_as_float("g.scalar") == std::vector<float>{1.5f});
  CHECK(std::memcmp(file->tensor("d.i64").data, i64.data(), 24) == 0);

  CHECK_THROWS_WITH(
      adallava::write_safetensors(dir + "/bad.safetensors",
                                  {{"x", StTensorData{StDType::F32, {4}, f32.data(), 8}}}),
      Catch::Contains("bad.safetensors") && Catch::Contains("'x'"));
}

TEST_CASE("dtype names") {
  CHECK(adallava::st_dtype_from_string("BF16", "ctx") == StDType::BF16);
  CHECK(adallava::st_dtype_size(StDType::I64) == 8);
  CHECK(std::string(adallava::st_dtype_name(StDType::Bool)) == "BOOL");
  CHECK_THROWS_WITH(adallava::st_dtype_from_string("F8", "somefile"),
                    Catch::Contains("somefile") && Catch::Contains("F8"));
}

TEST_CASE("corrupt safetensors files are rejected with the file and the problem named") {
  const std::string dir = adallava::test::scratch_dir("safetensors_view_bad");
  const std::string data16(16, '\0');
  auto header_with = [](const std::string& entry) { return std::string("{\"w\":") + entry + "}"; };
  struct Case {
    const char* label;
    std::string header;
    std::string data;
    int64_t length_override;
    std::vector<std::string> expected;  // substrings of the message besides the file name
  };
  const std::vector<Case> cases = {
      {"length_past_end", "{}", "", 1000, {"header length 1000", "past the end"}},
      {"length_huge", "{}", "", int64_t{1} << 40, {"exceeds"}},
      {"invalid_json", "{\"w\": {\"dtype\"", "", -1, {"not valid JSON"}},
      {"not_object", "[1, 2]", "", -1, {"not a JSON object"}},
      {"entry_not_object", header_with("5"), "", -1, {"'w'", "not a JSON object"}},
      {"missing_dtype",
       header_with(R"({"shape":[4],"data_offsets":[0,16]})"),
       data16,
       -1,
       {"'w'", "'dtype'"}},
      {"missing_shape",
       header_with(R"({"dtype":"F32","data_offsets":[0,16]})"),
       data16,
       -1,
       {"'w'", "'shape'"}},
      {"missing_offsets",
       header_with(R"({"dtype":"F32","shape":[4]})"),
       data16,
       -1,
       {"'w'", "'data_offsets'"}},
      {"unknown_dtype",
       header_with(R"({"dtype":"F8","shape":[4],"data_offsets":[0,16]})"),
       data16,
       -1,
       {"'w'", "unknown safetensors dtype 'F8'"}},
      {"negative_shape",
       header_with(R"({"dtype":"F32","shape":[-4],"data_offsets":[0,16]})"),
       data16,
       -1,
       {"'w'", "negative dimension -4"}},
      {"float_shape",
       header_with(R"({"dtype":"F32","shape":[4.5],"data_offsets":[0,16]})"),
       data16,
       -1,
       {"'w'", "not an integer"}},
      {"begin_after_end",
       header_with(R"({"dtype":"F32","shape":[0],"data_offsets":[16,8]})"),
       data16,
       -1,
       {"'w'", "begin 16 is after end 8"}},
      {"end_past_data",
       header_with(R"({"dtype":"F32","shape":[8],"data_offsets":[0,32]})"),
       data16,
       -1,
       {"'w'", "end 32 is past the end of the data buffer"}},
      {"size_mismatch",
       header_with(R"({"dtype":"F32","shape":[3],"data_offsets":[0,16]})"),
       data16,
       -1,
       {"'w'", "hold 16 bytes", "needs 12"}},
      {"bad_offsets",
       header_with(R"({"dtype":"F32","shape":[4],"data_offsets":[0]})"),
       data16,
       -1,
       {"'w'", "data_offsets must be two integers"}},
      {"overlap",
       R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
       data16,
       -1,
       {"'a'", "'b'", "overlapping"}},
      {"metadata_not_string",
       R"({"__metadata__":{"format":1}})",
       "",
       -1,
       {"__metadata__", "'format'", "not a string"}},
      {"metadata_not_object",
       R"({"__metadata__":[1]})",
       "",
       -1,
       {"__metadata__", "not a JSON object"}},
  };
  for (const auto& c : cases) {
    SECTION(c.label) {
      const std::string path = dir + "/" + c.label + ".safetensors";
      write_raw(path, c.header, c.data, c.length_override);
      const std::string message = open_error(path);
      INFO(message);
      CHECK(message.find(path) != std::string::npos);
      for (const auto& piece : c.expected) CHECK(message.find(piece) != std::string::npos);
    }
  }

  SECTION("short files") {
    for (size_t size : {0, 3, 7}) {
      const std::string path = dir + "/short" + std::to_string(size) + ".safetensors";
      std::ofstream(path, std::ios::binary) << std::string(size, '\x01');
      const std::string message = open_error(path);
      INFO(message);
      CHECK(message.find(path) != std::string::npos);
      CHECK(message.find("truncated") != std::string::npos);
    }
  }

  SECTION("truncated golden file") {
    std::ifstream in(adallava::test::golden("llava-tiny/llava15_orig/model.safetensors"),
                     std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string path = dir + "/truncated.safetensors";
    std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() - 100);
    const std::string message = open_error(path);
    INFO(message);
    CHECK(message.find(path) != std::string::npos);
    CHECK(message.find("past the end of the data buffer") != std::string::npos);
  }

  SECTION("missing file") {
    const std::string message = open_error(dir + "/absent.safetensors");
    CHECK(message.find("absent.safetensors") != std::string::npos);
  }

  SECTION("empty-sized tensors may share an offset and a valid file opens") {
    const std::string path = dir + "/ok.safetensors";
    write_raw(path,
              R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
              R"("z":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}})",
              data16);
    const auto file = SafetensorsFile::open(path);
    CHECK(file->names() == std::vector<std::string>{"a", "z"});
  }
}
