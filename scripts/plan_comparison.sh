#!/usr/bin/env bash
# Learned plans against static plans over several independently generated benchmark sets
# (docs/demo.md). One default-size set holds 900 VQAv2, 566 GQA and 200 TextVQA questions: too
# few to tell a one-point difference from noise. This script generates the held-out benchmark
# sets of the synthetic suite with several seeds, evaluates the main job's AdaLLaVA-L, -H and
# stage-2 LLaVA on each (learned plan, first-k plan, fixed random plan, at five budgets), then
# pools the seeds with `adallava eval plot --pool` and prints the pooled learned-minus-static
# table: every question is paired with itself under both plans, and the seeds add questions.
# The pooled results.md also holds what each budget costs each plan against the whole model.
# It ends with scripts/plan_summary.py's compact table and counts (ahead, level, behind).
#
# usage: scripts/plan_comparison.sh [SEEDS]       (default 0,1,2,3,4,5; about 10 minutes per seed
#        on 2 cores, one seed at a time: two evaluations side by side oversubscribe the cores)
# env:   ADALLAVA_BIN (default build/apps/adallava/adallava)
#        MODELS (default runs/main/runs: the folder holding demo-adallava-{L,H} and demo-stage2)
#        OUT (default plan_comparison)
#        BUDGETS (default 0.5,0.625,0.75,0.875,1.0; keep 1.0 for the cost-of-the-budget table)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${ADALLAVA_BIN:-$here/build/apps/adallava/adallava}"
models="${MODELS:-$here/runs/main/runs}"
out="${OUT:-plan_comparison}"
seeds="${1:-0,1,2,3,4,5}"
budgets="${BUDGETS:-0.5,0.625,0.75,0.875,1.0}"
[[ -x "$bin" ]] || { echo "plan_comparison.sh: $bin not found (set ADALLAVA_BIN)" >&2; exit 1; }
for m in demo-adallava-L demo-adallava-H demo-stage2; do
  [[ -d "$models/$m/final" ]] ||
    { echo "plan_comparison.sh: $models/$m/final not found (run scripts/main.sh or set MODELS)" >&2; exit 1; }
done

results=()
for seed in ${seeds//,/ }; do
  # The training part is generated at its smallest: only the benchmark sets are used.
  "$bin" data synth --out "$out/suite-$seed" --seed "$seed" --size tiny --eval-size large --force
  "$bin" eval --config "$here/configs/eval/vqav2.yaml" --config "$here/configs/eval/gqa.yaml" \
    --config "$here/configs/eval/textvqa.yaml" --data-root "$out/suite-$seed/eval" \
    --model "$models/demo-adallava-L/final" --label AdaLLaVA-L \
    --model "$models/demo-adallava-H/final" --label AdaLLaVA-H \
    --model "$models/demo-stage2/final" --label "LLaVA (stage 2)" \
    --budgets "$budgets" --baselines first,random --set max_new_tokens=8 \
    --out "$out/eval-$seed"
  results+=(--results "$out/eval-$seed/results.json")
done

"$bin" eval plot --pool "${results[@]}" --out "$out/pooled"
sed -n '/^## Scores per budget/,/^## Details/p' "$out/pooled/results.md" | sed '$d'
sed -n '/^## Learned scheduler/,/^## Per family/p' "$out/pooled/results.md" | sed '$d'
echo
# The compact table and counts of docs/demo.md.
python3 "$here/scripts/plan_summary.py" "$out/pooled/results.md"
echo "(pooled tables and plot in $out/pooled; each seed's in $out/eval-<seed>)"
