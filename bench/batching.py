"""Batch shapes for the engine: rows per batch and padded-token budgets, in one process.

The first --rows (2,000) AG News texts after the first 500 (title + ". " + description), the
MiniLM classifier with a random 4-class head that bench/inference.py builds, 2 torch
threads, engine.predict.predict_texts called directly; every setting runs once per round,
rounds alternate settings, and the table gives each setting's median and best seconds.

    .venv/bin/python bench/batching.py [--rounds 4] [--settings 64,64:2048,32,512:1024,...] [--transformers]

The model is loaded as `modelqa predict` loads it (adapters.lean_bert for this BERT folder);
--transformers times transformers' BertForSequenceClassification instead.

A setting is ROWS or ROWS:TOKENS (at most ROWS rows and TOKENS padded tokens per batch).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from inference import build_model, load_texts  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--settings", default="64:0,64:2048,16:0,32:0,128:0,512:1024,512:2048,512:4096")
    ap.add_argument("--transformers", action="store_true", help="transformers' model, not adapters.lean_bert")
    args = ap.parse_args()

    import torch

    from modelqa.adapters.hf import load_hf_classifier
    from modelqa.engine.predict import predict_texts

    torch.set_num_threads(2)
    texts = load_texts(500 + args.rows)[500:]
    clf = load_hf_classifier(build_model(Path("/tmp/modelqa-bench-inference") / "minilm-agnews-random-head"),
                             device="cpu", lean=not args.transformers)
    print(f"model: {type(clf.model).__module__}.{type(clf.model).__name__}", flush=True)
    predict_texts(clf.model, clf.tokenizer, texts[:200], max_length=clf.max_length)  # warm-up
    settings = []
    for item in args.settings.split(","):
        rows, _, tokens = item.partition(":")
        settings.append((item, int(rows), int(tokens or 0) or None))
    times: dict[str, list[float]] = {name: [] for name, _, _ in settings}
    for r in range(args.rounds):
        for name, rows, tokens in settings:
            t0 = time.perf_counter()
            predict_texts(clf.model, clf.tokenizer, texts, max_length=clf.max_length, batch_size=rows,
                          max_tokens=tokens)
            times[name].append(time.perf_counter() - t0)
        print(f"  round {r + 1} done", flush=True)
    print(f"\n{args.rows} texts, {args.rounds} rounds; ROWS:TOKENS (0 = no token budget)")
    for name, ts in times.items():
        print(f"{name:>10s}  median {statistics.median(ts):6.2f} s  best {min(ts):6.2f} s  "
              f"({', '.join(f'{t:.2f}' for t in ts)})")


if __name__ == "__main__":
    main()
