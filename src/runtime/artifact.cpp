#include "runtime/artifact.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/script.h>

#include "common/error.h"
#include "common/files.h"
#include "runtime/format.h"

namespace adallava::runtime {
namespace {

std::string first_line(const std::string& s) {
  const auto end = s.find('\n');
  return end == std::string::npos ? s : s.substr(0, end);
}

std::string read_record(caffe2::serialize::PyTorchStreamReader& reader, const std::string& name,
                        const std::string& path) {
  try {
    auto [data, size] = reader.getRecord(name);
    return std::string(static_cast<const char*>(data.get()), size);
  } catch (const c10::Error& e) {
    fail("{}: cannot read record {} (corrupted archive?): {}", path, name,
         first_line(e.what_without_backtrace()));
  }
}

// Reads the version before any TorchScript code is compiled, so an artifact of another format
// gets a version message rather than a compile error.
void check_format_version(const std::string& path) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    fail("{}: not a readable TorchScript archive (truncated or corrupted?): {}", path,
         first_line(e.what_without_backtrace()));
  }
  const std::string record = std::string("extra/") + exported::kVersionFile;
  bool has = false;
  try {
    has = reader->hasRecord(record);
  } catch (const c10::Error& e) {
    fail("{}: corrupted archive: {}", path, first_line(e.what_without_backtrace()));
  }
  if (!has)
    fail("{}: not an adallava exported model (no {}); export it with `adallava export`", path,
         record);
  const std::string text = read_record(*reader, record, path);
  int version = -1;
  try {
    size_t used = 0;
    version = std::stoi(text, &used);
    if (used != text.size()) version = -1;
  } catch (const std::exception&) {
    version = -1;
  }
  if (version < 0) fail("{}: unreadable format version '{}' in {}", path, text, record);
  if (version != exported::kFormatVersion)
    fail(
        "{}: exported model format version {} is not supported by this runtime (it reads "
        "version {}); re-export the checkpoint with this build",
        path, version, exported::kFormatVersion);
}

std::string hex_digest(const void* data, size_t n) {
  return exported::digest_hex(exported::content_digest(data, n));
}

void verify_extra_digests(const Artifact& a, const torch::jit::ExtraFilesMap& extra) {
  const auto& digests = a.config.at("extra_file_digests");
  for (const auto& [name, expected] : digests.items()) {
    auto it = extra.find(name);
    if (it == extra.end()) fail("{}: extra file {} is missing", a.path, name);
    if (hex_digest(it->second.data(), it->second.size()) != expected.get<std::string>())
      fail("{}: extra file {} is corrupted (digest mismatch)", a.path, name);
  }
}

void verify_tensor_digests(const Artifact& a) {
  const auto& expected = a.config.at("tensor_digests");
  size_t seen = 0;
  auto check = [&](const std::string& name, const at::Tensor& t) {
    if (!expected.contains(name)) fail("{}: unexpected tensor {} in the model", a.path, name);
    auto c = t.contiguous();
    if (hex_digest(c.data_ptr(), c.nbytes()) != expected[name].get<std::string>())
      fail("{}: tensor {} is corrupted (digest mismatch)", a.path, name);
    ++seen;
  };
  for (const auto& item : a.module.named_parameters(/*recurse=*/true)) check(item.name, item.value);
  for (const auto& item : a.module.named_buffers(/*recurse=*/true)) check(item.name, item.value);
  if (seen != expected.size())
    fail("{}: the model holds {} tensors but {} were exported", a.path, seen, expected.size());
}

}  // namespace

std::string script_error_message(const std::exception& e) {
  std::string text;
  if (const auto* c10e = dynamic_cast<const c10::Error*>(&e))
    text = c10e->what_without_backtrace();
  else
    text = e.what();
  // The raised message is the last non-empty line, after the interpreter's traceback.
  std::string line;
  size_t end = text.size();
  while (end > 0) {
    size_t start = text.rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    line = text.substr(start, end - start);
    if (line.find_first_not_of(" \t\r") != std::string::npos) break;
    end = start == 0 ? 0 : start - 1;
  }
  for (const char* prefix : {"RuntimeError: ", "builtins.Exception: ", "Exception: ", "Exception:"})
    while (line.rfind(prefix, 0) == 0) line = line.substr(std::string(prefix).size());
  return line.empty() ? text : line;
}

Artifact load_artifact(const std::string& path, const ArtifactOptions& options) {
  if (!file_exists(path)) fail("{}: exported model not found", path);
  check_format_version(path);

  Artifact a;
  a.path = path;
  torch::jit::ExtraFilesMap extra = {{exported::kConfigFile, ""},
                                     {exported::kTokenizerFile, ""},
                                     {exported::kPreprocessFile, ""},
                                     {exported::kSourceConfigFile, ""}};
  try {
    a.module = torch::jit::load(path, torch::kCPU, extra);
  } catch (const std::exception& e) {
    fail("{}: cannot load the TorchScript model (corrupted?): {}", path,
         first_line(script_error_message(e)));
  }
  a.module.eval();
  try {
    a.config = nlohmann::json::parse(extra.at(exported::kConfigFile));
    a.preprocess = nlohmann::json::parse(extra.at(exported::kPreprocessFile));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: corrupted configuration in the archive: {}", path, e.what());
  }
  if (!a.config.is_object() || !a.config.contains("format_version") ||
      !a.config.contains("tensor_digests") || !a.config.contains("extra_file_digests"))
    fail("{}: {} lacks format_version / digests", path, exported::kConfigFile);
  if (a.config["format_version"] != exported::kFormatVersion)
    fail("{}: {} says format version {}, expected {}", path, exported::kConfigFile,
         a.config["format_version"].dump(), exported::kFormatVersion);
  for (const char* method : {"encode_image", "prefill", "decode_step", "generate", "plan_heads",
                             "budget_to_units", "format_version"})
    if (!a.module.find_method(method)) fail("{}: the model has no method {}()", path, method);
  verify_extra_digests(a, extra);
  if (options.verify_weights) verify_tensor_digests(a);
  a.tokenizer_model = extra.at(exported::kTokenizerFile);
  return a;
}

}  // namespace adallava::runtime
