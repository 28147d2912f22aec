#!/usr/bin/env python3
"""Question-only prior of a synthetic suite: how well a model that never looks at the image does.

Each held-out VQAv2 question is answered with the most common training answer of the training
questions that start with the same three words (falling back to the family's most common answer);
scored per family with the VQA accuracy min(#matching human answers / 3, 1) after EvalAI-style
normalisation (lower case, no trailing period, number words as digits, articles dropped). The
official metric averages that over the ten 9-answer subsets, which differs by well under a point.

  python3 scripts/question_prior.py SUITE_DIR      (stdlib only)
"""
import collections
import json
import os
import sys

SUFFIX = "\nAnswer the question using a single word or phrase."
NUMBERS = {"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
           "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"}


def normalise(answer):
    words = answer.lower().strip().rstrip(".").replace(",", "").split()
    return " ".join(NUMBERS.get(w, w) for w in words if w not in ("a", "an", "the"))


def key(question):
    return " ".join(question.lower().split()[:3])


def main(suite):
    by_key, by_family = collections.defaultdict(collections.Counter), collections.defaultdict(
        collections.Counter)
    with open(os.path.join(suite, "train.json")) as f:
        records = json.load(f)
    for record in records:
        turns = record["conversations"]
        families = record.get("families", [])
        for i in range(0, len(turns) - 1, 2):
            question = turns[i]["value"].replace("<image>\n", "")
            if not question.endswith(SUFFIX):
                continue  # multiple choice: another answer format
            answer = turns[i + 1]["value"]
            by_key[key(question[: -len(SUFFIX)])][answer] += 1
            if i // 2 < len(families):
                by_family[families[i // 2]][answer] += 1
    vqa = os.path.join(suite, "eval", "vqav2")
    with open(os.path.join(vqa, "v2_mscoco_synth2015_annotations.json")) as f:
        annotations = {a["question_id"]: a for a in json.load(f)["annotations"]}
    scores = collections.defaultdict(list)
    with open(os.path.join(vqa, "llava_vqav2_mscoco_test-dev2015.jsonl")) as f:
        for line in f:
            q = json.loads(line)
            text = q["text"].split("\n")[0]
            ann = annotations[q["question_id"]]
            family = q.get("category") or ann.get("family")
            table = by_key.get(key(text)) or by_family[family]
            guess = normalise(table.most_common(1)[0][0])
            matches = sum(normalise(a["answer"]) == guess for a in ann["answers"])
            scores[family].append(min(matches / 3.0, 1.0))
    rows = sorted(scores)
    every = [s for r in rows for s in scores[r]]
    print("| " + " | ".join(rows + ["all"]) + " |")
    print("|" + "---|" * (len(rows) + 1))
    print("| " + " | ".join(f"{100 * sum(scores[r]) / len(scores[r]):.1f}" for r in rows) +
          f" | {100 * sum(every) / len(every):.1f} |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
