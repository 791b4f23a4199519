"""Confident learning (Northcutt et al., 2021): rows whose given label is probably wrong.

Pure numpy. The flagged rows equal ``cleanlab.filter.find_label_issues(labels, pred_probs)``
with its defaults (``filter_by="prune_by_noise_rate"``, ``frac_noise=1.0``,
``min_examples_per_class=1``) on the same probabilities; cleanlab is the test oracle, never
imported here. The steps:

1. per-class thresholds ``t_k`` = mean probability of class k over the rows labelled k
   (2 for a class no row carries, so nothing is counted in it; at least 2e-6);
2. the confident joint ``C[given, true]``: a row counts in the class whose probability reaches
   its threshold (``p >= t - 1e-6``), the most probable one when several do; rows confident
   in no class are not counted; every diagonal cell at least 1;
3. calibration: each row of ``C`` rescaled to the number of rows with that given label, the
   whole to the number of rows, then rounded keeping row totals;
4. pruning by noise rate: for given label k and every other class j, the ``C[k, j]`` rows
   labelled k with the largest margin ``p_j - p_k`` are flagged (a class with at most
   ``min_examples_per_class`` rows is left alone);
5. a row the model itself predicts as its given label (within 1e-6) is never flagged.

Rows are ranked worst first by self-confidence (the probability of the given label).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelqa.errors import DataError

FLOAT_EPS = 1e-6               # cleanlab's FLOATING_POINT_COMPARISON
THRESHOLD_FLOOR = 2 * FLOAT_EPS
ABSENT_THRESHOLD = 2.0         # a class with no labelled row: no probability reaches it
TINY = 1e-100


def _check(labels, probs) -> tuple[np.ndarray, np.ndarray]:
    probs = np.asarray(probs)
    labels = np.asarray(labels)
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise DataError(f"probabilities must be a (rows, classes) table with at least 2 classes, "
                        f"not shape {probs.shape}")
    if labels.ndim != 1 or len(labels) != len(probs):
        raise DataError(f"{len(labels)} labels for {len(probs)} rows of probabilities")
    if len(labels) == 0:
        raise DataError("no labelled rows to look for label issues in")
    if not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"labels must be class ids (integers), not {labels.dtype}")
    bad = np.flatnonzero((labels < 0) | (labels >= probs.shape[1]))
    if bad.size:
        raise DataError(f"row {int(bad[0]) + 1}: class id {int(labels[bad[0]])} is outside 0..{probs.shape[1] - 1}")
    if not np.isfinite(probs).all() or probs.min() < -FLOAT_EPS or probs.max() > 1 + FLOAT_EPS:
        raise DataError("probabilities must be finite numbers between 0 and 1")
    return labels, probs


def confident_thresholds(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Per class: the mean probability of that class over the rows labelled with it."""
    present = set(np.unique(labels).tolist())
    t = [np.mean(probs[:, k][labels == k]) if k in present else ABSENT_THRESHOLD for k in range(probs.shape[1])]
    return np.clip(t, THRESHOLD_FLOOR, None)


def round_preserving_sum(values: np.ndarray) -> np.ndarray:
    """Round to integers keeping the rounded total: the largest rounding losses are moved up
    (or the largest gains down) one unit at a time."""
    floats = np.asarray(values, dtype=float)
    ints = floats.round()
    target = np.sum(floats).round()
    total = np.sum(ints).round()
    while abs(total - target) > FLOAT_EPS:
        diff = np.round(target - total)
        step = -1 if diff < 0.0 else 1
        changes = min(int(abs(diff)), len(floats))
        for i in np.argsort(floats - ints)[::-step][:changes]:
            ints[i] += step
        total = np.sum(ints).round()
    return ints.astype(int)


def round_preserving_row_totals(matrix: np.ndarray) -> np.ndarray:
    return np.apply_along_axis(round_preserving_sum, 1, matrix).astype(int)


