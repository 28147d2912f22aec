#!/usr/bin/env python3
"""Per-template accuracy of VQAv2 answer files on a synthetic suite, side by side.

Which question templates a model answers from the image and which it answers from the question
alone shows up only below the family level (docs/demo.md, round 3): each row is one template of
the suite's VQAv2 set, each column one answer file, each cell the share (%) of answers equal to
the question's canonical answer (`multiple_choice_answer`, compared in lower case; stricter than
the VQA accuracy of `adallava eval`, which also credits the human variants). The last column is
the first file's most frequent answer with its share: a template answered with one word whatever
the image is one the model has not learned.

  python3 scripts/template_accuracy.py SUITE_EVAL_DIR ANSWERS.jsonl [ANSWERS.jsonl ...]

SUITE_EVAL_DIR is the suite's `eval` folder (it holds vqav2/v2_mscoco_synth2015_annotations.json);
the answer files are `answers.jsonl` from `adallava eval` runs on that folder's vqav2 set.
Stdlib only; prints a Markdown table.
"""
import collections
import json
import os
import sys


def load_annotations(eval_dir):
    path = os.path.join(eval_dir, "vqav2", "v2_mscoco_synth2015_annotations.json")
    try:
        with open(path) as f:
            return {a["question_id"]: a for a in json.load(f)["annotations"]}
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"{path}: not a synthetic-suite VQAv2 annotation file ({e})")


def tally(path, annotations):
    """(family, template) -> [questions, exact, Counter of answers] for one answer file."""
    stats = collections.defaultdict(lambda: [0, 0, collections.Counter()])
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        sys.exit(f"{path}: cannot read ({e.strerror})")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            answer = json.loads(line)
            truth = annotations[answer["question_id"]]
            text = str(answer["text"]).strip().lower()
        except (ValueError, KeyError, TypeError) as e:
            sys.exit(f"{path}:{number}: not an answer of this suite's VQAv2 set ({e!r})")
        row = stats[(truth["family"], truth["template"])]
        row[0] += 1
        row[1] += text == truth["multiple_choice_answer"].lower()
        row[2][text] += 1
    return stats


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    annotations = load_annotations(argv[1])
    files = argv[2:]
    runs = [tally(path, annotations) for path in files]
    names = [os.path.basename(os.path.dirname(os.path.dirname(os.path.dirname(p)))) or p
             for p in files]
    print("| family | template | questions | " + " | ".join(names) + " | most frequent answer |")
    print("|---|---|---|" + "---|" * len(files) + "---|")
    for key in sorted(runs[0]):
        n = runs[0][key][0]
        cells = []
        for run in runs:
            row = run.get(key)
            cells.append(f"{100 * row[1] / row[0]:.0f}" if row and row[0] else "-")
        word, count = runs[0][key][2].most_common(1)[0]
        print(f"| {key[0]} | `{key[1]}` | {n} | " + " | ".join(cells) +
              f" | {word} {100 * count / n:.0f}% |")


if __name__ == "__main__":
    main(sys.argv)
