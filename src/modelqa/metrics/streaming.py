"""Mergeable classification state for streaming evaluation (layer L1, pure numpy).

``ClassificationState`` keeps only sums and counts, so ``merge`` is addition and
split-then-merge equals one pass (DESIGN.md, "Mergeable sufficient statistics"):

- the ``(K, K)`` confusion matrix (every label metric and the bootstrap come from it);
- the sum of ``-ln p[y]`` (log loss), the per-class sums of ``(p_k - [y == k])^2`` (Brier,
  multiclass and binary), top-k hit counts;
- the 15 reliability bins (counts, correct, confidence sums) for the ECE;
- per class, a histogram of its score over ``n_bins`` equal-width bins of [0, 1], split
  into positive rows (true class == k) and negative rows: one-vs-rest ROC AUC and average
  precision are read from it ("auc_method": "binned") with a stated maximum error;
- optionally (``keep_scores=True``) the scores and true ids themselves, for exact AUC / AP
  ("auc_method": "exact"); then the state is no longer bounded in memory.

``compute`` returns the metrics.json document of ``classification_metrics`` with the same
keys, reusing its functions on the confusion matrix so the label metrics are identical.

Binned AUC bound: a (positive, negative) pair in different bins is ordered exactly as by
its scores; a pair sharing a bin counts 1/2, where the exact value counts 0, 1/2 or 1. So
``|AUC_binned - AUC_exact| <= 0.5 * sum_b P_b N_b / (P N)``.
Binned AP bound: every positive of bin ``b`` is given the precision at the bin's end,
``(T + P_b) / (T + P_b + F + N_b)`` with ``T`` / ``F`` the positives / negatives in higher
bins; its exact precision (at the end of its tie group) lies in
``[(T + 1) / (T + 1 + F + N_b), (T + P_b) / (T + P_b + F)]``, which contains the binned value,
so ``|AP_binned - AP_exact| <= sum_b (P_b / P) * (hi_b - lo_b)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from modelqa.errors import DataError, UsageError
from modelqa.metrics.calibration import N_BINS as CALIBRATION_BINS
from modelqa.metrics.calibration import ReliabilityTable
from modelqa.metrics.checks import check_class_ids, check_labels, check_probs
from modelqa.metrics.classification import (
    TOP_K,
    _confusion_metrics,
    _num,
    metrics_document,
    probability_block,
)
from modelqa.metrics.probabilistic import _EPS, top_k_hits
from modelqa.metrics.ranking import average_precision_from_curve, binary_curve, roc_auc_from_curve

#: Score bins per class for the binned ROC AUC / average precision.
DEFAULT_SCORE_BINS = 10_000


class ClassificationState:
    """Sums and counts of a classifier's outputs; ``update`` per chunk, ``merge``, ``compute``."""

    def __init__(self, n_classes: int, *, n_bins: int = DEFAULT_SCORE_BINS, keep_scores: bool = False,
                 with_probs: bool = True, capacity: int | None = None) -> None:
        """``capacity`` (with ``keep_scores``): the number of rows to come, when known, so the scores
        go into one preallocated array instead of a list of chunks joined at the end (one copy less)."""
        if n_classes < 2:
            raise DataError(f"a classifier needs at least 2 classes, got {n_classes}")
        if n_bins < 1:
            raise UsageError(f"n_bins must be at least 1, got {n_bins}")
        self.n_classes = int(n_classes)
        self.n_bins = int(n_bins)
        self.keep_scores = bool(keep_scores)
        self.with_probs = bool(with_probs)
        k = self.n_classes
        self.n = 0
        self.cm = np.zeros((k, k), dtype=np.int64)
        self.log_loss_sum = 0.0
        self.sq_error_sum = np.zeros(k, dtype=np.float64)  # per class: sum of (p_k - [y == k])^2
        self.top_k_hits = {t: 0 for t in TOP_K if k > t}
        self.cal_counts = np.zeros(CALIBRATION_BINS, dtype=np.int64)
        self.cal_correct = np.zeros(CALIBRATION_BINS, dtype=np.int64)
        self.cal_confidence = np.zeros(CALIBRATION_BINS, dtype=np.float64)
        self.hist_all = np.zeros((k, self.n_bins), dtype=np.int64)  # rows per (class, score bin)
        self.hist_pos = np.zeros((k, self.n_bins), dtype=np.int64)  # of which true class == class
        self._scores: list[np.ndarray] = []
        self._y: list[np.ndarray] = []
        self._store = self._store_y = None
        if self.keep_scores and capacity is not None:
            self._store = np.empty((int(capacity), k), dtype=np.float64)
            self._store_y = np.empty(int(capacity), dtype=np.int64)
        self._filled = 0

    # -- accumulate -------------------------------------------------------------------------
    def update(self, y_true, probs=None, *, y_pred=None) -> ClassificationState:
        """Add a chunk: ``y_true`` class ids and ``probs`` ``(n, K)`` (and/or ``y_pred`` ids;
        without it the prediction is the argmax of ``probs``)."""
        y = check_class_ids(y_true, self.n_classes, "y_true")
        if y.size == 0:
            return self
        if self.with_probs:
            if probs is None:
                raise UsageError("this state keeps probability metrics; give probs to update")
            p = check_probs(probs, y.size, self.n_classes)
        elif probs is not None:
            raise UsageError("this state was made with with_probs=False; probs would be ignored")
        if y_pred is None:
            if not self.with_probs:
                raise UsageError("give y_pred or probs")
            pred = p.argmax(axis=1)
        else:
            pred = check_class_ids(y_pred, self.n_classes, "y_pred")
            if pred.size != y.size:
                raise DataError(f"y_true has {y.size} rows but y_pred has {pred.size}")
        k = self.n_classes
        self.n += int(y.size)
        self.cm += np.bincount(y * k + pred, minlength=k * k).reshape(k, k)
        if self.with_probs:
            self._update_probs(y, p)
        return self

    def _update_probs(self, y: np.ndarray, p: np.ndarray) -> None:
        k, rows = self.n_classes, np.arange(y.size)
        p_true = p[rows, y]
        self.log_loss_sum += float(-np.log(np.clip(p_true, _EPS, 1 - _EPS)).sum())
        diff = p.copy()
        diff[rows, y] -= 1.0
        self.sq_error_sum += np.einsum("ij,ij->j", diff, diff)
        del diff
        for t in self.top_k_hits:
            self.top_k_hits[t] += int(top_k_hits(y, p, t).sum())
        # reliability bins, exactly as calibration.reliability_table bins them
        edges = np.arange(CALIBRATION_BINS + 1) / CALIBRATION_BINS
        top = p.argmax(axis=1)
        confidence = p[rows, top]
        cbin = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, CALIBRATION_BINS - 1)
        self.cal_counts += np.bincount(cbin, minlength=CALIBRATION_BINS)
        self.cal_correct += np.bincount(cbin[top == y], minlength=CALIBRATION_BINS)
        self.cal_confidence += np.bincount(cbin, weights=confidence, minlength=CALIBRATION_BINS)
        # per-class score histograms: bin = floor(p * B), p == 1 in the last bin
        b = self.n_bins
        idx = np.minimum((p * b).astype(np.int64), b - 1)
        pos_idx = idx[rows, y] + y * b
        idx += np.arange(k, dtype=np.int64) * b
        self.hist_all += np.bincount(idx.ravel(), minlength=k * b).reshape(k, b)
        self.hist_pos += np.bincount(pos_idx, minlength=k * b).reshape(k, b)
        if self.keep_scores:
            self._keep(y, p)

    def _keep(self, y: np.ndarray, p: np.ndarray) -> None:
        if self._store is not None and self._filled + y.size <= len(self._store):
            self._store[self._filled:self._filled + y.size] = p
            self._store_y[self._filled:self._filled + y.size] = y
            self._filled += int(y.size)
        else:
            self._scores.append(p.astype(np.float64, copy=True))
            self._y.append(y.copy())

    def _kept(self) -> tuple[np.ndarray, np.ndarray]:
        """Every kept score row and true id, in update order."""
        parts = [self._store[:self._filled]] if self._store is not None and self._filled else []
        ys = [self._store_y[:self._filled]] if self._store is not None and self._filled else []
        parts += self._scores
        ys += self._y
        if len(parts) == 1:
            return parts[0], ys[0]
        if not parts:
            return np.zeros((0, self.n_classes)), np.zeros(0, dtype=np.int64)
        return np.concatenate(parts), np.concatenate(ys)

    def merge(self, other: ClassificationState) -> ClassificationState:
        """Add ``other``'s sums and counts into this state (returns self)."""
        if (other.n_classes, other.n_bins, other.with_probs) != (self.n_classes, self.n_bins, self.with_probs):
            raise UsageError("cannot merge states with different classes, bins or probability settings")
        self.n += other.n
        self.cm += other.cm
        self.log_loss_sum += other.log_loss_sum
        self.sq_error_sum += other.sq_error_sum
        for t in self.top_k_hits:
            self.top_k_hits[t] += other.top_k_hits[t]
        self.cal_counts += other.cal_counts
        self.cal_correct += other.cal_correct
        self.cal_confidence += other.cal_confidence
        self.hist_all += other.hist_all
        self.hist_pos += other.hist_pos
        if self.keep_scores:
            if not other.keep_scores and other.n:
                raise UsageError("cannot merge a state without scores into one that keeps them")
            if other.n:
                scores, y = other._kept()
                self._keep(y, scores)
        return self

    def __add__(self, other: ClassificationState) -> ClassificationState:
        out = ClassificationState(self.n_classes, n_bins=self.n_bins, keep_scores=self.keep_scores,
                                  with_probs=self.with_probs)
        return out.merge(self).merge(other)

    # -- read out ---------------------------------------------------------------------------
    def reliability(self) -> ReliabilityTable:
        return ReliabilityTable(edges=np.arange(CALIBRATION_BINS + 1) / CALIBRATION_BINS,
                                counts=self.cal_counts.copy(), correct=self.cal_correct.copy(),
                                confidence_sum=self.cal_confidence.copy())

    def ranking(self) -> dict:
        """Per-class ``roc_auc`` / ``average_precision`` lists, the method, and (binned) the bounds."""
        if self.keep_scores:
            scores, y = self._kept()
            aucs, aps = [], []
            for k in range(self.n_classes):
                curve = binary_curve(y == k, scores[:, k])
                aucs.append(roc_auc_from_curve(curve))
                aps.append(average_precision_from_curve(curve))
            return {"method": "exact", "roc_auc": aucs, "average_precision": aps}
        aucs, aps, auc_err, ap_err = [], [], [], []
        for k in range(self.n_classes):
            a, ae, p, pe = binned_auc_ap(self.hist_pos[k], self.hist_all[k] - self.hist_pos[k])
            aucs.append(a)
            auc_err.append(ae)
            aps.append(p)
            ap_err.append(pe)
        return {"method": "binned", "roc_auc": aucs, "average_precision": aps,
                "roc_auc_max_error": auc_err, "average_precision_max_error": ap_err}

    def compute(self, labels: Sequence[str], *, pos_label: int | None = None, n_resamples: int = 1000,
                confidence_level: float = 0.95, seed: int = 0) -> dict:
        """The metrics.json document (keys of ``classification_metrics``, plus ``auc_method``
        and, when binned, ``auc_max_error``)."""
        names = check_labels(labels)
        if len(names) != self.n_classes:
            raise DataError(f"{len(names)} labels for a state of {self.n_classes} classes")
        if self.n == 0:
            raise DataError("no rows to evaluate")
        binary = self.n_classes == 2
        if pos_label is not None and not binary:
            raise UsageError(f"pos_label applies to binary tasks only; this task has {self.n_classes} labels")
        pos = 1 if pos_label is None else int(pos_label)
        cm = self.cm
        support = cm.sum(axis=1)
        metrics, per_class = _confusion_metrics(cm)
        if binary:
            for key in ("precision", "recall", "f1"):
                metrics[key] = per_class[key][pos]
        auc_info: dict = {}
        if self.with_probs:
            rk = self.ranking()
            aucs, aps = rk["roc_auc"], rk["average_precision"]
            pm, ppc = probability_block(
                aucs=aucs, aps=aps, support=support, log_loss_value=self.log_loss_sum / self.n,
                brier_value=self.sq_error_sum.sum() / self.n,
                top_k={t: hits / self.n for t, hits in self.top_k_hits.items()},
                ece_value=self.reliability().ece(), binary_pos=pos if binary else None,
                binary_brier=self.sq_error_sum[pos] / self.n)
            pm["auc_method"] = rk["method"]
            metrics.update(pm)
            per_class.update(ppc)
            auc_info["auc_method"] = rk["method"]
            if rk["method"] == "binned":
                auc_err, ap_err = rk["roc_auc_max_error"], rk["average_precision_max_error"]
                per_class["roc_auc_max_error"] = [_num(e) for e in auc_err]
                per_class["average_precision_max_error"] = [_num(e) for e in ap_err]
                defined_auc = [e for e, a in zip(auc_err, aucs, strict=True) if a is not None]
                defined_ap = [e for e, a in zip(ap_err, aps, strict=True) if a is not None]
                auc_info["auc_max_error"] = {
                    "n_bins": self.n_bins,
                    "roc_auc": _num(max(defined_auc)) if defined_auc else None,
                    "average_precision": _num(max(defined_ap)) if defined_ap else None,
                    "note": "largest per-class bound; every macro / weighted average is within it too",
                }
                metrics["auc_max_error"] = auc_info["auc_max_error"]["roc_auc"]
                metrics["average_precision_max_error"] = auc_info["auc_max_error"]["average_precision"]
        doc = metrics_document(n_samples=int(self.n), names=names, metrics=metrics, per_class=per_class, cm=cm,
                               support=support, n_resamples=n_resamples, confidence_level=confidence_level,
                               seed=seed)
        doc.update(auc_info)
        return doc


