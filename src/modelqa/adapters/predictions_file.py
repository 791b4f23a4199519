"""A file of predictions instead of a model: probability (or logit) columns ``prob_<label>``
in class order, or a predicted-label column.

This adapter only reads scores out of a DataFrame; the api maps label names to ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelqa.errors import DataError, UsageError, format_rows

PROB_PREFIX = "prob_"
SUM_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Scores:
    labels: list[str]          # class order, from the prob_<label> columns
    probs: np.ndarray          # (n, K) float64, rows sum to 1 within SUM_TOLERANCE (as the user gave them)
    n_normalized: int          # rows that did not sum to 1 and were rescaled by --normalize-probs


def prob_columns(columns) -> list[str]:
    return [c for c in columns if isinstance(c, str) and c.startswith(PROB_PREFIX) and len(c) > len(PROB_PREFIX)]


def read_scores(df, *, path, scores: str = "probs", normalize_probs: bool = False) -> Scores | None:
    """Probabilities from the ``prob_<label>`` columns, or None when there are none.

    The values are used as given: rows that sum to 1 within ``SUM_TOLERANCE`` are not rescaled, so
    ranking metrics (ROC AUC, average precision) see the user's own values and ties. Rows are
    rescaled only with ``normalize_probs`` (every row then divided by its sum) or for
    ``scores="logits"`` (softmax); other rows off by more than the tolerance are a DataError."""
    if scores not in ("probs", "logits"):
        raise UsageError(f"`scores` must be probs or logits, not {scores!r}")
    cols = prob_columns(df.columns)
    if not cols:
        return None
    if len(cols) < 2:
        raise DataError(f"{path}: found one probability column ({cols[0]}); a classifier needs one "
                        "prob_<label> column per class (at least two)")
    labels = [c[len(PROB_PREFIX):] for c in cols]
    values = np.empty((len(df), len(cols)), dtype=np.float64)
    for j, col in enumerate(cols):
        raw = df[col]
        num = _to_float(raw)
        bad = np.flatnonzero(~np.isfinite(num))
        if len(bad):
            shown = raw.iloc[bad[0]]
            raise DataError(f"{path}: column {col!r} has missing or non-numeric values at row(s) "
                            f"{format_rows(bad + 1)} (e.g. {shown!r} at row {bad[0] + 1})")
        values[:, j] = num
    if scores == "logits":
        z = values - values.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        return Scores(labels, z / z.sum(axis=1, keepdims=True), 0)
    neg = np.flatnonzero((values < 0).any(axis=1) | (values > 1 + SUM_TOLERANCE).any(axis=1))
    if len(neg):
        raise DataError(f"{path}: probabilities outside [0, 1] at row(s) {format_rows(neg + 1)} "
                        f"(row {neg[0] + 1}: {values[neg[0]].round(4).tolist()})",
                        hint="if these are raw model scores, pass `scores='logits'` to apply softmax")
    sums = values.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > SUM_TOLERANCE)
    if len(off) and not normalize_probs:
        raise DataError(f"{path}: the prob_ columns do not sum to 1 (within {SUM_TOLERANCE}) at row(s) "
                        f"{format_rows(off + 1)} (row {off[0] + 1} sums to {sums[off[0]]:.6f})",
                        hint="pass `normalize_probs=True` to rescale them, or `scores='logits'` for raw scores")
    zero = np.flatnonzero(sums <= 0)
    if len(zero):
        raise DataError(f"{path}: all probabilities are 0 at row(s) {format_rows(zero + 1)}")
    if normalize_probs:
        values /= sums[:, None]
    return Scores(labels, values, int(len(off)))


def _to_float(series) -> np.ndarray:
    import pandas as pd  # pandas is the caller's frame type; no I/O here

    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
