#!/usr/bin/env bash
# Deadline mode under contention (docs/deadline.md): 40 requests with a deadline the idle
# machine meets at budget 0.8; halfway through each run a CPU-heavy program (two busy loops,
# one per core) starts beside it. The run is done twice: with the online correction and with
# the fixed start-up calibration. Prints the summary and per-request tables (Markdown) and
# writes them to $OUT; JSON with every record to $OUT.json.
#
# usage: scripts/deadline_experiment.sh [extra `adallava bench` options, e.g. --requests 20]
# env:   ADALLAVA_BIN (default build/apps/adallava/adallava), OUT (default deadline_results.md)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${ADALLAVA_BIN:-$here/build/apps/adallava/adallava}"
out="${OUT:-deadline_results.md}"
[[ -x "$bin" ]] || { echo "deadline_experiment.sh: $bin not found (set ADALLAVA_BIN)" >&2; exit 1; }

# The competing program: one busy loop per core, in one process group that the bench kills.
# The loops also end on their own if the bench dies ($PPID is the bench in every subshell).
busy='for i in 1 2; do (while kill -0 $PPID 2>/dev/null; do :; done) & done; wait'

common=(--threads 2 bench --deadline --adaptive L --dtypes bf16
        --llm-layers 8 --prefix-layers 2 --prompt-tokens 256 --decode-tokens 4
        --requests 40 --reference-budget 0.8 --deadline-margin 0.1
        --contention-cmd "$busy")

"$bin" "${common[@]}" --out "$out" "$@"
echo "(Markdown in $out, every record in $out.json)"
