"""Benchmarks and the worked example of docs/compare.md.

    python bench/compare_runs.py example OUT_DIR   # two real AG News runs, evaluated and compared
    python bench/compare_runs.py speed             # paired bootstrap: vectorised vs a row-resampling loop

``example``: from ../shared/data/ag_news_test.csv (7,600 rows, 4 classes) train two cheap
scikit-learn classifiers on 3,800 rows — A: word TF-IDF + logistic regression; B: the same
on 400 training rows only — and write their predictions on the other 3,800 rows as
prediction files, ``modelqa evaluate`` each, then ``modelqa compare``.
``speed``: ``paired_deltas`` (13 metrics + per-class, one multinomial over the joint cells)
against resampling row indices and scoring accuracy and macro F1 per replicate in a loop;
then ``paired_probability_deltas`` (row weights) at the sizes ``compare`` uses.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CLASSES = ["World", "Sports", "Business", "Sci/Tech"]


def example(out: Path) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    from modelqa.api.compare import compare
    from modelqa.api.evaluate import evaluate

    src = SHARED / "ag_news_test.csv"
    if not src.exists():
        raise SystemExit(f"{src} is missing: the example needs ../shared/data beside the project")
    df = pd.read_csv(src, header=None, names=["cls", "title", "description"])
    df["text"] = df["title"].str.strip() + ". " + df["description"].str.replace("\\", " ").str.strip()
    df["label"] = df["cls"].map(lambda c: CLASSES[int(c) - 1])
    df["id"] = [f"ag{i}" for i in range(len(df))]
    train, test = train_test_split(df, test_size=0.5, stratify=df["label"], random_state=0)
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("a", len(train)), ("b", 400)):
        part = train.sample(n=rows, random_state=1)
        vec = TfidfVectorizer(sublinear_tf=True, min_df=1)
        clf = LogisticRegression(max_iter=1000).fit(vec.fit_transform(part["text"]), part["label"])
        probs = clf.predict_proba(vec.transform(test["text"]))
        frame = test[["id", "text", "label"]].copy()
        for j, label in enumerate(clf.classes_):
            frame[f"prob_{label}"] = probs[:, j]
        frame.to_csv(out / f"pred_{name}.csv", index=False)
        evaluate(predictions=out / f"pred_{name}.csv", id_col="id", out=out / f"run_{name}")
    t = time.perf_counter()
    doc = compare(out / "run_a", out / "run_b", out=out / "compare").document
    print(f"compare: {time.perf_counter() - t:.2f} s for {doc['n']} rows")
    for m in ("accuracy", "f1_macro", "log_loss"):
        d = doc["metrics"][m]
        print(f"{m}: A {d['a']:.4f}  B {d['b']:.4f}  delta {d['delta']:+.4f}  "
              f"[{d['interval'][0]:+.4f}, {d['interval'][1]:+.4f}]  p {d['p_value']:.4g}")
    mc = doc["mcnemar"]
    print(f"McNemar: {mc['b_right_to_wrong']} right->wrong, {mc['c_wrong_to_right']} wrong->right, "
          f"p = {mc['p_value']:.3g}")


def speed() -> None:
    from modelqa.analysis.paired import paired_deltas
    from modelqa.metrics.confusion import accuracy, confusion_matrix, macro_f1

    rng = np.random.default_rng(0)
    for n in (10_000, 1_000_000):
        y = rng.integers(0, 4, n)
        a = np.where(rng.random(n) < 0.85, y, rng.integers(0, 4, n))
        b = np.where(rng.random(n) < 0.84, y, rng.integers(0, 4, n))
        t = time.perf_counter()
        paired_deltas(y, a, b, n_resamples=9999, seed=0)
        fast = time.perf_counter() - t
        loops = 100
        t = time.perf_counter()
        for _ in range(loops):
            idx = rng.integers(0, n, n)
            for pred in (a, b):
                cm = confusion_matrix(y[idx], pred[idx], 4)
                accuracy(cm), macro_f1(cm)
        slow = (time.perf_counter() - t) / loops * 9999
        print(f"n = {n:,}: paired_deltas, 9,999 resamples, 13 metrics + per class: {fast:.2f} s; "
              f"row-index loop, 2 metrics: {slow:.1f} s (from {loops} resamples) -> {slow / fast:.0f}x")
    from modelqa.analysis.paired_rows import paired_probability_deltas

    for n, resamples in ((10_000, 1000), (100_000, 100)):     # compare's budget: 10M row resamples
        y = rng.integers(0, 4, n)
        pa, pb = rng.dirichlet(np.ones(4), n), rng.dirichlet(np.ones(4), n)
        t = time.perf_counter()
        paired_probability_deltas(y, pa, pb, n_resamples=resamples)
        print(f"n = {n:,}, 4 classes: paired_probability_deltas (AUC, AP, ECE, top-k, log loss, Brier), "
              f"{resamples} resamples: {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "example":
        example(Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp/compare-example"))
    elif len(sys.argv) > 1 and sys.argv[1] == "speed":
        speed()
    else:
        raise SystemExit(__doc__)
