"""ROC AUC and average precision, exact (layer L1, pure numpy).

Both come from one descending sort of the scores: at each distinct score (ties grouped)
we count true positives and false positives above or at it, as scikit-learn's
``_binary_clf_curve`` does. ROC AUC is the trapezoid area under that curve, computed in
integer counts (equal to the Mann-Whitney U statistic with ties counted one half);
average precision is scikit-learn's step-wise sum ``sum_i (R_i - R_{i-1}) * P_i``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BinaryCurve:
    """Cumulative counts at each distinct score, highest score first."""

    thresholds: np.ndarray
    tps: np.ndarray  # true positives with score >= threshold
    fps: np.ndarray  # false positives with score >= threshold

    @property
    def n_pos(self) -> int:
        return int(self.tps[-1])

    @property
    def n_neg(self) -> int:
        return int(self.fps[-1])


def binary_curve(is_pos: np.ndarray, scores: np.ndarray) -> BinaryCurve:
    """Counts for a boolean target and float scores of equal length (n >= 1)."""
    order = np.argsort(scores, kind="mergesort")[::-1]
    s = scores[order]
    y = is_pos[order].astype(np.int64)
    last_of_group = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tps = np.cumsum(y)[last_of_group]
    fps = (last_of_group + 1) - tps
    return BinaryCurve(thresholds=s[last_of_group], tps=tps, fps=fps)


def roc_auc_from_curve(curve: BinaryCurve) -> float | None:
    """Area under the ROC curve; None when only one class is present."""
    if curve.n_pos == 0 or curve.n_neg == 0:
        return None
    tps = np.r_[0, curve.tps].astype(np.float64)
    fps = np.r_[0, curve.fps].astype(np.float64)
    twice_area = np.sum(np.diff(fps) * (tps[1:] + tps[:-1]))
    return float(twice_area / (2.0 * curve.n_pos * curve.n_neg))


def average_precision_from_curve(curve: BinaryCurve) -> float | None:
    """Step-wise average precision; None when there are no positives."""
    if curve.n_pos == 0:
        return None
    precision = curve.tps / (curve.tps + curve.fps)
    recall_steps = np.diff(np.r_[0, curve.tps]) / curve.n_pos
    return float(np.sum(recall_steps * precision))


def roc_auc(is_pos: np.ndarray, scores: np.ndarray) -> float | None:
    return roc_auc_from_curve(binary_curve(np.asarray(is_pos, bool), np.asarray(scores, float)))


def average_precision(is_pos: np.ndarray, scores: np.ndarray) -> float | None:
    return average_precision_from_curve(
        binary_curve(np.asarray(is_pos, bool), np.asarray(scores, float))
    )


def one_vs_rest(y_true: np.ndarray, probs: np.ndarray) -> tuple[list, list]:
    """Per-class ``(roc_auc, average_precision)`` lists, class k against the rest on probs[:, k].

    A class absent from y_true gets None for both; a class that is every row gets None
    for ROC AUC (no negatives) and 1.0 for average precision.
    """
    aucs, aps = [], []
    for k in range(probs.shape[1]):
        curve = binary_curve(y_true == k, probs[:, k])
        aucs.append(roc_auc_from_curve(curve))
        aps.append(average_precision_from_curve(curve))
    return aucs, aps
