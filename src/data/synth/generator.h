// Entry point of the synthetic suite: `adallava data synth` calls generate_suite().
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace adallava::synth {

// Bumped whenever the output for a given seed and options changes.
extern const char* const kGeneratorVersion;
// Pieces of the suite's tokenizer.model (a small corpus may support fewer).
constexpr int kTokenizerVocabSize = 1024;

struct SynthOptions {
  std::string out_dir;
  uint64_t seed = 0;
  std::string size = "default";  // tiny | small | default
  // The held-out benchmark sets at another preset's size ("" = same as `size`): the demo trains
  // on `default` and evaluates a budget sweep of many models on `small` sets.
  std::string eval_size;
  int image_size = 96;
  // Replace an existing suite in out_dir (only one this generator wrote: manifest.json says so).
  bool force = false;
};

// Writes the whole suite (see docs/synthetic-suite.md) and returns the top-level manifest.
// Throws adallava::Error for bad options or an out_dir that is not empty.
nlohmann::ordered_json generate_suite(const SynthOptions& options);

}  // namespace adallava::synth
