"""The simple baseline of ``train text`` / ``evaluate`` (char n-gram TF-IDF + logistic regression,
modelqa.analysis.simple_baseline) on the shared Korean chatbot set and AG News, with the
settings it was chosen from. Figures: docs/metrics.md ("Simple baseline").

Each set is cleaned and split 60/20/20 (stratified, seed 0) exactly as ``modelqa train text``
splits one --data file; the baseline is fitted on the 60 % and scored on the 20 % test part
(accuracy and macro F1 from modelqa.metrics, checked against scikit-learn, with the 95 %
bootstrap intervals of metrics.json). The validation part is not used.

    .venv/bin/python bench/simple_baseline.py                 # the default settings, both sets
    .venv/bin/python bench/simple_baseline.py --grid          # the settings compared
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
AG_CLASSES = {1: "World", 2: "Sports", 3: "Business", 4: "Sci/Tech"}
GRID = [dict(analyzer="char_wb", ngram_min=1, ngram_max=4, C=10.0), dict(analyzer="char_wb", ngram_min=1, ngram_max=4, C=1.0),
        dict(analyzer="char_wb", ngram_min=2, ngram_max=5, C=10.0), dict(analyzer="char_wb", ngram_min=1, ngram_max=3, C=10.0),
        dict(analyzer="char", ngram_min=1, ngram_max=3, C=10.0), dict(analyzer="word", ngram_min=1, ngram_max=2, C=10.0)]


def load(name: str) -> tuple[list[str], np.ndarray, list[str]]:
    from modelqa.data.clean import drop_unusable
    from modelqa.data.schema import encode_labels, infer_classes

    if name == "ko":
        df = pd.read_csv(SHARED / "korean_chatbot.csv").rename(columns={"Q": "text"})
    else:
        df = pd.read_csv(SHARED / "ag_news_test.csv", header=None, names=["cls", "title", "description"])
        df["text"] = df["title"].str.strip() + ". " + df["description"].str.replace("\\", " ").str.strip()
        df["label"] = df["cls"].map(AG_CLASSES)
    df = drop_unusable(df, "text", "label").df
    classes = infer_classes(df["label"], path=name, column="label")
    y = encode_labels(df["label"], label2id={c: i for i, c in enumerate(classes)}, path=name, column="label")
    return [str(t) for t in df["text"]], y, classes


def run(name: str, settings: dict) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    from modelqa.analysis.simple_baseline import SimpleBaselineConfig, fit_predict
    from modelqa.data.split import stratified_split
    from modelqa.metrics.bootstrap import bootstrap_intervals
    from modelqa.metrics.confusion import accuracy, confusion_matrix, macro_f1

    texts, y, classes = load(name)
    train, _, test = stratified_split(y, (0.6, 0.2, 0.2), seed=0)
    config = SimpleBaselineConfig(**settings)
    t0 = time.perf_counter()
    pred = fit_predict([texts[i] for i in train], y[train], [texts[i] for i in test], config=config)
    seconds = time.perf_counter() - t0
    cm = confusion_matrix(y[test], pred, len(classes))
    acc, f1 = float(accuracy(cm)), float(macro_f1(cm))
    assert abs(acc - accuracy_score(y[test], pred)) < 1e-12 and abs(f1 - f1_score(y[test], pred, average="macro")) < 1e-12
    ci = bootstrap_intervals(cm, n_resamples=1000, seed=0)
    return {"set": name, **settings, "train": len(train), "test": len(test), "accuracy": acc,
            "accuracy_ci": ci["accuracy"], "f1_macro": f1, "f1_macro_ci": ci["f1_macro"], "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grid", action="store_true", help="compare the settings in GRID")
    parser.add_argument("--sets", nargs="+", default=["ko", "ag"], choices=["ko", "ag"])
    args = parser.parse_args()
    if not SHARED.exists():
        raise SystemExit(f"{SHARED} is missing: this benchmark reads ../shared/data beside the project")
    for name in args.sets:
        for settings in GRID if args.grid else [{}]:
            r = run(name, settings)
            what = ", ".join(f"{k}={v}" for k, v in settings.items()) or "defaults"
            print(f"{name}  {what:45s}  train {r['train']:5d}  test {r['test']:5d}  "
                  f"accuracy {r['accuracy']:.4f} [{r['accuracy_ci'][0]:.3f}, {r['accuracy_ci'][1]:.3f}]  "
                  f"macro F1 {r['f1_macro']:.4f} [{r['f1_macro_ci'][0]:.3f}, {r['f1_macro_ci'][1]:.3f}]  "
                  f"{r['seconds']:.1f} s", flush=True)


if __name__ == "__main__":
    main()
