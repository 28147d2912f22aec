#include "data/synth/benchmarks.h"

#include <algorithm>

namespace adallava::synth {

ojson write_bench_manifest(SuiteContext& ctx, const std::string& name,
                           const std::string& description, const ojson& files,
                           const std::string& image_folder, const std::string& family_field,
                           const BenchStats& stats, const ojson& extra) {
  ojson m;
  m["benchmark"] = name;
  m["description"] = description;
  m["files"] = files;
  m["image_folder"] = image_folder;
  m["family_field"] = family_field;
  m["scenes"] = "scenes.jsonl";
  ojson counts;
  counts["images"] = stats.images;
  counts["questions"] = stats.questions;
  counts["families"] = family_counts_json(stats.families);
  m["counts"] = counts;
  if (extra.is_object())
    for (auto it = extra.begin(); it != extra.end(); ++it) m[it.key()] = it.value();
  ctx.write_json("eval/" + name + "/manifest.json", m);
  return m;
}

std::vector<std::string> plan_families(Balancer& balancer, const std::vector<std::string>& allowed,
                                       int n, Rng& rng) {
  std::vector<std::string> remaining = allowed, chosen;
  for (int k = 0; k < n && !remaining.empty(); ++k) {
    const std::string f = balancer.next_family(remaining, rng);
    remaining.erase(std::find(remaining.begin(), remaining.end(), f));
    chosen.push_back(f);
  }
  return chosen;
}

std::vector<std::string> open_templates(const std::string& family) {
  std::vector<std::string> out;
  for (const auto& t : family_templates(family))
    if (!is_yes_no_template(t)) out.push_back(t);
  return out;
}

ojson scene_line(const std::string& key, const ojson& id, const Scene& scene) {
  ojson j;
  j[key] = id;
  j["scene"] = scene_to_json(scene);
  return j;
}

}  // namespace adallava::synth
