#!/usr/bin/env bash
# The main job on shipped default data. Until training and evaluation land, it answers a
# question about an image with the tiny upstream LLaVA-1.5 checkpoint from ../shared/golden
# (greedy, exactly what the reference Python implementation answers) in both layouts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
BIN=build/apps/adallava/adallava
GOLDEN=${ADALLAVA_GOLDEN:-../shared/golden}
TINY=$GOLDEN/llava-tiny
echo "== original layout (LLM + projector, vision tower from its own folder)"
$BIN generate --model "$TINY/llava15_orig" --image "$TINY/ref/synthetic_150x100.png" \
  --prompt "What is shown in this picture?" --max-new-tokens 8 --json
echo "== llava-hf layout, a real photo, bfloat16"
$BIN generate --model "$TINY/llava15_hf" --image "$GOLDEN/photos/waterview.jpg" \
  --prompt "What is shown in this picture?" --max-new-tokens 8 --dtype bf16 --json
echo "== expected ids for the first answer (upstream): $(python3 -c "import json;print(json.load(open('$TINY/ref/manifest.json'))['generated_ids_preproc_image'])" 2>/dev/null || echo see manifest)"
