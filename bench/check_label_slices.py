"""Label issues and automatic slices on the Korean shared set (../shared/data/korean_chatbot.csv).

    .venv/bin/python bench/check_label_slices.py [--cv 5] [--flip 0.05] [--seed 0]

Fits the cheap out-of-fold model modelqa uses for ``label_issues.reference`` on every row (labels
with ``--flip`` of them flipped at random, so the planted errors are known), then runs
``label_issues.current`` and ``slices.auto`` on those probabilities, and prints: the time of the
out-of-fold fit, its accuracy on the true labels, the flagged share, precision and recall on the
planted flips, whether the flagged rows equal cleanlab's, and the slices that fail.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from modelqa.analysis.checks import label_issues, slices  # noqa: F401  (registers the checks)
from modelqa.analysis.checks.context import CheckContext, Side
from modelqa.analysis.checks.registry import REGISTRY, config_for
from modelqa.analysis.checks.verdict import decide
from modelqa.analysis.oof import out_of_fold_probs

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "korean_chatbot.csv"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cv", type=int, default=5)
    ap.add_argument("--flip", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    df = pd.read_csv(DATA)
    df["label"] = df["label"].astype(str).str.strip().astype(int)
    y = df["label"].to_numpy()
    rng = np.random.default_rng(args.seed)
    flipped = rng.random(len(y)) < args.flip
    given = np.where(flipped, (y + rng.integers(1, 3, len(y))) % 3, y)
    texts = df["Q"].tolist()
    t = time.perf_counter()
    oof = out_of_fold_probs(given, n_classes=3, texts=texts, cv=args.cv, seed=args.seed)
    fit_s = time.perf_counter() - t
    side = Side(name="current", path=str(DATA), frame=df, y=given, probs=oof.probs, pred=oof.probs.argmax(axis=1),
                texts=texts)
    ctx = CheckContext(current=side, labels=["0", "1", "2"], text_col="Q", feature_cols=("A",),
                       column_kinds={"A": "text"}, seed=args.seed)
    timings, results = {}, []
    for name in ("label_issues.current", "slices.auto"):
        spec = REGISTRY[name]
        t = time.perf_counter()
        results += spec.run(ctx, config_for(spec))
        timings[name] = time.perf_counter() - t
    results = decide(results)
    issue = next(r for r in results if r.check == "label_issues.current")
    from cleanlab.filter import find_label_issues

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        truth = find_label_issues(given, oof.probs, n_jobs=1)
    hit = int((truth & flipped).sum())
    print(f"rows {len(y)}, planted flips {int(flipped.sum())}, cv {oof.folds}")
    print(f"out-of-fold fit {fit_s:.1f} s; accuracy on the true labels {np.mean(oof.probs.argmax(1) == y):.3f}")
    print(f"label_issues: {issue.details['n_flagged']} flagged ({issue.value:.2%}), status {issue.status}; "
          f"equal to cleanlab: {issue.details['n_flagged'] == truth.sum()}; "
          f"precision {hit / max(1, truth.sum()):.3f}, recall {hit / max(1, flipped.sum()):.3f}; "
          f"{timings['label_issues.current']:.2f} s")
    sl = [r for r in results if r.check == "slices.auto"]
    print(f"slices.auto: {len(sl)} slices in {timings['slices.auto']:.2f} s; failing:")
    for r in sl:
        if r.status == "fail":
            print(f"  {r.target}: gap {r.value:.3f} on {r.n} rows (q = {r.q_value:.2g})")


if __name__ == "__main__":
    main()
