"""ROC and precision-recall curves aggregated on a fixed grid (layer L1, pure numpy).

A report must not grow with the data, so a curve is kept at fixed abscissae:

- ROC: the true-positive rate at ``ROC_GRID`` false-positive rates (0, 0.005, ..., 1). It is
  the exact ROC curve (ties drawn as a diagonal, as the trapezoid AUC counts them) read at
  those points: for FPR ``f`` with ``m = floor(f * N)``, the curve lies on the segment of the
  (m+1)-th highest negative score ``s`` and its ties, from ``(FP(score > s), TP(score > s))``
  to ``(FP(score >= s), TP(score >= s))``. Where the exact curve has a vertical step at ``f``
  the grid keeps its top. This equals ``numpy.interp(grid, fpr, tpr)`` on scikit-learn's
  ``roc_curve`` (up to which end of a vertical step is kept).
- Precision-recall: the precision of the first operating point (highest threshold) whose
  recall reaches ``r`` for each ``r`` in ``PR_GRID`` (0.005, ..., 1). This equals looking up
  scikit-learn's ``precision_recall_curve`` at the first point with recall >= r.

Each class needs one sort of its negative scores and one of its positive scores; the grid
points come from ``np.searchsorted``. The AUC of the aggregated ROC (trapezoids on the grid)
differs from the exact AUC by at most ``1 / (2 * (len(grid) - 1))`` = 0.0025, and in practice
by far less; the report shows exact AUC / AP from the metrics where it has them.

Micro averages pool every (row, class) pair into one binary problem; with more than
``MICRO_MAX_PAIRS`` pairs they use an evenly spaced sample of rows (every k-th row) and say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

GRID_POINTS = 201
ROC_GRID = np.linspace(0.0, 1.0, GRID_POINTS)
PR_GRID = np.linspace(0.0, 1.0, GRID_POINTS)[1:]
#: Micro averages over more (row, class) pairs than this use every k-th row.
MICRO_MAX_PAIRS = 4_000_000


@dataclass(frozen=True)
class GridCurves:
    """ROC and PR of one binary problem on the fixed grids (None where undefined)."""

    tpr: np.ndarray | None  # at ROC_GRID; None without positives or without negatives
    precision: np.ndarray | None  # at PR_GRID; None without positives
    n_pos: int
    n_neg: int

    @property
    def roc_auc(self) -> float | None:
        return None if self.tpr is None else float(np.trapezoid(self.tpr, ROC_GRID))

    @property
    def average_precision(self) -> float | None:
        """Step-wise area on the recall grid (close to the exact average precision)."""
        if self.precision is None:
            return None
        return float(np.sum(np.diff(np.r_[0.0, PR_GRID]) * self.precision))


def grid_curves(is_pos, scores) -> GridCurves:
    """Aggregated ROC and PR for a boolean target and scores of equal length."""
    y = np.asarray(is_pos, dtype=bool)
    s = np.asarray(scores)
    if s.dtype.kind != "f":
        s = s.astype(np.float64)
    pos = np.sort(s[y])
    neg = np.sort(s[~y])
    return _from_sorted(pos, neg)


def _from_sorted(pos: np.ndarray, neg: np.ndarray) -> GridCurves:
    n_pos, n_neg = int(pos.size), int(neg.size)
    tpr = None
    precision = None
    if n_pos and n_neg:
        exact = ROC_GRID * n_neg
        m = np.minimum(np.floor(exact + 1e-9).astype(np.int64), n_neg)
        inner = m < n_neg
        # the (m+1)-th highest negative score (neg is ascending) and its tie group: the curve
        # runs diagonally from (fp_above, tp_above) to (fp_at_or_above, tp_at_or_above)
        s = neg[np.clip(n_neg - 1 - m, 0, n_neg - 1)]
        fp_above = n_neg - np.searchsorted(neg, s, side="right")
        fp_at_or_above = n_neg - np.searchsorted(neg, s, side="left")
        frac = np.clip((exact - fp_above) / np.maximum(fp_at_or_above - fp_above, 1), 0.0, 1.0)
        tp_above = n_pos - np.searchsorted(pos, s, side="right")
        tp_at_or_above = n_pos - np.searchsorted(pos, s, side="left")
        tp = tp_above + frac * (tp_at_or_above - tp_above)
        tpr = np.where(inner, tp / n_pos, 1.0)
    if n_pos:
        need = np.maximum(np.ceil(PR_GRID * n_pos - 1e-9).astype(np.int64), 1)
        # threshold: the need-th highest positive score; every row at or above it is predicted positive
        t = pos[n_pos - need]
        tp = n_pos - np.searchsorted(pos, t, side="left")
        fp = n_neg - np.searchsorted(neg, t, side="left") if n_neg else np.zeros_like(tp)
        precision = tp / (tp + fp)
    return GridCurves(tpr=tpr, precision=precision, n_pos=n_pos, n_neg=n_neg)


@dataclass(frozen=True)
class ClassCurves:
    """One-vs-rest curves per class plus micro and macro averages (multiclass) or the single
    positive-class curve (binary)."""

    labels: list[str]
    per_class: list[GridCurves]
    micro: GridCurves | None = None
    macro_tpr: np.ndarray | None = None
    macro_precision: np.ndarray | None = None
    micro_rows: int | None = None  # rows used for the micro average (every k-th row when sampled)
    n_rows: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def macro_roc_auc(self) -> float | None:
        return None if self.macro_tpr is None else float(np.trapezoid(self.macro_tpr, ROC_GRID))

    @property
    def macro_average_precision(self) -> float | None:
        if self.macro_precision is None:
            return None
        return float(np.sum(np.diff(np.r_[0.0, PR_GRID]) * self.macro_precision))


def one_vs_rest_curves(y_true, probs, labels: Sequence[str], *, pos_id: int | None = None,
                       micro_max_pairs: int = MICRO_MAX_PAIRS) -> ClassCurves:
    """Curves for class ids ``y_true`` (n,) and probabilities ``probs`` (n, K).

    Binary (K == 2): one curve, for ``pos_id`` (default 1). Multiclass: one per class (class k
    against the rest on ``probs[:, k]``), the macro average (mean TPR / precision over the
    classes that have positives and negatives) and the micro average (all pairs pooled).
    """
    y = np.asarray(y_true)
    p = np.asarray(probs)
    if p.ndim != 2 or p.shape[0] != y.shape[0] or p.shape[1] != len(labels):
        raise ValueError(f"probs has shape {p.shape}, expected ({y.shape[0]}, {len(labels)})")
    k = p.shape[1]
    if k == 2:
        pid = 1 if pos_id is None else int(pos_id)
        return ClassCurves(labels=[str(labels[pid])], per_class=[grid_curves(y == pid, p[:, pid])], n_rows=y.size)
    per_class = []
    for j in range(k):
        per_class.append(grid_curves(y == j, p[:, j]))
    usable_roc = [c.tpr for c in per_class if c.tpr is not None]
    usable_pr = [c.precision for c in per_class if c.precision is not None]
    macro_tpr = np.mean(usable_roc, axis=0) if usable_roc else None
    macro_precision = np.mean(usable_pr, axis=0) if usable_pr else None
    step = max(1, int(np.ceil(y.size * k / max(micro_max_pairs, 1))))
    ys, ps = (y, p) if step == 1 else (y[::step], p[::step])
    onehot = ys[:, None] == np.arange(k)[None, :]
    micro = grid_curves(onehot.ravel(), ps.ravel())
    notes = []
    if step > 1:
        notes.append(f"the micro average uses one row in every {step} ({ys.size:,} of {y.size:,} rows)")
    return ClassCurves(labels=[str(x) for x in labels], per_class=per_class, micro=micro, macro_tpr=macro_tpr,
                       macro_precision=macro_precision, micro_rows=int(ys.size), n_rows=int(y.size), notes=notes)


def grid_curves_from_counts(pos_counts, neg_counts) -> GridCurves:
    """``grid_curves`` from per-bin positive and negative counts of a score histogram (bins in
    ascending score order, e.g. metrics.streaming.ClassificationState's ``hist_pos`` and
    ``hist_all - hist_pos``). A bin is a tie group: the ROC runs diagonally through it, and a PR
    threshold inside it predicts the whole bin positive, exactly as ``grid_curves`` treats tied
    scores; so on scores that take one value per bin both give the same curves."""
    pos = np.asarray(pos_counts, dtype=np.int64)[::-1]  # highest bin first
    neg = np.asarray(neg_counts, dtype=np.int64)[::-1]
    n_pos, n_neg = int(pos.sum()), int(neg.sum())
    tp_end, fp_end = np.cumsum(pos), np.cumsum(neg)  # at or above each bin
    tp_start, fp_start = tp_end - pos, fp_end - neg  # above each bin
    tpr = precision = None
    if n_pos and n_neg:
        exact = ROC_GRID * n_neg
        m = np.minimum(np.floor(exact + 1e-9).astype(np.int64), n_neg)
        inner = m < n_neg
        # the bin holding the (m+1)-th highest negative: the first bin whose cumulative FP exceeds m
        b = np.minimum(np.searchsorted(fp_end, m, side="right"), len(neg) - 1)
        frac = np.clip((exact - fp_start[b]) / np.maximum(neg[b], 1), 0.0, 1.0)
        tp = tp_start[b] + frac * pos[b]
        tpr = np.where(inner, tp / n_pos, 1.0)
    if n_pos:
        need = np.maximum(np.ceil(PR_GRID * n_pos - 1e-9).astype(np.int64), 1)
        b = np.searchsorted(tp_end, need, side="left")  # the first bin where TP reaches need
        precision = tp_end[b] / (tp_end[b] + fp_end[b])
    return GridCurves(tpr=tpr, precision=precision, n_pos=n_pos, n_neg=n_neg)


def one_vs_rest_from_histograms(hist_pos, hist_all, labels: Sequence[str], *, pos_id: int | None = None) -> ClassCurves:
    """``one_vs_rest_curves`` from per-class score histograms (K, bins): rows of each class's
    score per bin (``hist_all``) and of those, the rows of that class (``hist_pos``). The micro
    average pools the classes' histograms (every (row, class) pair, binned)."""
    hp = np.asarray(hist_pos, dtype=np.int64)
    hn = np.asarray(hist_all, dtype=np.int64) - hp
    k = hp.shape[0]
    n_rows = int(hp.sum())
    if k == 2:
        pid = 1 if pos_id is None else int(pos_id)
        return ClassCurves(labels=[str(labels[pid])], per_class=[grid_curves_from_counts(hp[pid], hn[pid])],
                           n_rows=n_rows)
    per_class = [grid_curves_from_counts(hp[j], hn[j]) for j in range(k)]
    usable_roc = [c.tpr for c in per_class if c.tpr is not None]
    usable_pr = [c.precision for c in per_class if c.precision is not None]
    return ClassCurves(labels=[str(x) for x in labels], per_class=per_class,
                       micro=grid_curves_from_counts(hp.sum(axis=0), hn.sum(axis=0)),
                       macro_tpr=np.mean(usable_roc, axis=0) if usable_roc else None,
                       macro_precision=np.mean(usable_pr, axis=0) if usable_pr else None,
                       micro_rows=n_rows, n_rows=n_rows,
                       notes=[f"curves from per-class score histograms of {hp.shape[1]:,} bins over every row"])
