// Held-out evaluation sets in the native file formats of the LLaVA-1.5 benchmarks, each under
// eval/<benchmark>/ with its own images, scenes.jsonl and manifest.json. Each writer returns the
// benchmark's manifest (also written to disk).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "data/synth/questions.h"
#include "data/synth/suite_context.h"

namespace adallava::synth {

ojson write_vqav2(SuiteContext& ctx);
ojson write_gqa(SuiteContext& ctx);
ojson write_textvqa(SuiteContext& ctx);
ojson write_scienceqa(SuiteContext& ctx);
ojson write_pope(SuiteContext& ctx);
ojson write_mme(SuiteContext& ctx);
ojson write_mmbench(SuiteContext& ctx);

// --- helpers shared by the writers ---

struct BenchStats {
  long images = 0;
  long questions = 0;
  std::map<std::string, long> families;
};

// Writes eval/<name>/manifest.json listing `files` (role -> path relative to the benchmark folder).
ojson write_bench_manifest(SuiteContext& ctx, const std::string& name,
                           const std::string& description, const ojson& files,
                           const std::string& image_folder, const std::string& family_field,
                           const BenchStats& stats, const ojson& extra = {});

// Picks `n` distinct families from `allowed` for one image, least-asked first.
std::vector<std::string> plan_families(Balancer& balancer, const std::vector<std::string>& allowed,
                                       int n, Rng& rng);

// Open-ended (non yes/no) templates of a family.
std::vector<std::string> open_templates(const std::string& family);

ojson scene_line(const std::string& key, const ojson& id, const Scene& scene);

}  // namespace adallava::synth

namespace adallava::synth {
// POPE negative sampling (exposed for tests): the first `n` absent colour-shape pair ids
// (colour * 6 + shape) under `split`'s rule, given the pairs present and their image frequencies.
std::vector<int> pope_negatives(const std::string& split, const std::vector<bool>& present,
                                const std::vector<long>& frequency, int n, Rng& rng);
}  // namespace adallava::synth
