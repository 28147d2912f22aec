#!/usr/bin/env bash
# Integration test: `scripts/main.sh --quick` end to end with the built binary, then checks that
# every stage left its outputs and that they parse: the suite's manifest, each training run's
# metrics and final checkpoint, the evaluation's results (all seven benchmarks, both budgets),
# the plot, the TorchScript artifact and the exported model's answers at both budgets.
#   usage: main_quick.sh <adallava binary>
set -euo pipefail
BIN=$(realpath "$1")
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT=$(mktemp -d /tmp/adallava-main-quick.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
ADALLAVA_BIN="$BIN" ADALLAVA_MAIN_OUT="$OUT" bash "$ROOT/scripts/main.sh" --quick >"$OUT/main.log" 2>&1 ||
  { tail -n 40 "$OUT/main.log"; echo "FAIL: main.sh --quick exited non-zero"; exit 1; }
python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
def check(cond, what):
    if not cond:
        print("FAIL:", what); sys.exit(1)
    print("ok:", what)
def load(rel):
    path = os.path.join(out, rel)
    check(os.path.isfile(path), f"{rel} exists")
    with open(path) as f:
        return json.load(f) if rel.endswith(".json") else f.read()
manifest = load("data/synth/manifest.json")
check("files" in manifest, "suite manifest lists its files")
for run in ["demo-vision", "demo-stage1", "demo-stage2", "demo-adallava-L"]:
    lines = load(f"runs/{run}/metrics.jsonl").splitlines()
    rows = [json.loads(l) for l in lines if l.strip()]
    check(any("loss" in r for r in rows), f"{run}: metrics.jsonl parses and logs training losses")
    cfg = load(f"runs/{run}/final/config.json")
    check(os.path.isfile(os.path.join(out, f"runs/{run}/final/model.safetensors")),
          f"{run}: final weights exist")
check(load("runs/demo-vision/final/config.json")["model_type"] == "clip_vision_model",
      "stage 0 writes an HF CLIPVisionModel folder")
check(load("runs/demo-stage1/config.yaml").find("runs/demo-vision/final") >= 0,
      "stage 1 starts from the stage-0 tower")
check("scheduler_type" in load("runs/demo-adallava-L/final/config.json"),
      "AdaLLaVA checkpoint names its scheduler")
results = load("eval/results.json")
rows = results["results"]
benchmarks = {r["benchmark"] for r in rows}
check(benchmarks == {"vqav2", "gqa", "textvqa", "scienceqa", "pope", "mme", "mmbench"},
      f"results cover the seven benchmarks ({sorted(benchmarks)})")
ada = {r["budget"] for r in rows if r["model"] == "AdaLLaVA-L"}
check(ada == {0.5, 1.0}, f"AdaLLaVA-L evaluated at budgets 0.5 and 1.0 ({sorted(ada)})")
check("<svg" in load("eval/plot.svg")[:200], "plot.svg is an SVG")
check(os.path.getsize(os.path.join(out, "export/adallava-L.pt")) > 0, "TorchScript artifact")
log = load("main.log")
check(log.count("plan") >= 2, "the exported model reported a plan at both budgets")
check("results.md" in log and "artifact:" in log, "the job ended with the table and the paths")
PY
