"""Integrity and leakage checks at scale: generated frames, every check of both families in
registry order, wall and CPU time per check (docs/checks/leakage.md).

    /usr/bin/time -v .venv/bin/python bench/check_integrity_scale.py text 1000000
    /usr/bin/time -v .venv/bin/python bench/check_integrity_scale.py table 1000000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from modelqa.analysis.checks import integrity, leakage  # noqa: F401  (they register their checks)
from modelqa.analysis.checks.context import CheckContext, Side
from modelqa.analysis.checks.registry import REGISTRY, config_for

WORDS = np.array(["배송", "빨라요", "fast", "Delivery", "ok", "환불", "please", "좋아요", "STRAßE", "ｆｕｌｌ"], dtype=object)
CITIES = np.array(["Seoul", "Busan", "Jeju", "Incheon", "Daegu"], dtype=object)


def text_frames(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    def make(m: int, offset: int) -> pd.DataFrame:
        w = rng.choice(WORDS, (m, 5))
        texts = pd.Series([" ".join(row) for row in w]) + " " + pd.Series((np.arange(m) + offset).astype(str))
        return pd.DataFrame({"text": texts.astype(str), "label": rng.integers(0, 3, m).astype(str)})

    # the number suffix keeps texts nearly all distinct: duplicates and leaks happen only by chance
    return make(n, 0), make(n, n // 2), {"text_col": "text", "label_col": "label", "feature_cols": ("text",),
                                          "labels": ["0", "1", "2"]}


def table_frames(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    def make(m: int) -> pd.DataFrame:
        d = {f"num{i}": rng.normal(size=m) for i in range(35)}
        d.update({f"cat{i}": pd.Series(rng.choice(CITIES, m)).astype(str) for i in range(15)})
        return pd.DataFrame(d)

    ref = make(n)
    return ref, make(n), {"feature_cols": tuple(ref.columns)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=("text", "table"))
    ap.add_argument("rows", type=int)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    ref, cur, kw = (text_frames if args.kind == "text" else table_frames)(args.rows, rng)

    def ids(frame: pd.DataFrame):
        return frame["label"].astype(int).to_numpy() if "label" in frame else None

    ctx = CheckContext(current=Side("current", None, cur, y=ids(cur)), reference=Side("reference", None, ref,
                                                                                     y=ids(ref)), **kw)
    t0, c0 = time.perf_counter(), time.process_time()
    for name, spec in REGISTRY.items():
        if name == "integrity.empty_texts" and args.kind != "text":
            continue
        t = time.perf_counter()
        results = spec.run(ctx, config_for(spec))
        print(f"{name:36s} {time.perf_counter() - t:6.2f} s  value={results[0].value}")
    print(f"total {time.perf_counter() - t0:.1f} s wall, {time.process_time() - c0:.1f} s CPU in the checks")


if __name__ == "__main__":
    main()
