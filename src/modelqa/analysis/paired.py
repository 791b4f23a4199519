"""Paired comparison of two models on the same rows (pure statistics, numpy only).

* ``mcnemar_exact``: McNemar's exact test, the two-sided binomial test on the discordant
  pairs (rows one model gets right and the other wrong) — equal to
  ``scipy.stats.binomtest(b, b + c, 0.5).pvalue`` and to statsmodels'
  ``mcnemar(table, exact=True)`` (``min(1, 2 * Binom(b + c, 1/2).cdf(min(b, c)))``).
* ``paired_bootstrap`` / ``paired_deltas``: bootstrap of metric differences B − A over the
  same rows. Resampling rows with replacement is resampling the joint cells
  (true, pred A, pred B), so one multinomial draw over the occupied cells gives both
  models' confusion matrices of a replicate at once; every metric of
  ``modelqa.metrics.confusion`` is then scored on stacks of matrices. Nothing is recomputed
  row by row, and both models always see the same resampled rows.

Deltas are always B − A ("new minus old"): positive is better for a higher-is-better metric.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from modelqa.errors import UsageError
from modelqa.metrics import confusion as cmx

#: replicate cells held in memory at once (about 32 MB of int64)
_BATCH_CELLS = 4_000_000

#: metrics that follow from a confusion matrix, scored on (R, K, K) stacks
CONFUSION_METRICS = ("accuracy", "balanced_accuracy", "precision_macro", "recall_macro", "f1_macro",
                     "precision_weighted", "recall_weighted", "f1_weighted", "precision_micro",
                     "recall_micro", "f1_micro", "mcc", "cohen_kappa")
PER_CLASS_METRICS = ("precision", "recall", "f1")


@dataclass(frozen=True)
class McNemar:
    """The 2 × 2 table of paired correctness and McNemar's exact two-sided p.

    ``b``: rows A got right and B wrong; ``c``: rows A got wrong and B right;
    ``both_right`` / ``both_wrong`` the concordant rows; ``statistic`` = min(b, c)."""

    b: int
    c: int
    both_right: int
    both_wrong: int
    p_value: float

    @property
    def n(self) -> int:
        return self.b + self.c + self.both_right + self.both_wrong

    @property
    def discordant(self) -> int:
        return self.b + self.c

    @property
    def statistic(self) -> int:
        return min(self.b, self.c)

    def to_dict(self) -> dict:
        return {"test": "mcnemar_exact", "b_right_to_wrong": self.b, "c_wrong_to_right": self.c,
                "both_right": self.both_right, "both_wrong": self.both_wrong, "n": self.n,
                "discordant": self.discordant, "statistic": self.statistic, "p_value": self.p_value}


def _as_bool(values, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise UsageError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype == object and all(isinstance(v, bool | np.bool_) for v in arr.tolist()):
        arr = arr.astype(bool)
    if arr.dtype != bool:
        if arr.dtype.kind not in "iuf" or not np.isin(arr, (0, 1)).all():
            raise UsageError(f"{name} must hold True / False (or 0 / 1) per row")
        arr = arr.astype(bool)
    return arr


def binom_two_sided_half(k: int, n: int) -> float:
    """Exact two-sided p of observing ``k`` successes of ``n`` under p = 1/2:
    ``min(1, 2 * P(X <= min(k, n - k)))``, summed in log space (exact for large n)."""
    if n == 0:
        return 1.0
    m = min(k, n - k)
    if 2 * m == n:
        return 1.0
    ks = np.arange(m, dtype=np.float64)
    # log C(n, k) by the recurrence C(n, k + 1) = C(n, k) (n - k) / (k + 1), all k at once
    log_binom = np.concatenate([[0.0], np.cumsum(np.log(n - ks) - np.log(ks + 1))])
    log_terms = log_binom - n * math.log(2.0)
    top = log_terms.max()
    tail = math.exp(top) * float(np.exp(log_terms - top).sum())
    return float(min(1.0, 2.0 * tail))


def mcnemar_exact(correct_a, correct_b) -> McNemar:
    """McNemar's exact test on two boolean arrays of the same rows (True = row right)."""
    a = _as_bool(correct_a, "correct_a")
    b = _as_bool(correct_b, "correct_b")
    if a.shape != b.shape:
        raise UsageError(f"correct_a and correct_b must have the same length, got {a.size} and {b.size}")
    right_to_wrong = int(np.count_nonzero(a & ~b))
    wrong_to_right = int(np.count_nonzero(~a & b))
    return McNemar(b=right_to_wrong, c=wrong_to_right, both_right=int(np.count_nonzero(a & b)),
                   both_wrong=int(np.count_nonzero(~a & ~b)),
                   p_value=binom_two_sided_half(right_to_wrong, right_to_wrong + wrong_to_right))


