"""Paired bootstrap of the probability metrics, by row weights (numpy only).

The confusion-matrix metrics are resampled through the joint cells (``paired.py``); the
metrics of the probabilities (ROC AUC, average precision, top-k accuracy, ECE, log loss,
Brier score) need the rows themselves. A resample of n rows is a vector of row counts
``w`` (how often each row was drawn), so every metric becomes a weighted metric:
sorted once by score, ROC AUC and average precision are sums over tied-score groups of
weighted positive / negative counts (scikit-learn's ``sample_weight`` definitions), and the
row means are ``w @ score / n``. All replicates of a batch are scored at once, and both
runs see the same weights. The observed value is the same function with all weights 1.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from modelqa.analysis.paired import PairedDelta, _check_options, row_losses, summarise

#: row weights held in memory at once (2 MB of float32: cache-sized batches)
_BATCH_CELLS = 500_000
TOP_K = (2, 3)
N_BINS = 15


def resample_counts(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``(size, n)`` counts: how often each of n rows is drawn in each of ``size`` resamples."""
    idx = rng.integers(0, n, size=(size, n))
    flat = (np.arange(size)[:, None] * n + idx).ravel()
    return np.bincount(flat, minlength=size * n).reshape(size, n).astype(np.float32)


def weight_batches(n: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    batch = max(1, _BATCH_CELLS // n)
    for start in range(0, n_resamples, batch):
        yield resample_counts(n, min(batch, n_resamples - start), rng)


def weighted_auc_ap(is_pos: np.ndarray, scores: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC AUC and average precision of ``scores`` for each weight row of ``w`` ``(R, n)``;
    NaN where undefined (AUC without positive or negative weight, AP without positive weight)."""
    order = np.argsort(scores, kind="mergesort")[::-1]
    s = scores[order]
    wo = w[:, order]
    p = wo * is_pos[order]                                             # positive weight per row
    q = wo - p                                                         # negative weight per row
    if np.any(s[1:] == s[:-1]):                                        # tied scores form one group each
        starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
        p, q = np.add.reduceat(p, starts, axis=1), np.add.reduceat(q, starts, axis=1)
    tps = np.cumsum(p, axis=1)
    seen = np.cumsum(p + q, axis=1)                                    # tps + fps
    n_pos, n_neg = tps[:, -1], seen[:, -1] - tps[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = ((q * (2 * tps - p)).sum(axis=1)) / (2 * n_pos * n_neg)  # trapezoids: q_g (tps_g + tps_g-1)
        ap = (p * np.divide(tps, seen, out=np.zeros_like(tps), where=seen > 0)).sum(axis=1) / n_pos
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan), np.where(n_pos > 0, ap, np.nan)


def _mean_defined(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Row-wise mean over the finite entries of ``(R, K)`` (weighted by ``weights``); NaN if none."""
    ok = np.isfinite(values)
    wts = ok.astype(np.float64) if weights is None else np.where(ok, weights, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok.any(axis=1), (np.where(ok, values, 0.0) * wts).sum(axis=1) / wts.sum(axis=1), np.nan)


def probability_metrics(y: np.ndarray, probs: np.ndarray, w: np.ndarray, *, pos: int = 1) -> dict[str, np.ndarray]:
    """Every probability metric of ``modelqa.metrics.classification`` for each weight row of
    ``w`` ``(R, n)`` (class ids ``y``, ``probs`` ``(n, K)``), as ``(R,)`` arrays."""
    n, k = probs.shape
    w = np.asarray(w)                  # float32 replicate counts (exact integers), float64 ones observed
    total = w.sum(axis=1, dtype=np.float64)
    def mean(values: np.ndarray) -> np.ndarray:
        return (w @ values.astype(w.dtype)) / total

    out = {metric: mean(row_losses(y, probs, metric, pos=pos)) for metric in ("log_loss", "brier_score")}
    aucs, aps = np.empty((w.shape[0], k)), np.empty((w.shape[0], k))
    for j in range(k):
        aucs[:, j], aps[:, j] = weighted_auc_ap(y == j, probs[:, j], w)
    support = np.stack([w[:, y == j].sum(axis=1, dtype=np.float64) for j in range(k)], axis=1)
    out["roc_auc_ovr_macro"] = _mean_defined(aucs)
    out["roc_auc_ovr_weighted"] = _mean_defined(aucs, support)
    out["average_precision_macro"] = _mean_defined(aps)
    if k == 2:
        out["roc_auc"], out["average_precision"] = aucs[:, pos], aps[:, pos]
    p_true = probs[np.arange(n), y][:, None]
    later = np.arange(k)[None, :] > y[:, None]
    ahead = ((probs > p_true) | ((probs == p_true) & later)).sum(axis=1)   # top_k_hits' tie rule
    for top in TOP_K:
        if k > top:
            out[f"top_{top}_accuracy"] = mean(ahead < top)
    confidence = probs.max(axis=1)
    gap = ((probs.argmax(axis=1) == y) - confidence).astype(w.dtype)
    edges = np.arange(N_BINS + 1) / N_BINS
    bins = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, N_BINS - 1)
    order = np.argsort(bins, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(bins[order])) + 1]
    out["ece"] = np.abs(np.add.reduceat(w[:, order] * gap[order], starts, axis=1)).sum(axis=1) / total
    return out


def paired_probability_deltas(y, probs_a, probs_b, *, pos: int = 1, n_resamples: int = 1000, seed: int = 0,
                              confidence_level: float = 0.95) -> dict[str, PairedDelta]:
    """Deltas B − A of every probability metric, with paired bootstrap intervals and p
    (the same resampled rows for A and B). ``y``: class ids; probs ``(n, K)`` in one class order."""
    _check_options(n_resamples, confidence_level)
    y = np.asarray(y, dtype=np.int64)
    pa, pb = np.asarray(probs_a, dtype=np.float64), np.asarray(probs_b, dtype=np.float64)
    ones = np.ones((1, y.size))
    obs_a, obs_b = probability_metrics(y, pa, ones, pos=pos), probability_metrics(y, pb, ones, pos=pos)
    parts: dict[str, list[np.ndarray]] = {m: [] for m in obs_a}
    for w in weight_batches(y.size, int(n_resamples), seed):
        rep_a, rep_b = probability_metrics(y, pa, w, pos=pos), probability_metrics(y, pb, w, pos=pos)
        for m in parts:
            parts[m].append(rep_b[m] - rep_a[m])
    return {m: summarise(m, obs_a[m][0], obs_b[m][0], np.concatenate(parts[m]), n=int(y.size),
                         n_resamples=n_resamples, confidence_level=confidence_level) for m in obs_a}
