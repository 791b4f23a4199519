"""Calibration: reliability bins and expected calibration error (layer L1, pure numpy).

Confidence is a row's largest probability and the row counts as correct when that
class (the first one on ties, ``argmax``) is the true class. Bins are equal-width over
[0, 1]; bin ``i`` holds confidences in ``(edges[i], edges[i+1]]``, and the first bin
also holds exactly 0, so a confidence of exactly 1 falls in the last bin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelqa.errors import DataError, UsageError
from modelqa.metrics.checks import check_class_ids, check_probs

N_BINS = 15


@dataclass(frozen=True)
class ReliabilityTable:
    """Per-bin counts and sums (mergeable: add ``counts``, ``correct``, ``confidence_sum``)."""

    edges: np.ndarray  # n_bins + 1 edges, 0 .. 1
    counts: np.ndarray  # rows per bin (int)
    correct: np.ndarray  # correct rows per bin (int)
    confidence_sum: np.ndarray  # sum of confidences per bin (float)

    @property
    def n_samples(self) -> int:
        return int(self.counts.sum())

    def accuracy(self) -> list[float | None]:
        return [None if c == 0 else float(k / c) for k, c in zip(self.correct, self.counts, strict=True)]

    def mean_confidence(self) -> list[float | None]:
        return [None if c == 0 else float(s / c) for s, c in zip(self.confidence_sum, self.counts, strict=True)]

    def ece(self) -> float:
        """``sum_b (n_b / n) * |accuracy_b - confidence_b|`` over non-empty bins."""
        gaps = np.abs(self.correct - self.confidence_sum)  # n_b * |acc_b - conf_b|
        return float(gaps.sum() / self.n_samples)

    def to_dict(self) -> dict:
        """JSON-safe rows: one per bin with its bounds, count, accuracy and mean confidence."""
        acc, conf = self.accuracy(), self.mean_confidence()
        return {
            "n_bins": int(self.counts.size),
            "bins": [
                {
                    "lower": float(self.edges[i]),
                    "upper": float(self.edges[i + 1]),
                    "count": int(self.counts[i]),
                    "accuracy": acc[i],
                    "mean_confidence": conf[i],
                }
                for i in range(self.counts.size)
            ],
        }


def reliability_table(y_true: np.ndarray, probs: np.ndarray, n_bins: int = N_BINS) -> ReliabilityTable:
    """Bin rows by confidence; ``probs`` is ``(n, K)`` over the model's classes."""
    if n_bins < 1:
        raise UsageError(f"n_bins must be at least 1, got {n_bins}")
    probs_arr = np.asarray(probs)
    n_classes = probs_arr.shape[1] if probs_arr.ndim == 2 else 0
    y_true = check_class_ids(y_true, max(n_classes, 1), "y_true")
    if y_true.size == 0:
        raise DataError("no rows to evaluate")
    probs = check_probs(probs_arr, y_true.size, n_classes)
    edges = np.arange(n_bins + 1) / n_bins  # exactly i / n_bins
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y_true
    bins = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    return ReliabilityTable(
        edges=edges,
        counts=np.bincount(bins, minlength=n_bins),
        correct=np.bincount(bins, weights=correct, minlength=n_bins).astype(np.int64),
        confidence_sum=np.bincount(bins, weights=confidence, minlength=n_bins),
    )


def expected_calibration_error(y_true: np.ndarray, probs: np.ndarray, n_bins: int = N_BINS) -> float:
    return reliability_table(y_true, probs, n_bins).ece()