@dataclass(frozen=True)
class PairedDelta:
    """One metric of A and B on the same rows, the delta B − A, its paired bootstrap
    percentile interval and two-sided bootstrap p (H0: delta = 0)."""

    metric: str
    value_a: float | None
    value_b: float | None
    delta: float | None
    interval: tuple[float, float] | None
    p_value: float | None
    n: int
    n_resamples: int
    confidence_level: float

    def to_dict(self) -> dict:
        return {"metric": self.metric, "a": self.value_a, "b": self.value_b, "delta": self.delta,
                "interval": list(self.interval) if self.interval else None, "p_value": self.p_value,
                "n": self.n, "n_resamples": self.n_resamples, "confidence_level": self.confidence_level}


def encode_labels(y_true, pred_a, pred_b, labels: Sequence | None = None) -> tuple:
    """Class ids (in ``labels`` order; sorted union of the values when None) of the three arrays,
    plus the label list; a value outside ``labels`` is a UsageError naming it and its row."""
    arrays = [np.asarray(v) for v in (y_true, pred_a, pred_b)]
    if any(a.ndim != 1 for a in arrays) or len({a.size for a in arrays}) != 1:
        raise UsageError("y_true, pred_a and pred_b must be one-dimensional and of the same length, got "
                         + ", ".join(str(a.shape) for a in arrays))
    if arrays[0].size == 0:
        raise UsageError("no rows to compare")
    if labels is None:
        labels = sorted(set(np.concatenate([a.astype(object) for a in arrays]).tolist()), key=str)
    labels = list(labels)
    index = {v: i for i, v in enumerate(labels)}
    out = []
    for name, arr in zip(("y_true", "pred_a", "pred_b"), arrays, strict=True):
        ids = np.fromiter((index.get(v, -1) for v in arr.tolist()), dtype=np.int64, count=arr.size)
        bad = np.flatnonzero(ids < 0)
        if bad.size:
            raise UsageError(f"{name} has the value {arr.tolist()[bad[0]]!r} at row {bad[0]}, which is not one of the "
                             f"labels {labels[:10]}")
        out.append(ids)
    return out[0], out[1], out[2], labels


