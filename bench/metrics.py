"""Streaming metrics vs scikit-learn on a large predictions file (issue 5, section 2).

    .venv/bin/python bench/metrics.py                 # 5,000,000 rows x 58 classes
    .venv/bin/python bench/metrics.py --rows 1000000  # smaller

1. Generates ``--rows`` x ``--classes`` float32 probabilities (seeded) into a Parquet file with
   row groups of 500,000 rows (columns ``label`` and ``prob_<label>``), once per size.
2. Child process A: ``modelqa.evaluate(predictions=FILE)`` with the default memory budget
   and ``stream=True`` (chunks of 100,000 rows; with the default 1 GB budget AUC / AP are
   exact up to 2.3M rows x 58 classes and binned above); wall time includes
   reading the file. ``--with-report`` also writes the run folder (report.html etc.).
3. Child process B: reads the file into memory, then times the equivalent scikit-learn calls
   (accuracy, precision_recall_fscore_support macro / weighted / micro, confusion_matrix,
   log_loss, roc_auc_score and average_precision_score one-vs-rest per class,
   top_k_accuracy_score k=2, 3); reading is reported apart.
Each child reports its own wall time and peak RSS (``ru_maxrss``); the parent prints both,
the ratio, and checks that the numbers agree (counts exactly, sums to 1e-9, binned AUC / AP
within the error bound metrics.json states).

The memory budget bounds the process (issue 9): the parent prints the streaming child's peak RSS
over the budget and fails when it is above 1.5. For the three sizes of the issue:

    .venv/bin/python bench/metrics.py --skip-sklearn --rows 1000000
    .venv/bin/python bench/metrics.py --skip-sklearn --rows 2000000
    .venv/bin/python bench/metrics.py --skip-sklearn --rows 5000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROW_GROUP = 500_000


def generate(path: Path, rows: int, classes: int, seed: int = 0) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    names = [f"c{j:02d}" for j in range(classes)]
    schema = pa.schema([("label", pa.string())] + [(f"prob_{n}", pa.float32()) for n in names])
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, schema) as writer:
        for start in range(0, rows, ROW_GROUP):
            n = min(ROW_GROUP, rows - start)
            y = rng.integers(0, classes, n)
            logits = rng.normal(size=(n, classes)).astype(np.float32)
            logits[np.arange(n), y] += rng.uniform(0, 4, n).astype(np.float32)
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            cols = [pa.array(np.asarray(names, dtype=object)[y], pa.string())]
            cols += [pa.array(p[:, j]) for j in range(classes)]
            writer.write_table(pa.Table.from_arrays(cols, schema=schema), row_group_size=ROW_GROUP)
    os.replace(tmp, path)


def child_streaming(path: str, out: str | None, budget: str) -> dict:
    from modelqa.api.evaluate import evaluate

    t0 = time.perf_counter()
    ev = evaluate(predictions=path, out=out, stream=True, memory_budget=budget)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "result": ev.result}


def child_sklearn(path: str) -> dict:
    import pyarrow.parquet as pq
    from sklearn import metrics as skm

    t0 = time.perf_counter()
    table = pq.read_table(path)
    names = [c[len("prob_"):] for c in table.column_names if c.startswith("prob_")]
    label2id = {n: i for i, n in enumerate(names)}
    labels = table.column("label").to_numpy(zero_copy_only=False)
    y = np.fromiter((label2id[v] for v in labels), dtype=np.int64, count=len(labels))
    del labels
    probs = np.empty((table.num_rows, len(names)), dtype=np.float64)
    for j, n in enumerate(names):
        probs[:, j] = table.column(f"prob_{n}").to_numpy()
    del table
    probs /= probs.sum(axis=1, keepdims=True)  # as modelqa reads prob_ columns
    read_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    k = len(names)
    ids = np.arange(k)
    pred = probs.argmax(axis=1)
    out: dict = {"accuracy": skm.accuracy_score(y, pred)}
    for avg in ("macro", "weighted", "micro"):
        p, r, f, _ = skm.precision_recall_fscore_support(y, pred, average=avg, labels=ids, zero_division=0)
        out.update({f"precision_{avg}": p, f"recall_{avg}": r, f"f1_{avg}": f})
    out["confusion_matrix"] = skm.confusion_matrix(y, pred, labels=ids).tolist()
    out["log_loss"] = skm.log_loss(y, probs, labels=ids)
    out["roc_auc"] = [skm.roc_auc_score(y == j, probs[:, j]) for j in range(k)]
    out["average_precision"] = [skm.average_precision_score(y == j, probs[:, j]) for j in range(k)]
    for t in (2, 3):
        out[f"top_{t}_accuracy"] = skm.top_k_accuracy_score(y, probs, k=t, labels=ids)
    seconds = time.perf_counter() - t1
    return {"seconds": seconds, "read_s": read_s, "result": {key: _plain(v) for key, v in out.items()}}


def _plain(v):
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return float(v) if isinstance(v, np.floating | float) else v


def run_child(kind: str, path: Path, out: str | None, budget: str = "1GB") -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--file", str(path), "--memory-budget", budget]
    if out:
        cmd += ["--out", out]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{kind} child failed:\n{proc.stderr[-3000:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    data["process_s"] = wall
    return data


def compare(ours: dict, sk: dict) -> list[str]:
    """Differences beyond what is allowed (empty list: the numbers agree)."""
    bad = []
    m, labels = ours["metrics"], ours["labels"]
    for key in ("accuracy", "precision_macro", "recall_macro", "f1_macro", "precision_weighted",
                "recall_weighted", "f1_weighted", "precision_micro", "recall_micro", "f1_micro",
                "log_loss", "top_2_accuracy", "top_3_accuracy"):
        if not np.isclose(m[key], sk[key], rtol=1e-9, atol=1e-12):
            bad.append(f"{key}: modelqa {m[key]!r} vs sklearn {sk[key]!r}")
    if ours["confusion_matrix"]["counts"] != sk["confusion_matrix"]:
        bad.append("confusion matrix differs")
    exact = ours.get("auc_method") == "exact"
    for j, name in enumerate(labels):
        pc = ours["per_class"][name]
        for key, bound_key in (("roc_auc", "roc_auc_max_error"), ("average_precision", "average_precision_max_error")):
            bound = 1e-9 if exact else pc[bound_key] + 1e-12
            if abs(pc[key] - sk[key][j]) > bound:
                bad.append(f"{key}[{name}]: modelqa {pc[key]} vs sklearn {sk[key][j]} (bound {bound})")
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--classes", type=int, default=58)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/modelqa-bench-metrics"))
    ap.add_argument("--with-report", action="store_true", help="streaming run also writes the run folder")
    ap.add_argument("--memory-budget", default="1GB", help="modelqa --memory-budget (exact AUC / AP when "
                    "rows x classes x 8 bytes fit, else binned)")
    ap.add_argument("--skip-sklearn", action="store_true")
    ap.add_argument("--child", choices=("streaming", "sklearn"), help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        import resource

        data = child_streaming(args.file, args.out, args.memory_budget) if args.child == "streaming" else child_sklearn(args.file)
        data["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(data))
        return

    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / f"preds_{args.rows}x{args.classes}.parquet"
    if not path.exists():
        t0 = time.perf_counter()
        generate(path, args.rows, args.classes)
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
    out = str(args.dir / "run") if args.with_report else None
    ours = run_child("streaming", path, out, args.memory_budget)
    r = ours["result"]
    print(f"modelqa streaming: {args.rows:,} rows x {args.classes} classes: {ours['seconds']:.1f} s "
          f"(reading included; process {ours['process_s']:.1f} s), peak RSS {ours['peak_rss_mb']:.0f} MB, "
          f"auc_method={r.get('auc_method')}, max AUC error {r['metrics'].get('auc_max_error')}, "
          f"max AP error {r['metrics'].get('average_precision_max_error')}")
    from modelqa.api._streaming import parse_memory_budget

    budget_mb = parse_memory_budget(args.memory_budget) / (1 << 20)
    ratio = ours["peak_rss_mb"] / budget_mb
    print(f"memory: peak RSS {ours['peak_rss_mb']:.0f} MB for a budget of {budget_mb:.0f} MB: {ratio:.2f} x the "
          f"budget ({'within' if ratio <= 1.5 else 'OVER'} the 1.5 x target)")
    if ratio > 1.5:
        sys.exit(1)
    if args.skip_sklearn:
        return
    sk = run_child("sklearn", path, None)
    print(f"scikit-learn:      {sk['seconds']:.1f} s for the calls (+ {sk['read_s']:.1f} s reading into memory; "
          f"process {sk['process_s']:.1f} s), peak RSS {sk['peak_rss_mb']:.0f} MB")
    print(f"ratio (sklearn calls / modelqa streaming incl. reading): {sk['seconds'] / ours['seconds']:.2f}x; "
          f"whole processes: {sk['process_s'] / ours['process_s']:.2f}x")
    bad = compare(r, sk["result"])
    print("numbers agree" if not bad else "MISMATCH:\n  " + "\n  ".join(bad[:20]))
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
