#!/usr/bin/env python3
"""Loss curves of training runs as one SVG (standard library only).

    python3 scripts/plot_loss.py --out loss.svg runs/demo-stage1 runs/demo-stage2 ...

Each run folder's metrics.jsonl gives a panel: training loss per logged update (line) and
validation loss (dots) against the update number.
"""
import argparse
import json
import os
import sys

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 420, 260, 56, 16, 30, 40


def read_metrics(run):
    path = os.path.join(run, "metrics.jsonl")
    train, evals = [], []
    try:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    sys.exit(f"{path}:{n}: not JSON: {e}")
                if "loss" in row:
                    train.append((row["step"], row["loss"]))
                if "eval_loss" in row:
                    evals.append((row["step"], row["eval_loss"]))
    except OSError as e:
        sys.exit(f"{path}: {e.strerror}")
    if not train:
        sys.exit(f"{path}: no training losses")
    return train, evals


def panel(x0, y0, name, train, evals):
    steps = [s for s, _ in train + evals]
    losses = [l for _, l in train + evals]
    sx, ex = 0, max(steps)
    lo, hi = 0.0, max(losses) * 1.05
    pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def px(s):
        return x0 + PAD_L + pw * (s - sx) / max(ex - sx, 1)

    def py(l):
        return y0 + PAD_T + ph * (1 - (l - lo) / (hi - lo))

    out = [f'<text x="{x0 + W / 2}" y="{y0 + 18}" text-anchor="middle" font-size="13">{name}</text>',
           f'<rect x="{x0 + PAD_L}" y="{y0 + PAD_T}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>']
    for i in range(5):
        l = lo + (hi - lo) * i / 4
        out.append(f'<text x="{x0 + PAD_L - 6}" y="{py(l) + 4:.1f}" text-anchor="end" font-size="10">{l:.2f}</text>')
        out.append(f'<line x1="{x0 + PAD_L}" x2="{x0 + PAD_L + pw}" y1="{py(l):.1f}" y2="{py(l):.1f}" stroke="#eee"/>')
    for i in range(5):
        s = sx + (ex - sx) * i / 4
        out.append(f'<text x="{px(s):.1f}" y="{y0 + PAD_T + ph + 14}" text-anchor="middle" font-size="10">{int(s)}</text>')
    out.append(f'<text x="{x0 + PAD_L + pw / 2}" y="{y0 + H - 6}" text-anchor="middle" font-size="10">update</text>')
    pts = " ".join(f"{px(s):.1f},{py(l):.1f}" for s, l in train)
    out.append(f'<polyline points="{pts}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>')
    for s, l in evals:
        out.append(f'<circle cx="{px(s):.1f}" cy="{py(l):.1f}" r="3.5" fill="#d62728"/>')
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("runs", nargs="+")
    a = ap.parse_args()
    cols = 2
    rows = (len(a.runs) + cols - 1) // cols
    body = []
    for i, run in enumerate(a.runs):
        train, evals = read_metrics(run)
        body += panel((i % cols) * W, (i // cols) * H + 24, os.path.basename(run.rstrip("/")), train, evals)
    width, height = cols * W, rows * H + 30
    legend = ('<text x="10" y="16" font-size="12">training loss (blue line, token mean per logged '
              'update) and validation loss (red dots)</text>')
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="Helvetica, Arial, sans-serif">',
           f'<rect width="{width}" height="{height}" fill="white"/>', legend] + body + ["</svg>"]
    with open(a.out, "w") as f:
        f.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
