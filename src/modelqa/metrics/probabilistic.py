"""Metrics of the predicted probabilities (layer L1, pure numpy).

Inputs are validated: ``y_true`` class ids in ``[0, K)``, ``probs`` float64 ``(n, K)``
with rows summing to 1, over the model's classes in model order.
"""

from __future__ import annotations

import numpy as np

_EPS = float(np.finfo(np.float64).eps)


def log_loss(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Mean of ``-ln p[y]``, p clipped to ``[eps, 1 - eps]`` (eps = float64 machine epsilon),
    like scikit-learn's ``log_loss(..., labels=range(K))``."""
    p_true = np.clip(probs[np.arange(y_true.size), y_true], _EPS, 1 - _EPS)
    return float(-np.mean(np.log(p_true)))


def brier_score(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Mean over rows of ``sum_k (p_k - [y == k])^2`` (range 0..2)."""
    diff = probs.copy()
    diff[np.arange(y_true.size), y_true] -= 1.0
    return float(np.mean(np.sum(diff * diff, axis=1)))


def binary_brier_score(y_true: np.ndarray, probs: np.ndarray, pos_label: int) -> float:
    """Mean of ``(p_pos - [y == pos])^2`` (range 0..1), scikit-learn's ``brier_score_loss``."""
    diff = probs[:, pos_label] - (y_true == pos_label)
    return float(np.mean(diff * diff))


def top_k_hits(y_true: np.ndarray, probs: np.ndarray, k: int) -> np.ndarray:
    """Whether the true class is among the k highest probabilities of each row.

    Ties are ranked as scikit-learn's ``top_k_accuracy_score`` ranks them (a stable
    ascending sort, reversed): among equal probabilities the later class comes first.
    """
    n, n_classes = probs.shape
    p_true = probs[np.arange(n), y_true][:, None]
    later = np.arange(n_classes)[None, :] > y_true[:, None]
    ahead = (probs > p_true) | ((probs == p_true) & later)
    return ahead.sum(axis=1) < k


def top_k_accuracy(y_true: np.ndarray, probs: np.ndarray, k: int) -> float:
    return float(np.mean(top_k_hits(y_true, probs, k)))
