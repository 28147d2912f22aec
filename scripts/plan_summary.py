#!/usr/bin/env python3
"""Summarise learned plans against static plans from an eval results.md (one set or pooled).

Prints the compact table of docs/demo.md (learned minus static in points with the 95 % paired
interval; **bold** above 0, _italic_ below 0), the counts ahead / level / behind /
significantly ahead / significantly behind per variant and benchmark, and each AdaLLaVA
model at budget 1 against the plain LLaVA row; where the results hold it (evaluations since
session 13), what each budget costs each plan against the whole model (budget 1). Standard
library only.

usage: python3 scripts/plan_summary.py RESULTS_MD [--base "LLaVA (stage 2)"]
"""
import argparse
import collections
import sys

BENCHMARKS = [("vqav2", "VQAv2"), ("gqa", "GQA"), ("textvqa", "TextVQA")]
STATIC = [("first-k", "first-k"), ("random plan", "random")]


def fail(message):
    sys.exit(f"plan_summary.py: {message}")


def table_after(path, lines, heading, optional=False):
    """(header, [(line number, cells)]) of the first Markdown table after `heading`."""
    start = next((i for i, l in enumerate(lines) if l.startswith(heading)), None)
    if start is None:
        if optional:
            return None, []
        fail(f"{path}: no section '{heading}' (not an `adallava eval` results.md?)")
    rows = []
    for n, line in enumerate(lines[start + 1:], start + 2):
        if line.startswith("## "):
            break
        if line.startswith("|") and not line.startswith("|---"):
            rows.append((n, [c.strip() for c in line.strip().strip("|").split("|")]))
    if not rows:
        fail(f"{path}:{start + 1}: section '{heading}' holds no table")
    return rows[0][1], rows[1:]


def columns(path, heading, header, wanted):
    """Column index of each wanted name in a table's header; fails naming the missing ones."""
    col = {name: i for i, name in enumerate(header)}
    missing = [w for w in wanted if w not in col]
    if missing:
        fail(f"{path}: the table of '{heading}' has no column {', '.join(missing)}")
    return col


def difference(cells, col, diff_column):
    """(difference, interval low, interval high) of a paired-comparison row."""
    low, high = (float(x) for x in cells[col["95% interval"]].strip("[]").split(","))
    return float(cells[col[diff_column]]), low, high


def static_kind(label):
    """"first-k" or "random plan" for a static plan's label ("<model> first-k"), else None."""
    return next((k for k, _ in STATIC if label.endswith(" " + k)), None)


