#!/usr/bin/env python3
"""Single-turn training and validation sets of the questions that match a pattern.

Whether a kind of question can be learned at all at the demo's scale, apart from everything else
the training set teaches, is answered by training on it alone (docs/demo.md, round 4). This
script cuts such a set out of any LLaVA instruction file (JSON list or JSONL): every human turn
whose first line matches REGEX becomes one single-turn record with its answer, `<image>` first
as LLaVA puts it. Records are split by image, so no validation image is seen in training.

  python3 scripts/isolate_questions.py TRAIN.json REGEX OUT_DIR [--val N] [--seed S]
      [--shuffle-images]

--shuffle-images pairs every question with another record's image (a permutation within the
set): the loss a model reaches on that set is what the question text alone can give, the control
for the real set. Writes OUT_DIR/train.json and OUT_DIR/val.json and prints the answer counts.
Stdlib only.
"""
import argparse
import collections
import json
import os
import random
import re
import sys


def read_records(path):
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        sys.exit(f"{path}: cannot read ({e.strerror})")
    try:
        if text.lstrip().startswith("["):
            return json.loads(text)
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError as e:
        sys.exit(f"{path}: not LLaVA instruction JSON or JSONL ({e})")


def isolate(records, pattern, path):
    out = []
    for index, record in enumerate(records):
        turns = record.get("conversations") if isinstance(record, dict) else None
        if not isinstance(turns, list):
            sys.exit(f"{path}: record {index} has no conversations list")
        if not all(isinstance(turn, dict) and isinstance(turn.get("value"), str) for turn in turns):
            sys.exit(f"{path}: record {index}: every turn needs a string \"value\"")
        for t in range(0, len(turns) - 1, 2):
            question = turns[t]["value"].replace("<image>", "").strip()
            if not pattern.search(question.split("\n")[0]):
                continue
            single = {"id": f"{record.get('id', index)}_{t // 2}",
                      "conversations": [dict(turns[t]), dict(turns[t + 1])]}
            if "image" in record:
                single["image"] = record["image"]
                single["conversations"][0]["value"] = "<image>\n" + question
            else:
                single["conversations"][0]["value"] = question
            out.append(single)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("train")
    parser.add_argument("regex", help="matched against the first line of each question")
    parser.add_argument("out_dir")
    parser.add_argument("--val", type=int, default=300, help="validation questions (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shuffle-images", action="store_true")
    args = parser.parse_args()
    try:
        pattern = re.compile(args.regex)
    except re.error as e:
        sys.exit(f"regex {args.regex!r}: {e}")

    selected = isolate(read_records(args.train), pattern, args.train)
    if len(selected) <= args.val:
        sys.exit(f"{args.train}: {len(selected)} questions match {args.regex!r}, "
                 f"not more than --val {args.val}")
    rng = random.Random(args.seed)
    if args.shuffle_images:
        images = [r["image"] for r in selected if "image" in r]
        rng.shuffle(images)
        it = iter(images)
        for r in selected:
            if "image" in r:
                r["image"] = next(it)
    # Split by image: the validation set takes whole images until it holds --val questions.
    by_image = collections.defaultdict(list)
    for r in selected:
        by_image[r.get("image", r["id"])].append(r)
    keys = sorted(by_image)
    rng.shuffle(keys)
    train, val = [], []
    for key in keys:
        (val if len(val) < args.val else train).extend(by_image[key])
    rng.shuffle(train)

    os.makedirs(args.out_dir, exist_ok=True)
    for name, rows in (("train", train), ("val", val)):
        with open(os.path.join(args.out_dir, name + ".json"), "w") as f:
            json.dump(rows, f)
    answers = collections.Counter(r["conversations"][1]["value"] for r in train)
    print(f"{len(train)} training and {len(val)} validation questions in {args.out_dir}")
    print("training answers: " + ", ".join(f"{a} {n}" for a, n in answers.most_common(12)))


if __name__ == "__main__":
    main()
