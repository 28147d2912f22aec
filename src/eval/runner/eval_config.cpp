#include "eval/runner/eval_config.h"

#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.h"
#include "common/files.h"
#include "config/resolved_config.h"
#include "config/schema.h"
#include "eval/scorers/benchmarks.h"

namespace adallava::eval {
namespace {

namespace fs = std::filesystem;
using config::key;

const config::Schema& eval_schema() {
  static const config::Schema schema = [] {
    config::Schema s;
    s.add(key(ADALLAVA_CONFIG_FIELD(EvalConfig, benchmark))
              .def("")
              .help("Benchmark: vqav2, gqa, textvqa, scienceqa, pope, mme or mmbench (required "
                    "unless the file is a suite)"));
    s.add(key(ADALLAVA_CONFIG_FIELD(EvalConfig, data_root))
              .path()
              .def("playground/data/eval")
              .help("Folder holding the benchmark folders (LLaVA's playground/data/eval); "
                    "relative to the working directory; `adallava eval --data-root` overrides"));
    s.add(key(ADALLAVA_CONFIG_FIELD(EvalConfig, folder))
              .def("")
              .help("The benchmark's folder under data_root"));
    s.add(
        key(ADALLAVA_CONFIG_FIELD(EvalConfig, questions))
            .def("")
            .help("Question file: LLaVA .jsonl, ScienceQA llava_test_CQM-A.json or MMBench .tsv"));
    s.add(key(ADALLAVA_CONFIG_FIELD(EvalConfig, image_folder))
              .def("")
              .help("Image folder (LLaVA's --image-folder)"));
    s.add(key(ADALLAVA_CONFIG_FIELD(EvalConfig, annotations))
              .def("")
              .help("What `adallava eval score --annotations` takes for this benchmark"));
    s.add(key(ADALLAVA_CONFIG_FIELD(EvalConfig, score_questions))
              .def("")
              .help("POPE: the question file the scorer zips labels with (default: beside them)"));
    s.add(key(ADALLAVA_CONFIG_FIELD(EvalConfig, vqa_annotations))
              .def("")
              .help("VQAv2: official annotation JSON; when set, VQA accuracy is computed locally"));
    s.add(key(ADALLAVA_CONFIG_FIELD(EvalConfig, conv_mode))
              .one_of({"vicuna_v1", "v1", "llava_v1", "plain"})
              .def("vicuna_v1")
              .help("Conversation template (LLaVA-1.5's eval scripts: vicuna_v1)"));
    s.add(key(ADALLAVA_CONFIG_FIELD(EvalConfig, max_new_tokens))
              .at_least(1)
              .def(128)
              .help("Generation limit (model_vqa_loader: 128; science/mmbench scripts: 1024)"));
    s.add(key(ADALLAVA_CONFIG_FIELD(EvalConfig, single_pred_prompt))
              .def(false)
              .help("Append the answer-with-the-letter instruction (ScienceQA, MMBench)"));
    s.add(key(ADALLAVA_CONFIG_FIELD(EvalConfig, all_rounds))
              .def(false)
              .help("MMBench: ask every row once per rotation of its options"));
    s.add(key(ADALLAVA_CONFIG_FIELD(EvalConfig, batch_size))
              .at_least(1)
              .def(8)
              .help("Questions generated together (grouped by prompt length)"));
    s.add(key(ADALLAVA_CONFIG_FIELD(EvalConfig, suite))
              .def(config::Value(std::vector<std::string>{}))
              .help("Suite file: benchmark config files, relative to this file"));
    return s;
  }();
  return schema;
}

EvalConfig finish(const config::ResolvedConfig& resolved, const std::string& source) {
  auto cfg = resolved.to_struct<EvalConfig>();
  cfg.source = source;
  const auto& known = scorers::known_benchmarks();
  if (cfg.benchmark.empty()) fail("{}: benchmark is not set", source);
  if (std::find(known.begin(), known.end(), cfg.benchmark) == known.end()) {
    fail("{} ({}): unknown benchmark \"{}\"; known benchmarks: {}", source,
         resolved.origin("benchmark"), cfg.benchmark, fmt::join(known, ", "));
  }
  if (cfg.questions.empty()) fail("{}: questions is not set", source);
  if (cfg.benchmark != "mmbench" && cfg.image_folder.empty())
    fail("{}: image_folder is not set", source);
  return cfg;
}

}  // namespace

std::string EvalConfig::resolve(const std::string& path) const {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  fs::path p = data_root;
  if (!folder.empty()) p /= folder;
  return (p / path).lexically_normal().string();
}

std::vector<EvalConfig> load_eval_configs(const std::string& path,
                                          const std::vector<std::string>& overrides) {
  if (!file_exists(path)) fail("{}: eval config not found", path);
  config::ResolvedConfig top(eval_schema());
  top.merge_file(path);
  const auto members = top.get_string_list("suite");
  if (members.empty()) {
    for (const auto& o : overrides) top.apply_override(o);
    return {finish(top, path)};
  }
  if (!top.get_string("benchmark").empty())
    fail("{}: a suite config lists `suite` and must not set `benchmark`", path);
  std::vector<EvalConfig> out;
  for (const auto& member : members) {
    const fs::path member_path =
        fs::path(member).is_absolute() ? fs::path(member) : fs::path(path).parent_path() / member;
    if (!file_exists(member_path.string()))
      fail("{}: suite member {} not found", path, member_path.string());
    config::ResolvedConfig r(eval_schema());
    r.merge_file(member_path.string());
    if (!r.get_string_list("suite").empty())
      fail("{}: nested suites are not supported", member_path.string());
    r.merge_file(path);  // the suite's own keys apply to every member
    r.apply_override("suite=[]");
    for (const auto& o : overrides) r.apply_override(o);
    out.push_back(finish(r, member_path.string()));
  }
  return out;
}

std::string eval_config_reference() {
  return eval_schema().markdown_table();
}

}  // namespace adallava::eval