def binned_auc_ap(pos: np.ndarray, neg: np.ndarray) -> tuple[float | None, float | None, float | None, float | None]:
    """``(roc_auc, auc_max_error, average_precision, ap_max_error)`` from per-bin positive and
    negative counts (bins in ascending score order); None where the metric is undefined."""
    pos = np.asarray(pos, dtype=np.float64)[::-1]  # highest score first
    neg = np.asarray(neg, dtype=np.float64)[::-1]
    n_pos, n_neg = pos.sum(), neg.sum()
    auc = auc_err = ap = ap_err = None
    tp_before = np.cumsum(pos) - pos  # positives in higher bins
    fp_before = np.cumsum(neg) - neg
    if n_pos > 0 and n_neg > 0:
        neg_below = n_neg - fp_before - neg
        auc = float((np.dot(pos, neg_below) + 0.5 * np.dot(pos, neg)) / (n_pos * n_neg))
        auc_err = float(0.5 * np.dot(pos, neg) / (n_pos * n_neg))
    if n_pos > 0:
        used = pos > 0
        tp_end = (tp_before + pos)[used]
        fp_end = (fp_before + neg)[used]
        t0, f0, pb, nb = tp_before[used], fp_before[used], pos[used], neg[used]
        ap = float(np.sum(pb / n_pos * tp_end / (tp_end + fp_end)))
        hi = tp_end / (tp_end + f0)
        lo = (t0 + 1) / (t0 + 1 + f0 + nb)
        ap_err = float(np.sum(pb / n_pos * (hi - lo)))
    return auc, auc_err, ap, ap_err
