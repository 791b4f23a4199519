"""Where adapters.lean_bert's forward time goes, and each of its levers against the obvious alternative.

The first --rows (2,000) AG News texts, the MiniLM classifier with a random 4-class head that
bench/inference.py builds, 2 torch threads, tokenised once beforehand and cut into the engine's
batches (64 rows, 2,048 padded tokens). Prints:

1. GEMM throughput per MiniLM shape: torch's default ``F.linear`` (addmm) against oneDNN's
   ``torch.ops.mkldnn._linear_pointwise`` (what lean_bert runs), and the FFN's linear + GELU
   unfused against fused;
2. the whole forward over all batches with lean_bert's oneDNN ops against the plain
   ``torch.nn.functional`` ops, with SDPA on every batch instead of eager attention on short rows
   (alternating, --rounds rounds, medians), and transformers' BertForSequenceClassification on the
   same batches;
3. torch's profiler over one pass: seconds and GFLOP/s of the linear layers (FLOPs actually done:
   the last layer's skipped rows not counted), attention's share, the padding fraction;
4. attention on the batch shapes: ``F.scaled_dot_product_attention`` against eager attention
   (``baddbmm`` with the mask, softmax, ``bmm``; what lean_bert runs up to
   ``EAGER_ATTENTION_MAX_LEN`` tokens a row), plus rows of 96, 128 and 192 tokens.

    .venv/bin/python bench/lean_forward.py [--rows 2000] [--rounds 3]
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

H, INTER = 384, 1536


def best_ms(fn, *args, repeats: int = 20) -> float:
    fn(*args)
    fn(*args)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times) * 1e3


def gemms() -> None:
    import torch
    import torch.nn.functional as F

    op = torch.ops.mkldnn._linear_pointwise
    print("1. GEMM, 2,048 rows (GFLOP/s, best of 20)")
    for k, n in ((384, 1152), (384, 384), (384, 1536), (1536, 384)):
        x, w, b = torch.randn(2048, k), torch.randn(n, k) * 0.05, torch.randn(n) * 0.05
        flops = 2 * 2048 * k * n
        plain = flops / best_ms(F.linear, x, w, b) / 1e6
        fused = flops / best_ms(op, x, w, b, "none", [], "") / 1e6
        print(f"   {k:>4} -> {n:<4}  addmm {plain:6.1f}   oneDNN {fused:6.1f}   ({fused / plain:.2f}x)")
    x, w, b = torch.randn(2048, H), torch.randn(INTER, H) * 0.05, torch.randn(INTER) * 0.05
    unfused = best_ms(lambda x, w, b: F.gelu(F.linear(x, w, b)), x, w, b)
    fused = best_ms(op, x, w, b, "gelu", [], "none")
    print(f"   linear + GELU 384 -> 1536: unfused {unfused:.2f} ms, oneDNN fused {fused:.2f} ms "
          f"({unfused / fused:.2f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    import torch
    from torch.profiler import ProfilerActivity, profile
    from transformers import AutoModelForSequenceClassification

    from modelqa.adapters import lean_bert as lb
    from modelqa.adapters.hf import load_hf_classifier
    from modelqa.engine.batching import length_sorted_batches
    from modelqa.engine.predict import tokenize

    torch.set_num_threads(2)
    gemms()

    folder = build_model(Path("/tmp/modelqa-bench-inference") / "minilm-agnews-random-head")
    clf = load_hf_classifier(folder, device="cpu", lean=True)
    lean = clf.model
    hf = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    texts = load_texts(args.rows)
    enc, _ = tokenize(clf.tokenizer, texts, max_length=clf.max_length)
    batches = [(torch.from_numpy(b.input_ids), torch.from_numpy(b.attention_mask))
               for b in length_sorted_batches(enc, batch_size=64, pad_id=0, max_tokens=2048)]
    padded = sum(ids.numel() for ids, _ in batches)
    real = sum(int(m.sum()) for _, m in batches)

    def run(model) -> float:
        t0 = time.perf_counter()
        with torch.inference_mode():
            for ids, mask in batches:
                model(input_ids=ids, attention_mask=mask)
        return time.perf_counter() - t0

    fused_ops, plain_ops, eager_len = lb._ops(), lb._TorchOps(), lb.EAGER_ATTENTION_MAX_LEN
    settings = {"lean (defaults)": (fused_ops, eager_len), "lean, SDPA on every batch": (fused_ops, 0),
                "lean, plain ops": (plain_ops, eager_len)}
    times: dict[str, list[float]] = {name: [] for name in [*settings, "transformers"]}
    run(lean)
    run(hf)
    for _ in range(args.rounds):
        for name, (ops, length) in settings.items():
            lb._OPS, lb.EAGER_ATTENTION_MAX_LEN = ops, length
            times[name].append(run(lean))
        times["transformers"].append(run(hf))
    lb._OPS, lb.EAGER_ATTENTION_MAX_LEN = fused_ops, eager_len
    print(f"\n2. forward over {len(batches)} batches of {len(texts)} texts ({real:,} tokens, "
          f"{1 - real / padded:.1%} padding), median of {args.rounds}")
    for name, ts in times.items():
        print(f"   {name:<26} {statistics.median(ts):6.2f} s  ({', '.join(f'{t:.2f}' for t in ts)})")

    linear_flops = 0
    for ids, _ in batches:
        b, s = ids.shape
        layer = 2 * (4 * H * H + 2 * H * INTER)
        linear_flops += 5 * b * s * layer + b * s * 2 * 2 * H * H + b * layer  # last layer: K, V for all rows
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        wall = run(lean)
    by_op = {e.key: e.self_cpu_time_total / 1e6 for e in prof.key_averages()}
    linear_s = sum(v for k, v in by_op.items() if "linear_pointwise" in k or k == "aten::addmm")
    attention_s = sum(v for k, v in by_op.items() if k in ("aten::_scaled_dot_product_flash_attention_for_cpu",
                                                          "aten::bmm", "aten::baddbmm", "aten::_softmax"))
    norm_s = by_op.get("aten::native_layer_norm", 0.0)
    print(f"\n3. profiler, one pass ({wall:.2f} s under the profiler): linear {linear_s:.2f} s = "
          f"{linear_flops / linear_s / 1e9:.1f} GFLOP/s of work done ({linear_flops / 1e12:.2f} TFLOP); "
          f"attention {attention_s:.2f} s ({attention_s / wall:.0%}); layer norm {norm_s:.2f} s")

    import torch.nn.functional as F

    def eager(q, k, v, mask, s):  # lean_bert's own eager path, whatever the row length
        lb.EAGER_ATTENTION_MAX_LEN = 10**6
        try:
            return lb._attention(q, k, v, mask, s)
        finally:
            lb.EAGER_ATTENTION_MAX_LEN = eager_len

    print(f"\n4. attention per call (ms, best of 20): SDPA vs eager (lean_bert runs eager up to "
          f"{eager_len} tokens a row)")
    heads, d = 12, H // 12
    shapes = sorted({tuple(ids.shape) for ids, _ in batches}, key=lambda t: t[1])
    for b, s in [*shapes[:: max(1, len(shapes) // 6)], (21, 96), (16, 128), (10, 192)]:
        qkv = torch.randn(b, s, 3, heads, d).permute(2, 0, 3, 1, 4)
        keep = torch.ones(b, s, dtype=torch.bool)
        keep[::2, -max(1, s // 10):] = False
        mask = keep[:, None, None, :]
        with torch.inference_mode():
            sdpa_ms = best_ms(F.scaled_dot_product_attention, qkv[0], qkv[1], qkv[2], mask)
            eager_ms = best_ms(eager, qkv[0], qkv[1], qkv[2], mask, s)
        print(f"   {b:>3} x {s:<4} SDPA {sdpa_ms:6.2f}   eager {eager_ms:6.2f}")

if __name__ == "__main__":
    main()
