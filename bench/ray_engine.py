"""`modelqa predict --engine ray` vs the local engine, whole commands back to back.

Data: the first --rows (2,000) AG News texts of ../shared/data/ag_news_test.csv (title +
". " + description). Model: the MiniLM-L6 classifier with a random 4-class head that
bench/inference.py builds (or --model DIR). Both commands use --chunk-rows 500 (so Ray gets
4 blocks); Ray runs on a local Ray instance the command starts (2 actors x 1 CPU), the
local engine with 2 torch threads. Each round runs local then Ray; the table gives the
median over --rounds rounds of the whole command's wall time (start-up, Ray and actor
start-up included), rows/s, the ratio, whether both wrote the same file byte for byte, and
if not, how far apart they are (Ray's actors run 1 torch thread each, the local engine 2,
and a different thread split can change the last bit of a float).

    .venv/bin/python bench/ray_engine.py [--rows 2000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from inference import build_model, load_texts  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--chunk-rows", type=int, default=500)
    ap.add_argument("--work", type=Path, default=Path("/tmp/modelqa-bench-ray"))
    ap.add_argument("--model", type=Path, default=None)
    args = ap.parse_args()

    import pandas as pd

    args.work.mkdir(parents=True, exist_ok=True)
    model = args.model or build_model(Path("/tmp/modelqa-bench-inference") / "minilm-agnews-random-head")
    data = args.work / f"ag_news_{args.rows}.csv"
    pd.DataFrame({"text": load_texts(args.rows)}).to_csv(data, index=False)
    env = {**os.environ, "OMP_NUM_THREADS": "2", "TOKENIZERS_PARALLELISM": "false"}
    times: dict[str, list[float]] = {"local": [], "ray": []}
    same = True
    for r in range(args.rounds):
        outs = {}
        for engine in ("local", "ray"):
            out = args.work / f"{engine}.csv"
            cmd = [sys.executable, "-m", "modelqa", "predict", "--model", str(model), "--data", str(data),
                   "--out", str(out), "--device", "cpu", "--chunk-rows", str(args.chunk_rows), "--quiet",
                   "--engine", engine]
            if engine == "ray":
                cmd += ["--ray-actors", "2"]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            wall = time.perf_counter() - t0
            if proc.returncode != 0:
                raise SystemExit(f"{engine} failed:\n{proc.stderr[-3000:]}")
            times[engine].append(wall)
            outs[engine] = out.read_bytes()
            print(f"  round {r + 1} {engine:5s} {wall:6.1f} s", flush=True)
        same = same and outs["local"] == outs["ray"]
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\n{args.rows} texts, {args.chunk_rows} rows per chunk, median of {args.rounds} rounds")
    for k in ("local", "ray"):
        print(f"{k:6s} {med[k]:7.1f} s  {args.rows / med[k]:6.1f} rows/s  ratio to local "
              f"{med['local'] / med[k]:.2f}x  (runs: {', '.join(f'{t:.1f}' for t in times[k])})")
    print(f"predictions files identical byte for byte: {same}")
    a, b = pd.read_csv(args.work / "local.csv"), pd.read_csv(args.work / "ray.csv")
    cols = [c for c in a.columns if c.startswith("prob_")]
    diff = abs(a[cols].to_numpy() - b[cols].to_numpy())
    print(f"last round: argmax agreement {(a['predicted_label'] == b['predicted_label']).mean():.4%}, "
          f"max |dp| {diff.max():.1e} (rows that differ at all: {int((diff > 0).any(axis=1).sum())})")


if __name__ == "__main__":
    main()
