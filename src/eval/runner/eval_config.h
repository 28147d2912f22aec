// Benchmark configurations (configs/eval/<benchmark>.yaml): where a benchmark's question,
// image and annotation files live and how LLaVA-1.5's scripts run it. Read with the same YAML
// schema machinery as training configs, so errors name file, line and key.
//
// Paths are relative to `data_root`/`folder` (LLaVA's playground/data/eval/<benchmark>); absolute
// paths are kept. A suite config lists benchmark configs (`suite: [vqav2.yaml, ...]`, relative
// to the suite file) and may set shared keys (e.g. batch_size) that apply to every member.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace adallava::eval {

struct EvalConfig {
  std::string benchmark;  // vqav2, gqa, textvqa, scienceqa, pope, mme, mmbench
  std::string data_root = "playground/data/eval";
  std::string folder;           // the benchmark's folder under data_root
  std::string questions;        // question file (.jsonl, ScienceQA .json, MMBench .tsv)
  std::string image_folder;     // LLaVA's --image-folder (unused for MMBench: base64 images)
  std::string annotations;      // what `eval score --annotations` takes ("" = none)
  std::string score_questions;  // POPE: llava_pope_test.jsonl for the scorer ("" = beside labels)
  std::string vqa_annotations;  // VQAv2: official annotation JSON for local VQA accuracy
  std::string conv_mode = "vicuna_v1";
  int64_t max_new_tokens = 128;
  bool single_pred_prompt = false;  // ScienceQA/MMBench --single-pred-prompt
  bool all_rounds = false;          // MMBench --all-rounds (every option rotation per row)
  int64_t batch_size = 8;
  std::vector<std::string> suite;  // suite configs only
  std::string source;              // the YAML file this came from

  // data_root/folder/path unless path is absolute or empty.
  std::string resolve(const std::string& path) const;
};

// Reads one config file (a benchmark config or a suite config: suites expand to their members,
// in listed order) and applies `overrides` ("key=value", as `adallava train`) to each result.
std::vector<EvalConfig> load_eval_configs(const std::string& path,
                                          const std::vector<std::string>& overrides = {});

// The key reference (Markdown table) for docs.
std::string eval_config_reference();

}  // namespace adallava::eval