def cell(diff, low, high):
    interval = f"[{low:+.1f}, {high:+.1f}]"
    mark = "**" if low > 0 else "_" if high < 0 else ""
    return f"{mark}{diff:+.2f}{mark} {interval}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results_md")
    ap.add_argument("--base", default="LLaVA (stage 2)")
    args = ap.parse_args()
    path = args.results_md
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        fail(f"{path}: cannot read: {e}")

    heading = "## Learned scheduler against static plans"
    header, rows = table_after(path, lines, heading)
    wanted = ["model", "static plan", "benchmark", "budget", "learned - static", "95% interval"]
    col = columns(path, heading, header, wanted)
    pairs = {}  # (variant, budget, benchmark, static) -> (diff, low, high)
    for n, r in rows:
        try:
            model, static, bench, budget = (r[col[w]] for w in wanted[:4])
            kind = static_kind(static)
            if kind is None:
                continue
            variant = model.rsplit("-", 1)[-1]
            pairs[(variant, float(budget), bench, kind)] = difference(r, col, "learned - static")
        except (IndexError, ValueError) as e:
            fail(f"{path}:{n}: malformed comparison row ({e})")
    if not pairs:
        fail(f"{path}: no learned-against-static rows (evaluate with --baselines first,random)")

    variants = sorted({k[0] for k in pairs})  # H before L, as docs/demo.md
    budgets = sorted({k[1] for k in pairs})
    print("| variant | budget | " + " | ".join(f"{b} vs {s}" for _, b in BENCHMARKS for _, s in STATIC) + " |")
    print("|---|---|" + "---|" * (len(BENCHMARKS) * len(STATIC)))
    counts = collections.defaultdict(collections.Counter)
    for v in variants:
        for budget in budgets:
            cells = []
            for bench, _ in BENCHMARKS:
                for kind, _ in STATIC:
                    p = pairs.get((v, budget, bench, kind))
                    if p is None:
                        cells.append("-")
                        continue
                    cells.append(cell(*p))
                    c = counts[(v, bench)]
                    c["ahead" if p[0] > 0 else "behind" if p[0] < 0 else "level"] += 1
                    c["significantly ahead"] += p[1] > 0
                    c["significantly behind"] += p[2] < 0
            print(f"| {v} | {budget:g} | " + " | ".join(cells) + " |")

    print()
    keys = ["ahead", "level", "behind", "significantly ahead", "significantly behind"]
    total = collections.Counter()
    print("| variant | benchmark | comparisons | " + " | ".join(keys) + " |")
    print("|---|---|---|" + "---|" * len(keys))
    for (v, bench), c in sorted(counts.items(), key=lambda kv: (kv[0][0] != "H", kv[0][1])):
        n = c["ahead"] + c["level"] + c["behind"]
        total.update(c)
        total["comparisons"] += n
        print(f"| {v} | {bench} | {n} | " + " | ".join(str(c[k]) for k in keys) + " |")
    print(f"| all | all | {total['comparisons']} | " + " | ".join(str(total[k]) for k in keys) + " |")

    header, rows = table_after(path, lines, "## Scores per budget")
    bench_col = {b: next((i for i, h in enumerate(header) if h.startswith(b + " ")), None) for b, _ in BENCHMARKS}
    score = {}
    for n, r in rows:
        for b, _ in BENCHMARKS:
            i = bench_col[b]
            try:
                if i is not None and r[i] not in ("-", ""):
                    score[(r[0], r[1], b)] = float(r[i])
            except (IndexError, ValueError) as e:
                fail(f"{path}:{n}: malformed score row ({e})")
    print()
    print("budget 1 against " + args.base + ": " + " / ".join(
        f"{name} {score.get((args.base, '1.00', b), float('nan')):.2f}" for b, name in BENCHMARKS))
    for v in variants:
        model = f"AdaLLaVA-{v}"
        parts = []
        for b, name in BENCHMARKS:
            a, base = score.get((model, "1.00", b)), score.get((args.base, "1.00", b))
            parts.append(f"{name} {a:.2f} ({a - base:+.2f})" if a is not None and base is not None else f"{name} -")
        print(f"  {model}: " + " / ".join(parts))

    print_budget_costs(path, lines, variants)


def print_budget_costs(path, lines, variants):
    """Each plan at each budget minus the whole model (budget 1), question by question."""
    heading = "## Cost of each budget against the whole model"
    header, rows = table_after(path, lines, heading, optional=True)
    if header is None:
        print("\n(no cost-of-the-budget table: evaluate with budget 1, with adallava since session 13)")
        return
    wanted = ["model", "benchmark", "budget", "budget - whole", "95% interval"]
    col = columns(path, heading, header, wanted)
    plans = [("learned", "learned")] + STATIC
    costs = {}  # (variant, budget, benchmark, plan) -> (diff, low, high)
    for n, r in rows:
        try:
            label, bench, budget = (r[col[w]] for w in wanted[:3])
            kind = static_kind(label)  # None: the learned plan, labelled "<model>"
            model = label[: -len(kind) - 1] if kind else label
            variant = model.rsplit("-", 1)[-1]
            if variant not in variants:
                continue
            key = (variant, float(budget), bench, kind or "learned")
            if key in costs:
                fail(f"{path}:{n}: a second budget-cost row for {label}, {bench}, budget {budget}")
            costs[key] = difference(r, col, "budget - whole")
        except (IndexError, ValueError) as e:
            fail(f"{path}:{n}: malformed budget-cost row ({e})")
    print()
    print("cost of the budget (plan at the budget minus the whole model, points):")
    print("| variant | budget | " + " | ".join(f"{b} {p}" for _, b in BENCHMARKS for _, p in plans) + " |")
    print("|---|---|" + "---|" * (len(BENCHMARKS) * len(plans)))
    for v in variants:
        for budget in sorted({k[1] for k in costs if k[0] == v}):
            cells = [cell(*costs[(v, budget, b, p)]) if (v, budget, b, p) in costs else "-"
                     for b, _ in BENCHMARKS for p, _ in plans]
            print(f"| {v} | {budget:g} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
