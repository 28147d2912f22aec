// Loading and validating an exported model.pt (see runtime/format.h and docs/export.md).
#pragma once

#include <string>

#include <torch/csrc/jit/api/module.h>
#include <nlohmann/json.hpp>

namespace adallava::runtime {

struct Artifact {
  torch::jit::Module module;
  nlohmann::json config;        // extra/adallava_config.json
  std::string tokenizer_model;  // extra/tokenizer.model bytes
  nlohmann::json preprocess;    // extra/preprocess.json
  std::string path;
};

struct ArtifactOptions {
  // Re-hash every tensor against the digests recorded at export (TorchScript's zip reader does
  // not check CRCs, so this is what catches flipped bytes in weights). ~1 s per 5 GB.
  bool verify_weights = true;
};

// Every failure is an adallava::Error naming `path`: missing file, not a zip / truncated,
// not an adallava export, another format version, corrupted records, digest mismatches.
Artifact load_artifact(const std::string& path, const ArtifactOptions& options = {});

// The user-facing line of an exception thrown by TorchScript code (drops the interpreter
// traceback and the "Exception:" prefixes).
std::string script_error_message(const std::exception& e);

}  // namespace adallava::runtime