def stack_metrics(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric of ``CONFUSION_METRICS`` for a ``(R, K, K)`` stack, as ``(R,)`` arrays
    (NaN where undefined), plus per-class ``precision`` / ``recall`` / ``f1`` as ``(R, K)``
    (NaN for a class absent from both true and predicted labels of a replicate)."""
    cm = np.asarray(cm, dtype=np.float64)
    tp, pred, true = cmx.class_sums(cm)
    n = true.sum(axis=-1)
    precision, recall, f1 = cmx.precision_recall_f1(cm)
    present = cmx.present_classes(cm)
    has_true = true > 0
    out = {
        "accuracy": tp.sum(axis=-1) / n,
        "balanced_accuracy": (np.where(has_true, recall, 0.0).sum(axis=-1) / has_true.sum(axis=-1)),
        "precision_macro": cmx.macro_average(precision, present),
        "recall_macro": cmx.macro_average(recall, present),
        "f1_macro": cmx.macro_average(f1, present),
        "precision_weighted": cmx.weighted_average(precision, true),
        "recall_weighted": cmx.weighted_average(recall, true),
        "f1_weighted": cmx.weighted_average(f1, true),
        "precision_micro": tp.sum(axis=-1) / pred.sum(axis=-1),
        "recall_micro": tp.sum(axis=-1) / n,
        "f1_micro": 2 * tp.sum(axis=-1) / (pred.sum(axis=-1) + n),
    }
    cov_tp = tp.sum(axis=-1) * n - (true * pred).sum(axis=-1)
    cov_pp = n**2 - (pred * pred).sum(axis=-1)
    cov_tt = n**2 - (true * true).sum(axis=-1)
    den = cov_pp * cov_tt
    with np.errstate(divide="ignore", invalid="ignore"):
        out["mcc"] = np.where(den == 0, 0.0, cov_tp / np.sqrt(np.where(den == 0, 1.0, den)))
        expected = n - (true * pred).sum(axis=-1) / n
        out["cohen_kappa"] = np.where(expected == 0, np.nan, 1 - (n - tp.sum(axis=-1)) / expected)
    out["per_class_precision"] = np.where(present, precision, np.nan)
    out["per_class_recall"] = np.where(has_true, recall, np.nan)
    out["per_class_f1"] = np.where(present, f1, np.nan)
    return out


def _joint_cells(y: np.ndarray, a: np.ndarray, b: np.ndarray, k: int):
    """Occupied (true, A, B) cells, their counts, and each cell's index in A's and B's matrix."""
    cells, counts = np.unique((y * k + a) * k + b, return_counts=True)
    true, rest = np.divmod(cells, k * k)
    pa, pb = np.divmod(rest, k)
    return counts, true * k + pa, true * k + pb


def _scatter(draws: np.ndarray, target: np.ndarray, k: int) -> np.ndarray:
    """Sum the (R, m) cell draws into (R, K, K) matrices, cell j going to flat index target[j]."""
    order = np.argsort(target, kind="stable")
    sorted_target = target[order]
    starts = np.flatnonzero(np.r_[True, sorted_target[1:] != sorted_target[:-1]])
    sums = np.add.reduceat(draws[:, order], starts, axis=1)
    out = np.zeros((draws.shape[0], k * k), dtype=np.int64)
    out[:, sorted_target[starts]] = sums
    return out.reshape(-1, k, k)


def paired_replicates(y: np.ndarray, a: np.ndarray, b: np.ndarray, k: int, *, n_resamples: int,
                      seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(cm_a, cm_b)``: ``(R, K, K)`` confusion matrices of A and B on the same R row resamples."""
    counts, target_a, target_b = _joint_cells(y, a, b, k)
    n = int(counts.sum())
    rng = np.random.default_rng(seed)
    batch = max(1, _BATCH_CELLS // max(counts.size, k * k))
    parts_a, parts_b = [], []
    for start in range(0, n_resamples, batch):
        draws = rng.multinomial(n, counts / n, size=min(batch, n_resamples - start))
        parts_a.append(_scatter(draws, target_a, k))
        parts_b.append(_scatter(draws, target_b, k))
    return np.concatenate(parts_a), np.concatenate(parts_b)


def _check_options(n_resamples, confidence_level) -> None:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int | np.integer) or n_resamples < 1:
        raise UsageError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if not 0.0 < confidence_level < 1.0:
        raise UsageError(f"confidence_level must be between 0 and 1 (exclusive), got {confidence_level!r}")


def bootstrap_p(deltas: np.ndarray) -> float | None:
    """Two-sided bootstrap p of H0 delta = 0: twice the smaller share of replicates on either
    side of 0 (each share counted with +1 / R+1, so it is never 0), at most 1."""
    d = deltas[np.isfinite(deltas)]
    if d.size == 0:
        return None
    r = d.size
    low = (np.count_nonzero(d <= 0) + 1) / (r + 1)
    high = (np.count_nonzero(d >= 0) + 1) / (r + 1)
    return float(min(1.0, 2 * min(low, high)))


def summarise(name: str, obs_a: float, obs_b: float, reps: np.ndarray, *, n: int, n_resamples: int,
               confidence_level: float) -> PairedDelta:
    def num(x) -> float | None:
        return float(x) if x is not None and np.isfinite(x) else None

    finite = reps[np.isfinite(reps)]
    interval = None
    if finite.size:
        alpha = 1.0 - confidence_level
        lo, hi = np.percentile(finite, [100 * alpha / 2, 100 * (1 - alpha / 2)])
        interval = (float(lo), float(hi))
    delta = num(obs_b - obs_a) if num(obs_a) is not None and num(obs_b) is not None else None
    return PairedDelta(metric=name, value_a=num(obs_a), value_b=num(obs_b), delta=delta,
                       interval=interval if delta is not None else None,
                       p_value=bootstrap_p(reps) if delta is not None else None, n=n,
                       n_resamples=int(n_resamples), confidence_level=float(confidence_level))


@dataclass(frozen=True)
class PairedComparison:
    """Every requested metric's ``PairedDelta`` and per-class ones (``per_class[metric][label]``)."""

    labels: list
    metrics: dict[str, PairedDelta]
    per_class: dict[str, dict[str, PairedDelta]]

    def to_dict(self) -> dict:
        return {"labels": [str(x) for x in self.labels],
                "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
                "per_class": {m: {str(lab): d.to_dict() for lab, d in rows.items()}
                              for m, rows in self.per_class.items()}}


def paired_deltas(y_true, pred_a, pred_b, *, metrics: Sequence[str] = CONFUSION_METRICS,
                  per_class: Sequence[str] = ("recall", "f1"), n_resamples: int = 1000, seed: int = 0,
                  confidence_level: float = 0.95, labels: Sequence | None = None) -> PairedComparison:
    """Deltas B − A of ``metrics`` (names of ``CONFUSION_METRICS``) and of the ``per_class``
    metrics (precision / recall / f1), all from the same seeded row resamples."""
    _check_options(n_resamples, confidence_level)
    unknown = [m for m in metrics if m not in CONFUSION_METRICS]
    unknown += [m for m in per_class if m not in PER_CLASS_METRICS]
    if unknown:
        raise UsageError(f"unknown paired metric(s) {unknown}; known: {', '.join(CONFUSION_METRICS)} "
                         f"and per class {', '.join(PER_CLASS_METRICS)}")
    y, a, b, names = encode_labels(y_true, pred_a, pred_b, labels)
    k = max(len(names), 1)
    obs_a = stack_metrics(cmx.confusion_matrix(y, a, k)[None])
    obs_b = stack_metrics(cmx.confusion_matrix(y, b, k)[None])
    cm_a, cm_b = paired_replicates(y, a, b, k, n_resamples=int(n_resamples), seed=seed)
    rep_a, rep_b = stack_metrics(cm_a), stack_metrics(cm_b)
    common = {"n": int(y.size), "n_resamples": n_resamples, "confidence_level": confidence_level}
    out = {m: summarise(m, obs_a[m][0], obs_b[m][0], rep_b[m] - rep_a[m], **common) for m in metrics}
    classes: dict[str, dict[str, PairedDelta]] = {}
    for m in per_class:
        key = f"per_class_{m}"
        classes[m] = {str(lab): summarise(m, obs_a[key][0, j], obs_b[key][0, j],
                                           rep_b[key][:, j] - rep_a[key][:, j], **common)
                      for j, lab in enumerate(names)}
    return PairedComparison(labels=names, metrics=out, per_class=classes)


def paired_bootstrap(y_true, pred_a, pred_b, *, metric: str = "accuracy", n_resamples: int = 1000,
                     seed: int = 0, confidence_level: float = 0.95,
                     labels: Sequence | None = None) -> PairedDelta:
    """The delta B − A of one confusion-matrix ``metric`` with its paired bootstrap interval and p."""
    comparison = paired_deltas(y_true, pred_a, pred_b, metrics=(metric,), per_class=(),
                               n_resamples=n_resamples, seed=seed, confidence_level=confidence_level,
                               labels=labels)
    return comparison.metrics[metric]


def paired_mean_delta(score_a, score_b, *, metric: str = "mean", n_resamples: int = 1000, seed: int = 0,
                      confidence_level: float = 0.95) -> PairedDelta:
    """The delta B − A of a per-row mean (log loss, Brier score: one score per row and model)
    with its paired bootstrap interval and p: the same resampled row indices for both models."""
    _check_options(n_resamples, confidence_level)
    sa = np.asarray(score_a, dtype=np.float64)
    sb = np.asarray(score_b, dtype=np.float64)
    if sa.ndim != 1 or sa.shape != sb.shape or sa.size == 0:
        raise UsageError(f"score_a and score_b must be non-empty one-dimensional arrays of the same length, "
                         f"got {sa.shape} and {sb.shape}")
    d = sb - sa
    n = d.size
    rng = np.random.default_rng(seed)
    batch = max(1, _BATCH_CELLS // n)
    reps = np.concatenate([d[rng.integers(0, n, size=(min(batch, n_resamples - s), n))].mean(axis=1)
                           for s in range(0, n_resamples, batch)])
    return summarise(metric, sa.mean(), sb.mean(), reps, n=n, n_resamples=n_resamples,
                      confidence_level=confidence_level)


def row_losses(y: np.ndarray, probs: np.ndarray, metric: str, *, pos: int = 1) -> np.ndarray:
    """Per-row contributions whose mean is ``modelqa.metrics`` log loss or Brier score:
    ``-ln p[y]`` (clipped to [eps, 1 - eps]); Brier ``sum_k (p_k - [y == k])^2``, or for two
    classes ``(p_pos - [y == pos])^2`` (class id ``pos`` positive, as metrics.json reports it)."""
    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(probs, dtype=np.float64)
    rows = np.arange(y.size)
    if metric == "log_loss":
        eps = float(np.finfo(np.float64).eps)
        return -np.log(np.clip(p[rows, y], eps, 1 - eps))
    if metric != "brier_score":
        raise UsageError(f"row_losses: metric must be log_loss or brier_score, not {metric!r}")
    if p.shape[1] == 2:
        return (p[:, pos] - (y == pos)) ** 2
    diff = p.copy()
    diff[rows, y] -= 1.0
    return (diff * diff).sum(axis=1)
