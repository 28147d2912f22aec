#!/usr/bin/env bash
# The main job: the whole AdaLLaVA pipeline on the shipped synthetic suite, offline, on CPU.
#
#   bash scripts/main.sh            # full demo (target: under 30 minutes on 2 cores)
#   bash scripts/main.sh --quick    # a few steps per stage, for a smoke test (under 5 minutes)
#
# Stages: synthetic data -> vision tower pretraining (per-patch labels) -> tiny LLaVA stage 1
# (captions) -> stage 2 (instructions) ->
# AdaLLaVA-L and -H joint fine-tuning -> budget sweep on all seven benchmark formats ->
# TorchScript export -> the exported model on one image at two budgets.
# Everything is written under $ADALLAVA_MAIN_OUT (default runs/main); the script ends with the
# results table and the paths of the plot and the artifacts.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
QUICK=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    *) echo "usage: bash scripts/main.sh [--quick]" >&2; exit 2 ;;
  esac
done

cd "$ROOT"
# ADALLAVA_BIN: an already built binary (the integration test); otherwise set up and build.
if [[ -n "${ADALLAVA_BIN:-}" ]]; then
  BIN="$ADALLAVA_BIN"
else
  bash scripts/setup.sh
  bash scripts/build.sh
  BIN="$ROOT/build/apps/adallava/adallava"
fi
OUT="${ADALLAVA_MAIN_OUT:-$ROOT/runs/main$([[ $QUICK == 1 ]] && echo -quick || true)}"
mkdir -p "$OUT"
# The recipes name data/synth and runs/<recipe> relative to the working directory.
cd "$OUT"
START=$(date +%s)
stage() { echo; echo "== [$(( $(date +%s) - START )) s] $*"; }

# The full run trains with the demo recipes as they are (configs/train/demo-*.yaml: their epochs
# and batches are the demo's time budget on 2 CPU cores); --quick stops each stage after 3 updates.
if [[ $QUICK == 1 ]]; then
  # POPE and MME need their whole sets to score, so a limited quick run reports them unscored.
  SIZE=(--size tiny); STEPS=(schedule.max_steps=3); BUDGETS=0.5,1.0; VARIANTS=(L)
  EVAL_EXTRA=(--limit 8)
else
  # Train on the large suite (a from-scratch ViT needs many distinct images); evaluate the many
  # (model, budget) pairs on small benchmark sets, at three budgets so the job stays within 30
  # minutes (docs/demo.md: five budgets took it to 32).
  SIZE=(--size large --eval-size small); STEPS=(); BUDGETS=0.5,0.75,1.0
  VARIANTS=(L H)
  # Static plans with the learned plans' unit counts, and the plain model cut to half its depth.
  EVAL_EXTRA=(--baselines first,random --keep-layers 4)
fi
TRAIN_SET=("${STEPS[@]}" schedule.micro_batch_size=8 threads=0)
# One-word answers: 8 new tokens are plenty and keep an untrained model from running to 1024.
EVAL_SET=(--set max_new_tokens=8)

stage "1/8 synthetic suite (${SIZE[*]}) -> $OUT/data/synth"
"$BIN" data synth --out data/synth "${SIZE[@]}" --force

stage "2/8 stage 0: the vision tower from scratch on per-patch labels"
"$BIN" train --config "$ROOT/configs/train/demo-vision.yaml" "${STEPS[@]}" \
  schedule.micro_batch_size=32 threads=0

stage "3/8 stage 1: tiny LLaVA on captions (new LLM and projector, the stage-0 tower)"
"$BIN" train --config "$ROOT/configs/train/demo-stage1.yaml" "${TRAIN_SET[@]}"

stage "4/8 stage 2: instruction tuning"
"$BIN" train --config "$ROOT/configs/train/demo-stage2.yaml" "${TRAIN_SET[@]}"

for v in "${VARIANTS[@]}"; do
  stage "5/8 AdaLLaVA-$v joint fine-tuning"
  "$BIN" train --config "$ROOT/configs/train/demo-adallava-$v.yaml" "${TRAIN_SET[@]}"
done

stage "6/8 evaluation: budgets $BUDGETS on all seven benchmark formats (AdaLLaVA, the stage-2 LLaVA; in the full run also static first-k and random-plan baselines and the stage-2 LLaVA cut to its first 4 layers)"
MODELS=()
for v in "${VARIANTS[@]}"; do MODELS+=(--model "runs/demo-adallava-$v/final" --label "AdaLLaVA-$v"); done
MODELS+=(--model runs/demo-stage2/final --label "LLaVA (stage 2)")
# The models were just retrained: answers of an earlier run would be refused as another
# checkpoint's (or, for identical weights, reused), so this run scores afresh.
rm -rf eval
"$BIN" eval --config "$ROOT/configs/eval/all.yaml" "${MODELS[@]}" --budgets "$BUDGETS" \
  --data-root data/synth/eval --out eval "${EVAL_EXTRA[@]}" "${EVAL_SET[@]}"

stage "7/8 TorchScript export of AdaLLaVA-${VARIANTS[0]}"
mkdir -p export
"$BIN" export --model "runs/demo-adallava-${VARIANTS[0]}/final" --out "export/adallava-${VARIANTS[0]}.pt"

stage "8/8 the exported model on one image at budgets 1.0 and 0.5"
IMAGE=$(ls data/synth/eval/vqav2/test2015/* | head -n 1)
for b in 1.0 0.5; do
  "$BIN" run-exported --model "export/adallava-${VARIANTS[0]}.pt" --image "$IMAGE" \
    --prompt "What color is the star? Answer the question using a single word or phrase." \
    --budget "$b" --max-new-tokens 8
done

stage "done"
cat eval/results.md
echo
echo "plot:      $OUT/eval/plot.svg"
echo "results:   $OUT/eval/results.{md,csv,json}"
echo "models:    $OUT/runs/demo-vision/final $OUT/runs/demo-stage1/final $OUT/runs/demo-stage2/final" \
  "$(for v in "${VARIANTS[@]}"; do printf '%s ' "$OUT/runs/demo-adallava-$v/final"; done)"
echo "artifact:  $OUT/export/adallava-${VARIANTS[0]}.pt"
