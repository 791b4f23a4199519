"""Training defaults vs the transformers Trainer with tutorial settings, back to back.

Both fine-tune the bundled MiniLM on the same AG News development split (1,200 training
rows, 800 test rows; see agnews_split.py), each in its own process with 2 torch threads:

- trainer:  transformers Trainer, 3 epochs, lr 5e-5, batch 16, 20% of the 1,200 held out
            for validation, max_length 128 (bench/train_baseline.py);
- modelqa:  `modelqa train text --data train.csv --test-data test.csv` with its defaults
            (80/20 train/validation split of the 1,200, early stopping, best epoch restored).

Prints test accuracy and training seconds of each, and the ratio of training times.

    .venv/bin/python bench/train_agnews.py [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_trainer(work: Path) -> dict:
    out = subprocess.run([sys.executable, str(HERE / "train_baseline.py"), str(work / "trainer")],
                         capture_output=True, text=True, cwd=HERE, env={**os.environ, "OMP_NUM_THREADS": "2"})
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("trainer_baseline")), None)
    if line is None:
        raise SystemExit(f"trainer baseline failed:\n{out.stderr[-3000:]}")
    fields = dict(re.findall(r"(\w+)=([\d.]+)", line))
    return {"test_accuracy": float(fields["test_accuracy"]), "train_seconds": float(fields["train_seconds"])}


def run_modelqa(work: Path, train_csv: Path, test_csv: Path, extra: list[str]) -> dict:
    model_dir = work / "modelqa-model"
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "modelqa", "train", "text", "--data", str(train_csv), "--test-data",
           str(test_csv), "--out", str(model_dir), "--quiet", *extra]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "2"})
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"modelqa train failed:\n{out.stderr[-3000:]}")
    meta = json.loads((model_dir / "modelqa.json").read_text())
    metrics = json.loads((model_dir / "evaluation" / "metrics.json").read_text())
    history = json.loads((model_dir / "history.json").read_text())
    return {"test_accuracy": metrics["metrics"]["accuracy"], "train_seconds": meta["train_seconds"],
            "wall_seconds": round(wall, 1), "epochs_run": len(history), "best_epoch": meta["best_epoch"],
            "max_length": meta["max_length"], "f1_macro": metrics["metrics"]["f1_macro"],
            "accuracy_ci": metrics["confidence_intervals"]["accuracy"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/modelqa-bench-train"))
    ap.add_argument("--skip-trainer", action="store_true")
    ap.add_argument("modelqa_args", nargs="*", help="extra flags for modelqa train text (after --)")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from agnews_split import make_split

    train_csv, test_csv = make_split(args.work / "data")
    rows = {}
    if not args.skip_trainer:
        rows["trainer (tutorial settings)"] = run_trainer(args.work)
    rows["modelqa train text (defaults)"] = run_modelqa(args.work, train_csv, test_csv, args.modelqa_args)
    for name, r in rows.items():
        print(f"{name:32s} test_accuracy={r['test_accuracy']:.4f} train_seconds={r['train_seconds']:.1f}"
              + "".join(f" {k}={v}" for k, v in r.items() if k not in ("test_accuracy", "train_seconds")))
    if len(rows) == 2:
        t, m = rows.values()
        print(f"ratio trainer/modelqa training time: {t['train_seconds'] / m['train_seconds']:.2f}x; "
              f"accuracy difference: {m['test_accuracy'] - t['test_accuracy']:+.4f}")


if __name__ == "__main__":
    main()
