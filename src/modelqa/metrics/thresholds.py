"""Binary decision thresholds (layer L1, pure numpy).

For a binary target and the positive-class probability ``score`` of each row, a row is
predicted positive when ``score >= threshold``. The candidate thresholds are the distinct
scores (each predicts at least one row positive; the lowest predicts every row positive),
so every choice below is a score that occurs in the data, as in scikit-learn's
``precision_recall_curve`` / ``roc_curve``. All counts come from one descending sort
(``ranking.binary_curve``).

Choices (ties go to the **highest** threshold, i.e. the fewest positive predictions):

- ``best_f1``: the largest F1;
- ``youden_j``: the largest TPR - FPR (Youden's J);
- ``min_recall``: the largest precision among thresholds with recall >= ``min_recall``;
- ``min_cost``: the lowest expected cost per row,
  ``(c_tp*TP + c_fp*FP + c_fn*FN + c_tn*TN) / n`` for a cost matrix (default fp=1, fn=1,
  which is the threshold with the fewest errors). Predicting *no* row positive is not a
  threshold; its cost is reported as ``cost_all_negative`` next to the choice.

See docs/thresholds.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from modelqa.errors import DataError, UsageError, format_rows
from modelqa.metrics.ranking import binary_curve

DEFAULT_MIN_RECALL = 0.8
DEFAULT_COSTS = {"fp": 1.0, "fn": 1.0}
COST_KEYS = ("tp", "fp", "fn", "tn")
GRID = np.arange(101) / 100  # 0.00, 0.01, ..., 1.00 (exactly k / 100)
CURVE_KEYS = ("threshold", "precision", "recall", "f1", "specificity", "predicted_positive_rate", "fpr", "cost")


def parse_costs(spec: str | Mapping | None) -> dict[str, float]:
    """``"fp=1,fn=5"`` (or a mapping) -> ``{"fp": 1.0, "fn": 5.0}``. Cells: tp, fp, fn, tn;
    a missing fp or fn costs 1, a missing tp or tn 0. UsageError names the bad part."""
    if spec is None:
        return dict(DEFAULT_COSTS)
    if isinstance(spec, Mapping):
        items = [(str(k), v) for k, v in spec.items()]
    else:
        items = []
        for part in str(spec).split(","):
            if not part.strip():
                raise UsageError(f"`cost` {spec!r}: empty part; write it like fp=1,fn=5")
            if "=" not in part:
                raise UsageError(f"`cost` {spec!r}: {part.strip()!r} is not name=value; write it like fp=1,fn=5")
            key, value = part.split("=", 1)
            items.append((key.strip(), value.strip()))
    out: dict[str, float] = {}
    for key, value in items:
        k = key.lower()
        if k not in COST_KEYS:
            raise UsageError(f"`cost`: unknown cell {key!r} in {spec!r}; use {', '.join(COST_KEYS)}")
        if k in out:
            raise UsageError(f"`cost`: {k} is given twice in {spec!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise UsageError(f"`cost`: {key}={value!r} is not a number") from None
        if not math.isfinite(number):
            raise UsageError(f"`cost`: {key}={value!r} must be a finite number")
        out[k] = number
    if not out:
        raise UsageError("`cost` is empty; write it like fp=1,fn=5")
    return {"fp": out.get("fp", 1.0), "fn": out.get("fn", 1.0), **{k: out[k] for k in ("tp", "tn") if k in out}}


def check_min_recall(min_recall: float) -> float:
    if isinstance(min_recall, bool) or not isinstance(min_recall, int | float) or not 0.0 <= min_recall <= 1.0:
        raise UsageError(f"`min_recall` must be a number between 0 and 1, not {min_recall!r}")
    return float(min_recall)


def check_threshold(threshold: float) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0.0 <= threshold <= 1.0:
        raise UsageError(f"`threshold` must be a probability between 0 and 1, not {threshold!r}")
    return float(threshold)


def _check_inputs(is_pos, scores) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(is_pos)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 1 or s.ndim != 1 or y.shape != s.shape:
        raise DataError(f"is_pos and scores must be 1-D of equal length, got {y.shape} and {s.shape}")
    if y.size == 0:
        raise DataError("no rows to evaluate")
    bad = np.flatnonzero(~np.isfinite(s))
    if bad.size:
        raise DataError(f"scores hold NaN or infinite values at rows {format_rows(bad)}")
    y = y.astype(bool)
    if y.all() or not y.any():
        raise DataError("threshold analysis needs both positive and negative rows; "
                        f"this data has only {'positive' if y.all() else 'negative'} rows")
    return y, s


def _stats(tp, fp, n_pos: int, n_neg: int, costs: Mapping[str, float]) -> dict[str, np.ndarray]:
    """Every curve column from cumulative counts (arrays of equal length)."""
    tp = np.asarray(tp, dtype=np.float64)
    fp = np.asarray(fp, dtype=np.float64)
    n = n_pos + n_neg
    fn = n_pos - tp
    tn = n_neg - fp
    predicted = tp + fp
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / np.where(predicted > 0, predicted, 1), np.nan)
    cost = (costs.get("tp", 0.0) * tp + costs["fp"] * fp + costs["fn"] * fn + costs.get("tn", 0.0) * tn) / n
    return {
        "precision": precision,
        "recall": tp / n_pos,
        "f1": 2 * tp / (2 * tp + fp + fn),
        "specificity": tn / n_neg,
        "predicted_positive_rate": predicted / n,
        "fpr": fp / n_neg,
        "cost": cost,
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
    }


def _pick(values: np.ndarray, mask: np.ndarray | None = None, *, lowest: bool = False) -> int | None:
    """Index of the best value (candidates are ordered highest threshold first, so the
    first best index is the highest threshold)."""
    v = -values if lowest else values
    if mask is not None:
        if not mask.any():
            return None
        v = np.where(mask, v, -np.inf)
    return int(np.argmax(v))


def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _row(stats: Mapping[str, np.ndarray], i: int, threshold: float) -> dict:
    out = {"threshold": float(threshold)}
    for key in ("precision", "recall", "f1", "specificity", "predicted_positive_rate", "fpr", "cost"):
        out[key] = _num(stats[key][i])
    for key in ("tp", "fp", "fn", "tn"):
        out[key] = int(stats[key][i])
    return out


def stats_at(is_pos, scores, threshold: float, *, costs: Mapping[str, float] | str | None = None) -> dict:
    """Precision, recall, F1, … when predicting ``scores >= threshold`` positive."""
    y, s = _check_inputs(is_pos, scores)
    costs = parse_costs(costs)
    pos = s >= threshold
    st = _stats([np.sum(pos & y)], [np.sum(pos & ~y)], int(y.sum()), int((~y).sum()), costs)
    return _row(st, 0, threshold)


def _aggregate_indices(n_candidates: int, keep: list[int], max_points: int) -> np.ndarray:
    """At most ``max_points`` candidate indices, evenly spread over the candidates (by rank),
    always holding the first, the last and ``keep``."""
    if n_candidates <= max_points:
        return np.arange(n_candidates)
    must = np.unique(np.r_[0, n_candidates - 1, np.asarray(keep, dtype=np.int64)])
    spread = np.round(np.linspace(0, n_candidates - 1, max_points - must.size)).astype(np.int64)
    return np.unique(np.r_[spread, must])


def threshold_analysis(is_pos, scores, *, min_recall: float = DEFAULT_MIN_RECALL,
                       costs: Mapping[str, float] | str | None = None, max_points: int = 1000,
                       grid: bool = True) -> dict:
    """The ``thresholds`` section: chosen thresholds, an aggregated curve, and a 0.01 grid.

    ``is_pos``: boolean target (True = positive class); ``scores``: positive-class
    probabilities. ``curve`` (columnar, highest threshold first) has at most ``max_points``
    points, always including the chosen thresholds; ``grid`` evaluates t = 0.00 … 1.00.
    """
    y, s = _check_inputs(is_pos, scores)
    min_recall = check_min_recall(min_recall)
    costs = parse_costs(costs)
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 10:
        raise UsageError(f"max_points must be an integer >= 10, got {max_points!r}")
    curve = binary_curve(y, s)
    n_pos, n_neg = curve.n_pos, curve.n_neg
    st = _stats(curve.tps, curve.fps, n_pos, n_neg, costs)
    thr = curve.thresholds

    i_f1 = _pick(st["f1"])
    i_j = _pick(st["recall"] - st["fpr"])
    i_rec = _pick(st["precision"], st["recall"] >= min_recall)
    i_cost = _pick(st["cost"], lowest=True)

    chosen = {
        "best_f1": _row(st, i_f1, thr[i_f1]),
        "youden_j": {**_row(st, i_j, thr[i_j]), "j": _num(st["recall"][i_j] - st["fpr"][i_j])},
        "min_recall": None if i_rec is None else {**_row(st, i_rec, thr[i_rec]), "min_recall": min_recall},
        "min_cost": _row(st, i_cost, thr[i_cost]),
    }
    n = n_pos + n_neg
    neg_cost = (costs["fn"] * n_pos + costs.get("tn", 0.0) * n_neg) / n
    chosen["min_cost"].update({"costs": costs, "cost_all_negative": _num(neg_cost),
                               "cost_all_positive": _num(st["cost"][-1])})

    keep = [i for i in (i_f1, i_j, i_rec, i_cost) if i is not None]
    idx = _aggregate_indices(thr.size, keep, max_points)
    out_curve = {"threshold": [float(t) for t in thr[idx]]}
    for key in CURVE_KEYS[1:]:
        out_curve[key] = [_num(v) for v in st[key][idx]]

    section: dict = {
        "rule": "positive when score >= threshold",
        "n_samples": int(n), "n_positive": int(n_pos), "n_negative": int(n_neg),
        "n_candidates": int(thr.size),
        "min_recall": min_recall, "costs": costs,
        "chosen": chosen,
        "curve": {"n_points": int(idx.size), **out_curve},
    }
    if grid:
        section["grid"] = grid_stats(y, s, costs=costs)
    return section


def grid_stats(is_pos, scores, *, costs: Mapping[str, float], thresholds: np.ndarray = GRID) -> dict:
    """Columnar stats at fixed thresholds (precision is None where nothing is predicted positive)."""
    y = np.asarray(is_pos, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    pos_sorted = np.sort(s[y])
    neg_sorted = np.sort(s[~y])
    t = np.asarray(thresholds, dtype=np.float64)
    tp = pos_sorted.size - np.searchsorted(pos_sorted, t, side="left")
    fp = neg_sorted.size - np.searchsorted(neg_sorted, t, side="left")
    st = _stats(tp, fp, int(pos_sorted.size), int(neg_sorted.size), costs)
    out = {"threshold": [float(v) for v in t]}
    for key in CURVE_KEYS[1:]:
        out[key] = [_num(v) for v in st[key]]
    return out