def calibrate_joint(joint: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Rows rescaled to the given-label counts, the whole to the row count, rounded."""
    counts = np.bincount(labels, minlength=len(joint))
    cal = (joint.T / np.clip(joint.sum(axis=1), TINY, None) * counts).T
    cal = cal / np.clip(np.sum(cal), TINY, None) * counts.sum()
    return round_preserving_row_totals(cal)


def confident_joint(labels, probs, *, calibrate: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(C[given, true], indices of the rows counted off the diagonal)."""
    labels, probs = _check(labels, probs)
    k = probs.shape[1]
    confident = probs >= confident_thresholds(labels, probs) - FLOAT_EPS
    n_confident = confident.sum(axis=1)
    guess = np.where(n_confident > 1, probs.argmax(axis=1), confident.argmax(axis=1))
    counted = n_confident > 0
    given, true = labels[counted], guess[counted]
    # counted as [true, given] and transposed: the F-ordered layout changes np.sum's pairwise
    # order in calibration, and so which side a cell of exactly .5 rounds to (as in cleanlab)
    joint = np.zeros((k, k), dtype=np.int64)
    np.add.at(joint, (true, given), 1)
    joint = joint.T
    np.fill_diagonal(joint, joint.diagonal().clip(min=1))
    if calibrate:
        joint = calibrate_joint(joint, labels)
    off = np.arange(len(labels))[counted][given != true]
    return joint, off


def _prune_counts(joint: np.ndarray, *, min_per_class: int, frac_noise: float) -> np.ndarray:
    """How many rows to prune per (true j, given k): ``joint.T`` with each diagonal raised to at
    least ``min_per_class`` (taken evenly from that column's non-zero noise cells), noise cells
    scaled by ``frac_noise``, truncated to integers."""
    pcm = joint.T
    diag = np.diagonal(pcm)
    new_diag = np.maximum(diag, min_per_class)
    per_col = np.maximum(np.count_nonzero(pcm, axis=0) - 1.0, 1.0)
    mat = pcm - (new_diag - diag) / per_col
    mat[mat < 0] = 0
    np.fill_diagonal(mat, new_diag)
    reduced = mat * frac_noise
    np.fill_diagonal(reduced, mat.diagonal())
    np.fill_diagonal(reduced, mat.diagonal() + np.sum(mat - reduced, axis=0))
    return round_preserving_row_totals(reduced.astype(int)).astype(int)


def self_confidence(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """The probability the model gives each row's given label (low = suspicious)."""
    return probs[np.arange(len(labels)), labels]


def margin_and_suggestion(labels: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p_given - max p_other, the most probable other class) per row."""
    others = np.array(probs, dtype=float, copy=True)
    others[np.arange(len(labels)), labels] = -np.inf
    suggested = others.argmax(axis=1)
    return self_confidence(labels, probs) - others[np.arange(len(labels)), suggested], suggested


@dataclass(frozen=True)
class LabelIssues:
    """Result of ``find_label_issues``: ``mask`` (n,) flagged rows; ``ranked`` their indices worst
    first; ``suggested`` / ``margin`` / ``self_confidence`` per row; the calibrated joint."""

    mask: np.ndarray
    ranked: np.ndarray
    suggested: np.ndarray
    margin: np.ndarray
    self_confidence: np.ndarray
    joint: np.ndarray
    thresholds: np.ndarray
    small_classes: tuple[int, ...]    # classes too small to prune (<= min_examples_per_class rows)

    @property
    def n_issues(self) -> int:
        return int(self.mask.sum())


def find_label_issues(labels, probs, *, min_examples_per_class: int = 1, frac_noise: float = 1.0) -> LabelIssues:
    """Confident learning with pruning by noise rate (module doc)."""
    labels, probs = _check(labels, probs)
    if len(np.unique(labels)) < 2:
        raise DataError("label issues need at least 2 classes among the given labels")
    if not 0.0 <= frac_noise <= 1.0:
        raise DataError(f"frac_noise must be between 0 and 1, not {frac_noise!r}")
    k = probs.shape[1]
    joint, _ = confident_joint(labels, probs)
    prune = _prune_counts(joint, min_per_class=int(min_examples_per_class), frac_noise=float(frac_noise))
    mask = np.zeros(len(labels), dtype=bool)
    small = []
    for given in range(k):
        rows = np.flatnonzero(labels == given)
        if len(rows) <= min_examples_per_class:
            if len(rows):
                small.append(given)
            continue
        p = probs[rows]
        flagged = np.zeros(len(rows), dtype=bool)
        for true in range(k):
            count = prune[true, given]
            if true != given and count > 0:
                flagged[np.argsort(-(p[:, true] - p[:, given]))[:count]] = True
        if len(rows) > 1:
            mask[rows] = flagged
    nudged = np.array(probs, copy=True)
    nudged[np.arange(len(labels)), labels] += FLOAT_EPS
    mask[nudged.argmax(axis=1) == labels] = False
    conf = self_confidence(labels, probs)
    margin, suggested = margin_and_suggestion(labels, probs)
    idx = np.flatnonzero(mask)
    ranked = idx[np.argsort(conf[idx])]      # the order of cleanlab's return_indices_ranked_by="self_confidence"
    return LabelIssues(mask=mask, ranked=ranked, suggested=suggested, margin=margin, self_confidence=conf,
                       joint=joint, thresholds=confident_thresholds(labels, probs), small_classes=tuple(small))
