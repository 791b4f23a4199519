"""The machine's float32 matmul throughput with a fixed number of torch threads.

Times ``torch.nn.functional.linear`` on the shapes a MiniLM-L6 (hidden 384, intermediate
1536) forward pass runs: rows = tokens in a batch (2,048 = 32 rows x 64 tokens), weights
384x384 (attention projections), 384x1536 and 1536x384 (feed-forward). Best of several
repeats per shape; the peak is the best shape, the "model mix" weights the shapes the way
one encoder layer does (4 x 384x384, 1 x 384->1536, 1 x 1536->384).

    .venv/bin/python bench/matmul_peak.py [--threads 2]

Also gives ``flops_per_token`` for MiniLM-L6, used by bench/inference.py to turn tokens/s
into a fraction of this peak.
"""

from __future__ import annotations

import argparse
import json
import time

HIDDEN, INTERMEDIATE, LAYERS = 384, 1536, 6
SHAPES = [  # (rows, in_features, out_features, how many per encoder layer)
    (2048, 384, 384, 4),
    (2048, 384, 1536, 1),
    (2048, 1536, 384, 1),
]


def flops_per_token(mean_length: float, *, hidden: int = HIDDEN, intermediate: int = INTERMEDIATE,
                    layers: int = LAYERS) -> float:
    """Multiply-adds x 2 per real token of a BERT encoder: the linear layers
    (4 h^2 + 2 h i per layer) and attention scores / weighted sum (2 x L x h per layer,
    L the sequence length)."""
    linear = 4 * hidden * hidden + 2 * hidden * intermediate
    attention = 2 * mean_length * hidden
    return 2.0 * layers * (linear + attention)


def measure(threads: int = 2, *, repeats: int = 7, seconds_per_shape: float = 1.0) -> dict:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    results = []
    with torch.inference_mode():
        for rows, k, n, count in SHAPES:
            x = torch.randn(rows, k)
            w = torch.randn(n, k)
            b = torch.randn(n)
            torch.nn.functional.linear(x, w, b)  # warm-up
            t0 = time.perf_counter()
            inner = 1
            while True:  # choose an inner loop lasting ~seconds_per_shape / repeats
                s = time.perf_counter()
                for _ in range(inner):
                    torch.nn.functional.linear(x, w, b)
                if time.perf_counter() - s > seconds_per_shape / repeats or time.perf_counter() - t0 > 5:
                    break
                inner *= 2
            best = float("inf")
            for _ in range(repeats):
                s = time.perf_counter()
                for _ in range(inner):
                    torch.nn.functional.linear(x, w, b)
                best = min(best, (time.perf_counter() - s) / inner)
            gflops = 2.0 * rows * k * n / best / 1e9
            results.append({"shape": f"{rows}x{k} @ {k}x{n}", "count": count, "gflops": round(gflops, 2),
                            "flop": 2.0 * rows * k * n})
    total_flop = sum(r["flop"] * r["count"] for r in results)
    total_time = sum(r["flop"] * r["count"] / (r["gflops"] * 1e9) for r in results)
    return {"threads": threads, "shapes": results, "peak_gflops": max(r["gflops"] for r in results),
            "model_mix_gflops": round(total_flop / total_time / 1e9, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    args = ap.parse_args()
    res = measure(args.threads)
    if args.json:
        print(json.dumps(res))
        return
    for r in res["shapes"]:
        print(f"{r['shape']:22s} {r['gflops']:8.1f} GFLOP/s")
    print(f"peak {res['peak_gflops']:.1f} GFLOP/s, model mix {res['model_mix_gflops']:.1f} GFLOP/s "
          f"({res['threads']} threads)")
    f = flops_per_token(50)
    print(f"MiniLM-L6 at 50 tokens/row: {f / 1e6:.1f} MFLOP per token -> at most "
          f"{res['model_mix_gflops'] * 1e9 / f:,.0f} tokens/s")


if __name__ == "__main__":
    main()
