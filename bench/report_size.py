"""Size and render time of report.html for a large run: 1,000,000 predictions x 58 classes.

Synthetic data (numpy, seeded): string labels, float32 probabilities from a softmax over
noisy logits, a true label drawn per row. The Evaluation is built with
``modelqa.api.evaluate.evaluate_arrays`` (metrics, timed apart), then the report is rendered
with ``modelqa.report.html.render_report`` (every figure and table of the page) and written.
Targets (issue 4): report.html under 5 MB, rendering under 15 s.

    .venv/bin/python bench/report_size.py                       # 1,000,000 x 58
    .venv/bin/python bench/report_size.py --rows 100000 --classes 10 --out /tmp/r
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

SIZE_TARGET_BYTES = 5_000_000
RENDER_TARGET_S = 15.0


def synthetic(rows: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    labels = [f"카테고리_{i:02d}_label" for i in range(classes)]
    y = rng.choice(classes, size=rows, p=rng.dirichlet(np.full(classes, 4.0)))
    logits = rng.normal(size=(rows, classes)).astype(np.float32)
    logits[np.arange(rows), y] += rng.uniform(0.5, 3.5, classes).astype(np.float32)[y]
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    return y, logits, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--classes", type=int, default=58)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resamples", type=int, default=200, help="bootstrap resamples for the intervals")
    parser.add_argument("--out", type=Path, default=None, help="folder for report.html (default: a temp folder)")
    args = parser.parse_args()

    from modelqa.api.evaluate import evaluate_arrays
    from modelqa.report.html import render_report, write_html

    t0 = time.perf_counter()
    y, probs, labels = synthetic(args.rows, args.classes, args.seed)
    t_data = time.perf_counter() - t0
    print(f"data: {args.rows:,} rows x {args.classes} classes, probabilities {probs.dtype} ({t_data:.1f} s)")

    t0 = time.perf_counter()
    ev = evaluate_arrays(task="classification", y_true=y, probs=probs, labels=labels, n_resamples=args.resamples,
                         run_info={"data": "synthetic", "command": "bench/report_size.py"})
    t_metrics = time.perf_counter() - t0
    print(f"metrics + tables (evaluate_arrays, {args.resamples} bootstrap resamples): {t_metrics:.1f} s")

    t0 = time.perf_counter()
    rendered = render_report(ev.result, ev.predictions, ev.errors, ev.confusions, ev.distribution, ev.run_info)
    t_render = time.perf_counter() - t0
    out = args.out or Path(tempfile.mkdtemp(prefix="modelqa-report-size-"))
    path = write_html(out / "report.html", rendered.html)
    size = path.stat().st_size
    png = sum(len(b) for b in rendered.figures.values())
    print(f"render (every figure and table of the page): {t_render:.1f} s "
          f"({'within' if t_render < RENDER_TARGET_S else 'OVER'} the {RENDER_TARGET_S:.0f} s target)")
    print(f"report.html: {size / 1e6:.2f} MB ({'within' if size < SIZE_TARGET_BYTES else 'OVER'} the 5 MB target); "
          f"{len(rendered.figures)} figures, {png / 1e6:.2f} MB of PNG before base64; {path}")


if __name__ == "__main__":
    main()
