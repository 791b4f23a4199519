"""The worked example of docs/behaviour.md: two small models trained with `modelqa train text`
(AG News: 250 rows a class, "title. description", 4 classes; the shared Korean chatbot set:
400 rows a class of Q, labels 0/1/2 — stratified samples, seed 0) and the behaviour suites
bench/behaviour/en.yaml and ko.yaml run on their test splits with `modelqa check`.

    .venv/bin/python bench/behaviour_example.py --out /tmp/modelqa-behaviour      # trains, then checks
    .venv/bin/python bench/behaviour_example.py --out /tmp/modelqa-behaviour --skip-train

Prints one line per behaviour test (failure rate, interval, n, status); the run folders are
OUT/check-en and OUT/check-ko. Needs ../shared/data beside the project.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
MODELQA = [sys.executable, "-m", "modelqa"]


def prepare(out: Path) -> None:
    classes = (SHARED / "ag_news_classes.txt").read_text().split()
    ag = pd.read_csv(SHARED / "ag_news_test.csv", header=None, names=["label", "title", "description"])
    ag["text"] = ag["title"] + ". " + ag["description"]
    ag["label"] = ag["label"].map(lambda i: classes[i - 1])
    ag.groupby("label").sample(n=250, random_state=0)[["text", "label"]].sample(frac=1, random_state=0) \
        .to_csv(out / "ag_1000.csv", index=False)
    ko = pd.read_csv(SHARED / "korean_chatbot.csv")
    ko["label"] = ko["label"].astype(str).str.strip()
    ko.groupby("label").sample(n=400, random_state=0)[["Q", "label"]].sample(frac=1, random_state=0) \
        .to_csv(out / "ko_1200.csv", index=False)


def run(args: list[str]) -> int:
    print("$ modelqa " + " ".join(args), flush=True)
    return subprocess.run(MODELQA + args, cwd=ROOT).returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--skip-train", action="store_true")
    opts = ap.parse_args()
    out = opts.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    sets = {"en": ("ag_1000.csv", "text", "ag_model"), "ko": ("ko_1200.csv", "Q", "ko_model")}
    if not opts.skip_train:
        prepare(out)
        for data, text_col, model in sets.values():
            run(["train", "text", "--data", str(out / data), "--text-col", text_col, "--label-col", "label",
                 "--out", str(out / model), "--epochs", "2", "--batch-size", "16", "--seed", "0", "--quiet"])
    for lang, (_, text_col, model) in sets.items():
        run(["check", "--current", str(out / model / "evaluation" / "test_split.csv"), "--text-col", text_col,
             "--label-col", "label", "--model", str(out / model), "--suite", str(ROOT / "bench" / "behaviour" /
             f"{lang}.yaml"), "--seed", "0", "--out", str(out / f"check-{lang}"), "--quiet"])
        doc = json.loads((out / f"check-{lang}" / "check.json").read_text(encoding="utf-8"))
        for r in doc["results"]:
            if r["check"] != "behaviour.tests" or r["value"] is None:
                continue
            lo, hi = r["interval"]
            d = r["details"]
            extra = f" changed {d['changed_share']:.0%}" if d.get("changed_share") is not None else ""
            print(f"{lang} {d['type']} {r['target']:36} {r['value']:.3f} [{lo:.3f}, {hi:.3f}] n={r['n']}{extra} "
                  f"{r['status']}")


if __name__ == "__main__":
    main()
