// Bad artifacts and bad arguments: every case is a clear adallava::Error naming the file and the
// problem (library), or exit code 1 with that message on stderr (CLI) -- never a crash.
#include <catch2/catch.hpp>

#include <caffe2/serialize/inline_container.h>
#include <torch/script.h>

#include "common/error.h"
#include "runtime/format.h"
#include "runtime/pipeline.h"
#include "runtime_fixture.h"

using namespace adallava;
using namespace adallava::test;

namespace {

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void expect_load_error(const std::string& path, const std::string& fragment) {
  try {
    runtime::ExportedModel::load(path);
    FAIL("loaded " << path);
  } catch (const Error& e) {
    INFO(e.what());
    CHECK_THAT(e.what(), Catch::Contains(path));
    CHECK_THAT(e.what(), Catch::Contains(fragment));
  }
}

// Offset of the largest tensor record (the bulk of any real model file).
size_t largest_tensor_offset(const std::string& path, size_t* size) {
  caffe2::serialize::PyTorchStreamReader reader(path);
  size_t best = 0, best_size = 0;
  for (const auto& name : reader.getAllRecords()) {
    if (name.rfind("data/", 0) != 0) continue;
    auto [data, n] = reader.getRecord(name);
    if (n > best_size) {
      best_size = n;
      best = reader.getRecordOffset(name);
    }
  }
  *size = best_size;
  return best;
}

}  // namespace

TEST_CASE("missing, truncated and non-zip files are rejected", "[runtime][errors]") {
  const std::string dir = scratch_dir("runtime-bad-files");
  expect_load_error(dir + "/absent.pt", "not found");
  const std::string good = slurp(export_artifact("adallava/ada_L", "ada_L"));
  for (size_t keep : {good.size() / 2, good.size() - 10, size_t{100}, size_t{0}}) {
    const std::string path = dir + "/truncated_" + std::to_string(keep) + ".pt";
    write_bytes(path, good.substr(0, keep));
    expect_load_error(path, "truncated or corrupted");
  }
  write_bytes(dir + "/text.pt", "this is not a model\n");
  expect_load_error(dir + "/text.pt", "truncated or corrupted");
}

TEST_CASE("corrupted weight bytes are caught by the export digests", "[runtime][errors]") {
  const std::string dir = scratch_dir("runtime-bad-bytes");
  const std::string source = export_artifact("adallava/ada_H", "ada_H");
  std::string bytes = slurp(source);
  size_t size = 0;
  const size_t offset = largest_tensor_offset(source, &size);
  REQUIRE(size > 1000);
  bytes[offset + size / 2] = static_cast<char>(bytes[offset + size / 2] ^ 0x5A);
  write_bytes(dir + "/flipped.pt", bytes);
  expect_load_error(dir + "/flipped.pt", "corrupted (digest mismatch)");

  // The same file loads when verification is switched off (the digest is what catches it).
  runtime::ArtifactOptions no_verify;
  no_verify.verify_weights = false;
  CHECK_NOTHROW(runtime::ExportedModel::load(dir + "/flipped.pt", no_verify));

  // Garbage over the archive's central directory (end of file).
  std::string tail = slurp(source);
  for (size_t i = tail.size() - 40; i < tail.size() - 4; ++i) tail[i] = '\x7f';
  write_bytes(dir + "/bad_directory.pt", tail);
  expect_load_error(dir + "/bad_directory.pt", "truncated or corrupted");
}

TEST_CASE("artifacts of another format version or without adallava metadata are rejected",
          "[runtime][errors]") {
  const std::string dir = scratch_dir("runtime-bad-version");
  const std::string source = export_artifact("adallava/ada_L", "ada_L");
  torch::jit::ExtraFilesMap extra = {{exported::kConfigFile, ""},
                                     {exported::kTokenizerFile, ""},
                                     {exported::kPreprocessFile, ""},
                                     {exported::kSourceConfigFile, ""}};
  auto module = torch::jit::load(source, torch::kCPU, extra);
  extra[exported::kVersionFile] = std::to_string(exported::kFormatVersion + 1);
  module.save(dir + "/future.pt", extra);
  expect_load_error(
      dir + "/future.pt",
      "format version " + std::to_string(exported::kFormatVersion + 1) + " is not supported");

  torch::jit::Module plain("__torch__.NotOurs");
  plain.define("def forward(self, x: Tensor) -> Tensor:\n  return x\n");
  plain.save(dir + "/foreign.pt");
  expect_load_error(dir + "/foreign.pt", "not an adallava exported model");
}

TEST_CASE("budgets out of range and non-1.0 budgets for plain LLaVA are clear errors",
          "[runtime][errors]") {
  auto ada = runtime::ExportedModel::load(export_artifact("adallava/ada_L", "ada_L"));
  for (double b : {-0.1, 1.05, std::nan("")}) {
    INFO("budget " << b);
    CHECK_THROWS_WITH(ada.budget_to_units(b), Catch::Contains("between 0 and 1"));
  }
  auto plain = runtime::ExportedModel::load(export_artifact("llava-tiny/llava15_orig", "plain"));
  CHECK(plain.budget_to_units(1.0) == 0);
  CHECK_THROWS_WITH(plain.budget_to_units(0.6), Catch::Contains("budget 1.0 only"));
  // Errors raised inside the TorchScript methods come back as one readable line.
  CHECK_THROWS_WITH(plain.prefill({1, 5000}, torch::Tensor(), 1.0, 0),
                    Catch::Contains("token id 5000 is outside the vocabulary of 512 entries"));
}

TEST_CASE("run-exported: bad inputs exit with code 1 and a one-line message", "[runtime][cli]") {
  const std::string dir = scratch_dir("runtime-bad-cli");
  const std::string ada = export_artifact("adallava/ada_H", "ada_H");
  const std::string plain = export_artifact("llava-tiny/llava15_orig", "plain");
  const std::string image = golden("llava-tiny/ref/synthetic_150x100.png");
  write_bytes(dir + "/truncated.pt", slurp(ada).substr(0, 5000));
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"--model " + ada + " --image " + image + " --prompt hi --budget 1.5", "between 0 and 1"},
      {"--model " + ada + " --image " + image + " --prompt hi --budget -0.2", "between 0 and 1"},
      {"--model " + plain + " --image " + image + " --prompt hi --budget 0.5", "budget 1.0 only"},
      {"--model " + dir + "/truncated.pt --image " + image + " --prompt hi",
       "truncated or corrupted"},
      {"--model " + dir + "/absent.pt --prompt hi", "not found"},
      {"--model " + ada + " --image " + dir + "/absent.png --prompt hi", "absent.png"},
  };
  for (const auto& c : cases) {
    auto r = run_command(adallava_bin() + " run-exported " + c.args, dir);
    // main.cpp reports errors through spdlog (one line, on the console sink).
    INFO(c.args << "\noutput: " << r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.out + r.err, Catch::Contains(c.message));
  }
}
