#!/usr/bin/env bash
# Training throughput benchmark: samples/s, tokens/s and peak memory of `adallava train` for
#   * the demo model (tiny ViT + LLaMA width 256 x 8 layers) on the synthetic instruction set, and
#   * an LLM with LLaVA-7B dimensions (hidden 4096, 32 heads, MLP 11008, vocab 32000) but only
#     $LAYERS_7B decoder layers (default 2), behind the demo vision tower, same data,
# each in float32 and with bfloat16 autocast (float32 master weights). Prints a Markdown table.
#
#   bash scripts/bench_train.sh                 # defaults below
#   STEPS=6 LAYERS_7B=2 bash scripts/bench_train.sh
#
# Every configuration is a real `adallava train` run (AdamW, clipping, accumulation) over the
# recipe's data loader; the first logged window (warm-up: allocations, thread start) is dropped
# and the median of the remaining windows is reported. Peak memory is the process's maximum
# resident set (GNU time). Needs a built tree (bash scripts/build.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/build/apps/adallava/adallava"
STEPS=${STEPS:-8}            # updates per configuration (logged every update)
LAYERS_7B=${LAYERS_7B:-2}
WORK=${WORK:-$(mktemp -d /tmp/adallava-bench-train.XXXXXX)}
[[ -x "$BIN" ]] || { echo "build first: bash scripts/build.sh" >&2; exit 2; }
cd "$WORK"
[[ -f data/synth/train.json ]] || "$BIN" data synth --out data/synth --size small --force >/dev/null

# Every run: a fresh model from model.arch (no stage-1 checkpoint needed), the stage-2 data,
# vision tower frozen as in LLaVA's stage 2, no checkpoints written.
COMMON=(model.init=null model.tokenizer=data/synth/tokenizer.model
  model.arch.vision_image_size=96 model.arch.vision_patch_size=16
  model.arch.vision_hidden_size=128 model.arch.vision_layers=4 model.arch.vision_heads=4
  model.arch.vision_mlp_dim=512 model.arch.vision_layer_norm_eps=1e-5
  model.arch.max_position_embeddings=512 model.arch.rms_norm_eps=1e-5 trainable.vision_tower=false
  schedule.eval_every=never checkpointing.keep_best=null checkpointing.save_final=false
  checkpointing.save_every=never logging.log_every=1u threads=0 "schedule.max_steps=$STEPS")
TINY=(model.arch.llm_hidden_size=256 model.arch.llm_layers=8 model.arch.llm_heads=8
  model.arch.llm_kv_heads=8 model.arch.llm_mlp_dim=688
  schedule.global_batch_size=32 schedule.micro_batch_size=8)
BIG=(model.arch.llm_hidden_size=4096 "model.arch.llm_layers=$LAYERS_7B" model.arch.llm_heads=32
  model.arch.llm_kv_heads=32 model.arch.llm_mlp_dim=11008 model.arch.vocab_size=32000
  schedule.global_batch_size=4 schedule.micro_batch_size=2)

run() {  # name dtype overrides...
  local name=$1 dtype=$2; shift 2
  local out="runs/$name-$dtype"
  rm -rf "$out"; mkdir -p runs
  /usr/bin/time -f '%M' -o "$out.rss" "$BIN" train --config "$ROOT/configs/train/demo-stage2.yaml" \
    "${COMMON[@]}" "$@" "precision.dtype=$dtype" "checkpointing.output_dir=$out" \
    >"$out.log" 2>&1 || { echo "failed: see $WORK/$out.log" >&2; exit 1; }
  python3 - "$out/metrics.jsonl" "$out.rss" "$name" "$dtype" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"samples_per_s"' in l][1:]
rss_gib = int(open(sys.argv[2]).read().split()[-1]) / 2**20
sps = statistics.median(r["samples_per_s"] for r in rows)
tps = statistics.median(r["tokens_per_s"] for r in rows)
print(f"| {sys.argv[3]} | {sys.argv[4]} | {len(rows)} | {sps:.2f} | {tps:.0f} | {rss_gib:.2f} |")
EOF
}

echo "Threads: $(nproc) | BLAS: $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3) | work dir: $WORK"
echo
echo "| model | precision | updates timed | samples/s (median) | tokens/s (median) | peak RSS GiB |"
echo "|---|---|---|---|---|---|"
for dtype in fp32 bf16; do run demo-tiny "$dtype" "${TINY[@]}"; done
for dtype in fp32 bf16; do run "llm-7b-dims-${LAYERS_7B}L" "$dtype" "${BIG[@]}"; done
