"""Percentile bootstrap of confusion-matrix metrics (layer L1, pure numpy).

Accuracy and macro F1 depend on the rows only through the confusion matrix, so
resampling n rows with replacement is the same as drawing the K x K cell counts from
a multinomial(n, counts / n). All replicates are drawn at once and scored vectorised;
each replicate uses its own default label set (classes present in it).
"""

from __future__ import annotations

import numpy as np

from modelqa.errors import UsageError
from modelqa.metrics.confusion import accuracy, macro_f1

#: Cells drawn per batch, so that memory stays bounded (about 32 MB) for many classes.
_BATCH_CELLS = 4_000_000


def resample_confusion(cm: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_resamples, K, K)`` bootstrap replicates of a confusion matrix."""
    n = int(cm.sum())
    draws = rng.multinomial(n, cm.ravel() / n, size=n_resamples)
    return draws.reshape(n_resamples, *cm.shape)


def bootstrap_replicates(cm: np.ndarray, n_resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and macro F1 of each of ``n_resamples`` replicates (seeded, deterministic)."""
    rng = np.random.default_rng(seed)
    batch = max(1, _BATCH_CELLS // cm.size)
    acc, f1 = [], []
    for start in range(0, n_resamples, batch):
        replicates = resample_confusion(cm, min(batch, n_resamples - start), rng)
        acc.append(accuracy(replicates))
        f1.append(macro_f1(replicates))
    return np.concatenate(acc), np.concatenate(f1)


def percentile_interval(values: np.ndarray, confidence_level: float) -> list[float]:
    """``[lo, hi]``: the (1-level)/2 and (1+level)/2 percentiles (linear interpolation)."""
    alpha = 1.0 - confidence_level
    lo, hi = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return [float(lo), float(hi)]


def bootstrap_intervals(
    cm: np.ndarray, *, n_resamples: int = 1000, confidence_level: float = 0.95, seed: int = 0
) -> dict:
    """The ``confidence_intervals`` block of metrics.json for accuracy and macro F1."""
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int | np.integer) or n_resamples < 1:
        raise UsageError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if not 0.0 < confidence_level < 1.0:
        raise UsageError(f"confidence_level must be between 0 and 1 (exclusive), got {confidence_level!r}")
    acc, f1 = bootstrap_replicates(cm, int(n_resamples), seed)
    return {
        "level": float(confidence_level),
        "method": "bootstrap",
        "n_resamples": int(n_resamples),
        "accuracy": percentile_interval(acc, confidence_level),
        "f1_macro": percentile_interval(f1, confidence_level),
    }
