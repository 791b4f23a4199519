"""Monitoring windows: ``--timestamp-col ts --window 1D`` (or ``7D``, ``1H``, ``30min``, or a row
count such as ``1000``) splits ``--current`` into consecutive windows and judges each one.

- ``windows.drift``: every feature column of each window against ``--reference``, with the
  same tests and effect-size thresholds as ``drift.column`` (``drift.compare_series``).
- ``windows.accuracy``: where labels and predictions exist, each window's accuracy against the
  accuracy of the rest of ``--current``: value = the drop, p = one-sided two-proportion z-test.

Every window is one more test in the run, so the run-wide Benjamini-Hochberg correction is the
correction across windows: one noisy window among many does not alert by itself. Windows with
fewer than ``min_rows`` rows are listed as skipped. Rows whose timestamp cannot be read are
counted in the details and left out.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats

from modelqa.analysis.checks.context import CheckContext
from modelqa.analysis.checks.drift import CATEGORICAL_KINDS, NUMERIC_KINDS, compare_series, drift_columns
from modelqa.analysis.checks.registry import register
from modelqa.analysis.checks.result import CheckConfig, CheckResult, skipped
from modelqa.errors import UsageError

CATEGORY = "windows"
_FREQ = re.compile(r"^(\d+)\s*(min|h|d|w)$", re.IGNORECASE)
_UNITS = {"min": "min", "h": "h", "d": "D", "w": "W"}
MAX_WINDOWS = 200


def parse_window(window: str) -> tuple[str, int | str]:
    """("rows", N) for a row count, ("time", pandas frequency) for 1D / 7D / 1H / 30min / 2W."""
    text = str(window).strip()
    if text.isdigit() and int(text) > 0:
        return "rows", int(text)
    m = _FREQ.match(text)
    if not m or int(m.group(1)) == 0:
        raise UsageError(f"window must be a row count (1000) or a length such as 1D, 7D, 1H, 30min or 2W, "
                         f"not {window!r}")
    return "time", f"{int(m.group(1))}{_UNITS[m.group(2).lower()]}"


def split_windows(ctx: CheckContext) -> tuple[list[tuple[str, np.ndarray]], dict]:
    """[(window label, row positions of --current)] in time order, and what was left out."""
    kind, size = parse_window(ctx.window)
    frame = ctx.current.frame
    info: dict = {"window": ctx.window}
    if kind == "rows":
        n = len(frame)
        return [(f"rows {s + 1}-{min(s + size, n)}", np.arange(s, min(s + size, n))) for s in range(0, n, size)], info
    ts = pd.to_datetime(frame[ctx.timestamp_col], errors="coerce", utc=True, format="mixed")
    bad = int(ts.isna().sum())
    info["unreadable_timestamps"] = bad
    if bad == len(ts):
        raise UsageError(f"column {ctx.timestamp_col!r}: no value reads as a date / time "
                         f"(first: {frame[ctx.timestamp_col].iloc[0]!r})")
    if size.endswith("W"):   # calendar weeks, Monday first
        keys = ts.dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time.dt.tz_localize("UTC")
        keys = keys if size == "1W" else _every(keys, int(size[:-1]), "W")
    else:
        keys = ts.dt.floor(size)
    codes, uniques = pd.factorize(keys, sort=True)      # missing timestamps get code -1
    order = np.argsort(codes, kind="stable")
    order = order[codes[order] >= 0]
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    windows = [(pd.Timestamp(key).isoformat(), order[bounds[i]:bounds[i + 1]]) for i, key in enumerate(uniques)]
    if len(windows) > MAX_WINDOWS:
        raise UsageError(f"`window` {ctx.window} makes {len(windows)} windows (at most {MAX_WINDOWS}); "
                         "choose a longer window")
    return windows, info


def _every(keys: pd.Series, k: int, unit: str) -> pd.Series:
    """Group consecutive calendar units ``k`` at a time, counted from the first one."""
    first = keys.min()
    steps = ((keys - first) / pd.Timedelta(1, unit)).round().astype("Int64") // k
    return first + pd.to_timedelta(steps.astype("float") * k, unit=unit)


def _windows(ctx: CheckContext):
    return ctx.memo("windows:split", lambda: split_windows(ctx))


@register("windows.drift", requires=("timestamp", "reference"), defaults={"min_rows": 30},
          description="drift of each feature column in each window of --current against --reference")
def window_drift(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    windows, info = _windows(ctx)
    ref = ctx.reference.frame
    min_rows = int(cfg.get("min_rows", 30))
    out: list[CheckResult] = []
    cols = [c for c in drift_columns(ctx) if c != ctx.text_col and c in ref.columns
            and ctx.column_kinds.get(c) in NUMERIC_KINDS | CATEGORICAL_KINDS]
    for label, rows in windows:
        if len(rows) < min_rows:
            out.append(skipped("windows.drift", CATEGORY, f"{len(rows)} rows (fewer than {min_rows})", target=label))
            continue
        part = ctx.current.frame.iloc[rows]
        for col in cols:
            r = compare_series(ref[col], part[col], ctx.column_kinds[col], ctx=ctx, cfg=cfg, column=col,
                               check="windows.drift")
            details = {**dict(r.details), "window": label, "series": col, "rows": int(len(rows)), **info}
            out.append(r.with_(category=CATEGORY, target=f"{label} {col}", details=details, examples=()))
    return out


def two_proportion_drop(k_a: int, n_a: int, k_b: int, n_b: int) -> tuple[float, float]:
    """(p_b - p_a, one-sided p of "a is lower than b") by the pooled two-proportion z-test."""
    p_a, p_b = k_a / n_a, k_b / n_b
    pooled = (k_a + k_b) / (n_a + n_b)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return p_b - p_a, 1.0 if p_a >= p_b else 0.0
    z = (p_a - p_b) / se
    return p_b - p_a, float(stats.norm.cdf(z))


@register("windows.accuracy", requires=("timestamp", "labels", "predictions"),
          defaults={"threshold": 0.05, "min_rows": 30},
          description="accuracy of each window against the rest of --current (drop, one-sided z-test)")
def window_accuracy(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    windows, info = _windows(ctx)
    y, pred = ctx.current.y, ctx.current.pred
    labelled = y >= 0
    correct = (y == pred) & labelled
    min_rows = int(cfg.get("min_rows", 30))
    threshold = float(cfg.get("threshold", 0.05))
    total_k, total_n = int(correct.sum()), int(labelled.sum())
    out = []
    for label, rows in windows:
        n = int(labelled[rows].sum())
        k = int(correct[rows].sum())
        rest_n, rest_k = total_n - n, total_k - k
        if n < min_rows or rest_n < min_rows:
            out.append(skipped("windows.accuracy", CATEGORY, f"{n} labelled rows in the window, {rest_n} in the rest "
                               f"(each needs {min_rows})", target=label))
            continue
        drop, p = two_proportion_drop(k, n, rest_k, rest_n)
        out.append(CheckResult(check="windows.accuracy", category=CATEGORY, target=label, metric="accuracy_drop",
                               value=drop, threshold=threshold, p_value=p, n=n, min_n=min_rows, test="z",
                               details={"window": label, "series": "accuracy", "accuracy": k / n,
                                        "rest_accuracy": rest_k / rest_n, **info}))
    return out
