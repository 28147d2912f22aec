// Python interop: Debian's python3-torch (1.13) loads model.pt with torch.jit.load, reads the
// extra files and calls the documented methods; its results must equal the C++ runtime's.
// Tolerances: tokens, plans and k identical; last-position logits max |diff| <= 1e-6 (same
// TorchScript code on the same weights; measured values are printed). Python reads the inputs
// from llava-tiny/ref/*.npy, which the AdaLLaVA references copied.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "runtime/format.h"
#include "runtime/pipeline.h"
#include "runtime_fixture.h"

using namespace adallava;
using namespace adallava::test;

namespace {

const char* kScript = R"PY(
import json, sys
import numpy as np
import torch

path, ref_dir, budget = sys.argv[1], sys.argv[2], float(sys.argv[3])
files = {"adallava_format_version": "", "adallava_config.json": "", "tokenizer.model": "",
         "preprocess.json": ""}
m = torch.jit.load(path, _extra_files=files)
ids = torch.from_numpy(np.load(ref_dir + "/input_ids.npy")).long()
pixels = torch.from_numpy(np.load(ref_dir + "/input_pixel_values.npy")).float()
out = {"format_version": int(files["adallava_format_version"]),
       "config_format_version": json.loads(files["adallava_config.json"])["format_version"],
       "tokenizer_bytes": len(files["tokenizer.model"]),
       "method_format_version": m.format_version()}
features = m.encode_image(pixels)
logits, cache, plan = m.prefill(ids, features, budget, 8, False)
out["units"] = m.budget_to_units(budget)
out["plan_heads"] = m.plan_heads(plan)
out["last_logits"] = [float(x) for x in logits[-1]]
tokens = []
step_logits = logits[-1]
for i in range(8):
    t = int(step_logits.argmax())
    tokens.append(t)
    if i == 7:
        break
    step_logits, cache = m.decode_step(t, cache, plan)
out["decode_tokens"] = tokens
out["generate_tokens"] = m.generate(ids, pixels, budget, 8, False).tolist()
try:
    m.budget_to_units(1.5)
    out["budget_error"] = ""
except Exception as e:
    out["budget_error"] = str(e)
print(json.dumps(out))
)PY";

void check(const std::string& checkpoint, const std::string& name, const std::string& ref_dir,
           double budget) {
  const std::string model = export_artifact(checkpoint, name);
  const std::string scratch = scratch_dir("runtime-python-" + name);
  { std::ofstream(scratch + "/interop.py") << kScript; }
  auto r = run_command("/usr/bin/python3 " + scratch + "/interop.py " + model + " " +
                           golden("llava-tiny/ref") + " " + std::to_string(budget),
                       scratch);
  INFO("python stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  auto py = nlohmann::json::parse(r.out);

  auto pipeline = runtime::ExportedPipeline::load(model);
  const std::string ref = ref_dir + "/reference.safetensors";
  auto ids = golden_ids(ref, "input_ids");
  auto pixels = golden_tensor(ref, "input_pixel_values");
  torch::NoGradGuard no_grad;
  auto p = pipeline.model.prefill(ids, pipeline.model.encode_image(pixels), budget, 8);
  runtime::AnswerOptions opts;
  opts.budget = budget;
  opts.max_new_tokens = 8;
  opts.stop_at_eos = false;
  auto ans = pipeline.answer_ids(ids, pixels, opts);

  auto py_logits = torch::tensor(py["last_logits"].get<std::vector<double>>());
  const double d = max_abs_diff(py_logits, p.logits[-1]);
  INFO(name << " budget " << budget << ": python vs C++ last logits " << d);
  CHECK(d <= 1e-6);
  CHECK(py["format_version"] == exported::kFormatVersion);
  CHECK(py["config_format_version"] == exported::kFormatVersion);
  CHECK(py["method_format_version"] == exported::kFormatVersion);
  CHECK(py["tokenizer_bytes"].get<size_t>() == pipeline.model.artifact().tokenizer_model.size());
  CHECK(py["units"].get<int64_t>() == ans.units);
  CHECK(py["plan_heads"].get<std::vector<int64_t>>() == ans.plan_heads);
  CHECK(py["decode_tokens"].get<std::vector<int64_t>>() == ans.tokens);
  CHECK(py["generate_tokens"].get<std::vector<int64_t>>() == ans.tokens);
  CHECK_THAT(py["budget_error"].get<std::string>(),
             Catch::Contains("latency budget must be between 0 and 1"));
}

}  // namespace

TEST_CASE("python3-torch runs the exported AdaLLaVA-H model like the C++ runtime",
          "[runtime][python]") {
  check("adallava/ada_H", "ada_H", "adallava/infer_H", 0.75);
}

TEST_CASE("python3-torch runs the exported AdaLLaVA-L model like the C++ runtime",
          "[runtime][python]") {
  check("adallava/ada_L", "ada_L", "adallava/infer_L", 0.5);
}

TEST_CASE("python3-torch runs the exported plain LLaVA model like the C++ runtime",
          "[runtime][python]") {
  check("llava-tiny/llava15_orig", "plain", "llava-tiny/ref", 1.0);
}
