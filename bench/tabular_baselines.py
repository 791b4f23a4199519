"""MLP (modelqa train tabular, default options) vs tuned scikit-learn baselines on the same split.

For each seed a churn table (bench/churn_table.py) is generated and split 60/20/20 exactly as
``modelqa train tabular`` splits it. The baselines get the same preprocessed matrix (one-hot,
imputation and scaling learned on the training rows), are tuned on the validation rows (the
grid below, best ROC-AUC), and are scored on the test rows like the MLP: accuracy and recall
of the positive class "Yes" at the usual argmax / 0.5 cut, ROC-AUC, F1, log loss.

    .venv/bin/python bench/tabular_baselines.py --rows 7000 --seeds 0,1,2
    .venv/bin/python bench/tabular_baselines.py --mlp dropout=0.3 --mlp hidden=64,32
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from churn_table import make_churn  # noqa: E402

LR_GRID = {"C": [0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]}
HGB_GRID = {"learning_rate": [0.05, 0.1], "max_leaf_nodes": [7, 15, 31], "min_samples_leaf": [20, 80]}


def _scores(y: np.ndarray, p_yes: np.ndarray) -> dict:
    from sklearn.metrics import accuracy_score, f1_score, log_loss, recall_score, roc_auc_score

    pred = (p_yes >= 0.5).astype(int)
    return {"accuracy": accuracy_score(y, pred), "roc_auc": roc_auc_score(y, p_yes), "recall": recall_score(y, pred),
            "f1": f1_score(y, pred), "log_loss": log_loss(y, np.clip(p_yes, 1e-7, 1 - 1e-7))}


def _tune(make, grid: dict, xt, yt, xv, yv):
    from sklearn.metrics import roc_auc_score

    best = None
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        params = dict(zip(keys, values, strict=True))
        model = make(**params).fit(xt, yt)
        auc = roc_auc_score(yv, model.predict_proba(xv)[:, 1])
        if best is None or auc > best[0]:
            best = (auc, params, model)
    return best


def run_seed(seed: int, rows: int, mlp_options: dict, folder: Path) -> dict[str, dict]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    from modelqa.api.tabular import train_tabular
    from modelqa.data.load import read_table
    from modelqa.data.split import stratified_split
    from modelqa.data.tabular import Preprocessor, TargetEncoder

    data = folder / f"churn-{seed}.csv"
    make_churn(rows, seed).to_csv(data, index=False)
    results: dict[str, dict] = {}
    for name, extra in (("MLP (defaults)", {}), ("MLP --class-weight balanced", {"class_weight": "balanced"})):
        t0 = time.perf_counter()
        res = train_tabular(data=data, target="Churn", out=folder / f"mlp-{seed}-{len(results)}",
                            **{**mlp_options, **extra})
        m = res.test_metrics["metrics"]
        results[name] = {"accuracy": m["accuracy"], "roc_auc": m["roc_auc"], "recall": m["recall"], "f1": m["f1"],
                         "log_loss": m["log_loss"], "seconds": time.perf_counter() - t0,
                         "params": f"best epoch {res.best_epoch}"}
    # the same split and preprocessing as train_tabular (seed 42 is its default)
    df = read_table(data)
    target = TargetEncoder.fit(df["Churn"], column="Churn", path=data)
    y = target.encode(df["Churn"])
    parts = stratified_split(y, (0.6, 0.2, 0.2), seed=int(mlp_options.get("seed", 42)))
    tr, va, te = (df.iloc[p] for p in parts)
    pre = Preprocessor().fit(tr, "Churn", task="binary", labels=target.labels)
    (xt, _), (xv, _), (xs, _) = pre.transform(tr), pre.transform(va), pre.transform(te)
    yt, yv, ys = y[parts[0]], y[parts[1]], y[parts[2]]
    for name, make, grid in (
        ("LogisticRegression (tuned C)", lambda **p: LogisticRegression(max_iter=2000, **p), LR_GRID),
        ("HistGradientBoosting (tuned)",
         lambda **p: HistGradientBoostingClassifier(max_iter=500, early_stopping=True, validation_fraction=0.15,
                                                    n_iter_no_change=20, random_state=seed, **p), HGB_GRID),
    ):
        t0 = time.perf_counter()
        _, params, model = _tune(make, grid, xt, yt, xv, yv)
        results[name] = {**_scores(ys, model.predict_proba(xs)[:, 1]), "seconds": time.perf_counter() - t0,
                         "params": ", ".join(f"{k}={v}" for k, v in params.items())}
    results["majority class"] = {**_scores(ys, np.zeros(len(ys))), "seconds": 0.0, "params": ""}
    results["majority class"]["roc_auc"] = 0.5
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=7000)
    ap.add_argument("--seeds", default="0,1,2", help="table seeds, comma-separated")
    ap.add_argument("--mlp", action="append", default=[], help="MLP option override, e.g. dropout=0.3")
    args = ap.parse_args()
    mlp_options: dict = {}
    for item in args.mlp:
        key, value = item.split("=", 1)
        mlp_options[key] = value if key in ("hidden", "class_weight", "monitor") else (
            value.lower() == "true" if key == "batch_norm" else float(value) if "." in value or "e" in value
            else int(value))
    seeds = [int(s) for s in args.seeds.split(",")]
    per_seed = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            res = run_seed(seed, args.rows, mlp_options, Path(tmp))
            per_seed.append(res)
            print(f"seed {seed}: " + "; ".join(f"{k}: auc {v['roc_auc']:.4f} ({v['params']})" for k, v in res.items()),
                  flush=True)
    names = list(per_seed[0])
    cols = ("accuracy", "roc_auc", "recall", "f1", "log_loss", "seconds")
    print(f"\n{args.rows} rows per table, 60/20/20 split, test = {int(args.rows * 0.2)} rows; "
          f"mean ± sd over table seeds {seeds}; MLP options: {mlp_options or 'defaults'}")
    print(f"| model | {' | '.join(cols)} |")
    print("|---|" + "---|" * len(cols))
    for name in names:
        cells = []
        for c in cols:
            v = np.array([r[name][c] for r in per_seed], dtype=float)
            cells.append(f"{v.mean():.1f}" if c == "seconds" else f"{v.mean():.4f} ± {v.std():.4f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
