"""Performance conditions: thresholds on the metrics of ``--current`` (docs/checks/performance.md).

Any metric of ``metrics.classification.classification_metrics`` can be bounded absolutely
(``min: {f1_macro: 0.8}``, ``max: {log_loss: 0.6}``) or by its lift over a baseline predictor
computed on the same rows (``min_lift_over_majority``: the metric minus the metric of always
predicting the most frequent label; ``min_lift_over_chance``: minus the metric of predicting
labels at random in the label shares, taken on the expected confusion matrix).

The verdict follows the bootstrap interval: fail when the whole interval is on the wrong side
of the threshold, warn when it straddles, pass when it is wholly on the right side. It is
expressed for ``verdict.decide`` as: ``value`` = the interval bound on the bad side (so the
value exceeds the threshold exactly when some of the interval does), ``p_value`` = None when
the whole interval is on the bad side (decided at the interval's confidence level, as an exact
count is: fail) and the bootstrap p (never below alpha) when it straddles (warn).

Confusion-matrix metrics are bootstrapped by drawing the matrix from a multinomial, the same
draws as metrics.json's intervals (same seed: the same accuracy and f1_macro intervals);
probability metrics by resampling rows.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

import numpy as np

from modelqa.analysis.checks.context import CheckContext
from modelqa.analysis.checks.registry import register
from modelqa.analysis.checks.result import CheckConfig, CheckResult, skipped
from modelqa.analysis.checks.verdict import ALPHA
from modelqa.errors import UsageError
from modelqa.metrics import bootstrap as boot
from modelqa.metrics import confusion as cmx
from modelqa.metrics.calibration import reliability_table
from modelqa.metrics.classification import classification_metrics
from modelqa.metrics.probabilistic import binary_brier_score, brier_score, log_loss, top_k_accuracy
from modelqa.metrics.ranking import one_vs_rest

CATEGORY = "performance"
NAME = "performance.metric"
CM_METRICS = ("accuracy", "balanced_accuracy", "precision_macro", "recall_macro", "f1_macro",
              "precision_weighted", "recall_weighted", "f1_weighted", "precision_micro", "recall_micro",
              "f1_micro", "mcc", "cohen_kappa", "precision", "recall", "f1")
PROB_METRICS = ("log_loss", "brier_score", "roc_auc_ovr_macro", "roc_auc_ovr_weighted", "average_precision_macro",
                "roc_auc", "average_precision", "top_2_accuracy", "top_3_accuracy", "ece")
BINARY_ONLY = ("precision", "recall", "f1", "roc_auc", "average_precision")
POS = 1     # the positive class id of binary tasks, as classification_metrics' default
LIMITS = {"min": "below", "max": "above", "min_lift_over_majority": "below", "min_lift_over_chance": "below"}


# ---- metrics of a stack of confusion matrices ------------------------------------------------

def cm_metric(stack: np.ndarray, name: str) -> np.ndarray:
    """``name`` of every ``(K, K)`` matrix in a ``(..., K, K)`` stack (NaN where undefined);
    the definitions of ``metrics.confusion`` / ``classification_metrics``."""
    stack = np.asarray(stack, dtype=np.float64)
    tp, pred, true = cmx.class_sums(stack)
    precision, recall, f1 = cmx.precision_recall_f1(stack)
    present = cmx.present_classes(stack)
    n = true.sum(axis=-1)
    if name == "accuracy":
        return tp.sum(axis=-1) / n
    if name == "balanced_accuracy":
        has = true > 0
        return (np.where(has, cmx._divide(tp, true), 0.0)).sum(axis=-1) / has.sum(axis=-1)
    for prefix, per in (("precision", precision), ("recall", recall), ("f1", f1)):
        if name == f"{prefix}_macro":
            return cmx.macro_average(per, present)
        if name == f"{prefix}_weighted":
            return cmx.weighted_average(per, true)
        if name == prefix:
            return np.where(present[..., POS], per[..., POS], np.nan)
    if name == "precision_micro":
        return tp.sum(axis=-1) / pred.sum(axis=-1)
    if name == "recall_micro":
        return tp.sum(axis=-1) / n
    if name == "f1_micro":
        return 2 * tp.sum(axis=-1) / (pred.sum(axis=-1) + n)
    if name == "mcc":
        cov_tp = tp.sum(axis=-1) * n - (true * pred).sum(axis=-1)
        cov_pp = n**2 - (pred * pred).sum(axis=-1)
        cov_tt = n**2 - (true * true).sum(axis=-1)
        den = np.sqrt(cov_tt * cov_pp)
        return cmx._divide(cov_tp, den)
    if name == "cohen_kappa":
        expected = n - (true * pred).sum(axis=-1) / n
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(expected == 0, np.nan, 1 - (n - tp.sum(axis=-1)) / expected)
    raise KeyError(name)


def majority_matrix(stack: np.ndarray) -> np.ndarray:
    """The confusion matrices of always predicting each matrix's most frequent true label
    (the first in label order on ties)."""
    true = np.asarray(stack).sum(axis=-1)
    out = np.zeros(np.shape(stack), dtype=np.float64)
    majority = np.argmax(true, axis=-1)
    np.put_along_axis(out, majority[..., None, None].repeat(true.shape[-1], axis=-2),
                      true[..., :, None].astype(np.float64), axis=-1)
    return out


def chance_matrix(stack: np.ndarray) -> np.ndarray:
    """Expected confusion matrices of predicting at random in the true label shares:
    ``true_i * true_j / n`` (its accuracy is metrics.json's ``chance_accuracy``)."""
    true = np.asarray(stack, dtype=np.float64).sum(axis=-1)
    n = true.sum(axis=-1)[..., None, None]
    return true[..., :, None] * true[..., None, :] / n


def prob_metric(name: str, y: np.ndarray, probs: np.ndarray) -> float:
    """A probability metric as ``classification_metrics`` defines it (NaN where undefined)."""
    binary = probs.shape[1] == 2
    if name == "log_loss":
        return log_loss(y, probs)
    if name == "brier_score":
        return binary_brier_score(y, probs, POS) if binary else brier_score(y, probs)
    if name.startswith("top_"):
        return top_k_accuracy(y, probs, int(name.split("_")[1]))
    if name == "ece":
        return float(reliability_table(y, probs).ece())
    aucs, aps = one_vs_rest(y, probs)
    values = aps if name.startswith("average_precision") else aucs
    if name in ("roc_auc", "average_precision"):
        return np.nan if values[POS] is None else float(values[POS])
    weights = np.bincount(y, minlength=probs.shape[1]) if name.endswith("weighted") else None
    keep = [i for i, v in enumerate(values) if v is not None]
    if not keep:
        return np.nan
    vals = np.array([values[i] for i in keep])
    return float(vals.mean() if weights is None else np.dot(vals, weights[keep]) / weights[keep].sum())


# ---- the shared bootstrap --------------------------------------------------------------------

def _inputs(ctx: CheckContext) -> dict:
    def compute():
        side = ctx.current
        probs = None if side.probs is None else np.asarray(side.probs, dtype=np.float64)
        pred = np.asarray(side.pred) if side.pred is not None else np.argmax(probs, axis=1)
        y = np.asarray(side.y)
        n_classes = len(ctx.labels) if ctx.labels else int(max(y.max(), pred.max()) + 1)
        labels = list(ctx.labels) if ctx.labels else [str(i) for i in range(n_classes)]
        keep = (y >= 0) & (pred >= 0)
        y, pred = y[keep].astype(np.int64), pred[keep].astype(np.int64)
        probs = probs[keep] if probs is not None else None
        doc = classification_metrics(y, pred, labels=labels, probs=probs, n_resamples=ctx.n_resamples,
                                     seed=ctx.seed)
        cm = np.asarray(doc["confusion_matrix"]["counts"], dtype=np.int64)
        rng = np.random.default_rng(ctx.seed)            # the draws of metrics/bootstrap.py
        batch = max(1, boot._BATCH_CELLS // cm.size)
        stack = np.concatenate([boot.resample_confusion(cm, min(batch, ctx.n_resamples - start), rng)
                                for start in range(0, ctx.n_resamples, batch)])
        return {"y": y, "pred": pred, "probs": probs, "doc": doc, "cm": cm, "stack": stack,
                "excluded": int((~keep).sum()), "labels": labels}

    return ctx.memo("performance.inputs", compute)


def _prob_replicates(ctx: CheckContext, name: str, y: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Row bootstrap of a probability metric (seeded; one pass per replicate)."""
    def compute():
        rng = np.random.default_rng([ctx.seed, 1])
        n = y.size
        return np.array([prob_metric(name, y[idx], probs[idx])
                         for idx in (rng.integers(0, n, n) for _ in range(ctx.n_resamples))])

    return ctx.memo(f"performance.prob_replicates.{name}", compute)


def _limits(cfg: CheckConfig, key: str) -> dict[str, float]:
    raw = cfg.get(key) or {}
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if key.startswith("min_lift"):
            return {"accuracy": float(raw)}
        raise UsageError(f"{NAME}: {key} takes metric: threshold pairs (e.g. {key}: {{f1_macro: 0.8}}), "
                         f"not {raw!r}")
    if not isinstance(raw, Mapping):
        raise UsageError(f"{NAME}: {key} must map metric names to thresholds, not {raw!r}")
    known = CM_METRICS if key.startswith("min_lift") else CM_METRICS + PROB_METRICS
    out = {}
    for metric, value in raw.items():
        if metric not in known:
            close = difflib.get_close_matches(str(metric), known, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(known)}"
            what = "a lift is defined for confusion-matrix metrics" if key.startswith("min_lift") and \
                metric in PROB_METRICS else "unknown metric"
            raise UsageError(f"{NAME}: {key}: {what} {metric!r}{hint}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"{NAME}: {key}: {metric} must be a number, not {value!r}")
        out[str(metric)] = float(value)
    return out


def _judge(*, target: str, metric: str, estimate: float, reps: np.ndarray, threshold: float, bad_when: str,
           level: float, n: int, min_n: int, details: dict) -> CheckResult:
    reps = reps[np.isfinite(reps)]
    if not np.isfinite(estimate) or reps.size == 0:
        return skipped(NAME, CATEGORY, f"{metric} is undefined on these rows", target)
    lo, hi = boot.percentile_interval(reps, level)
    if bad_when == "below":
        value, whole_bad, straddles = lo, hi < threshold, lo < threshold <= hi
        good_share = float(np.mean(reps >= threshold))
    else:
        value, whole_bad, straddles = hi, lo > threshold, lo <= threshold < hi
        good_share = float(np.mean(reps <= threshold))
    p_boot = min(1.0, 2 * min(good_share, 1 - good_share))
    bound = "lower" if bad_when == "below" else "upper"
    return CheckResult(
        check=NAME, category=CATEGORY, target=target, metric=f"{metric} {bound} {level:.0%} bound",
        value=float(value), threshold=threshold, bad_when=bad_when,
        p_value=max(p_boot, ALPHA) if straddles else None, n=n, min_n=min_n, interval=(float(lo), float(hi)),
        test="bootstrap", statistic=float(estimate),
        details={"estimate": float(estimate), "interval_side": "bad" if whole_bad else
                 ("straddles" if straddles else "good"), "bootstrap_p": p_boot, "replicates": int(reps.size),
                 "confidence_level": level, **details})


@register(NAME, requires=("labels", "predictions"),
          defaults={"min": {}, "max": {}, "min_lift_over_majority": {"balanced_accuracy": 0.01},
                    "min_lift_over_chance": {}, "confidence_level": 0.95, "min_n": 0},
          description="metric thresholds (absolute or over the majority / chance baseline), judged on "
                      "the bootstrap interval")
def metric_conditions(ctx: CheckContext, cfg: CheckConfig) -> list[CheckResult]:
    limits = {key: _limits(cfg, key) for key in LIMITS}
    level = float(cfg.get("confidence_level"))
    if not 0.0 < level < 1.0:
        raise UsageError(f"{NAME}: confidence_level must be between 0 and 1, not {level!r}")
    min_n = int(cfg.get("min_n"))
    if not any(limits.values()):
        return [skipped(NAME, CATEGORY, "no metric thresholds in the suite")]
    data = _inputs(ctx)
    metrics, stack, cm = data["doc"]["metrics"], data["stack"], data["cm"]
    n = int(data["y"].size)
    common = {"excluded_rows": data["excluded"]}
    out = []
    for key, bad_when in LIMITS.items():
        for metric, threshold in limits[key].items():
            target = f"{key}:{metric}"
            if metric in BINARY_ONLY and len(data["labels"]) != 2:
                out.append(skipped(NAME, CATEGORY, f"{metric} applies to binary tasks; use {metric}_macro", target))
                continue
            if metric in PROB_METRICS and metric not in metrics:
                why = "needs probabilities" if data["probs"] is None else f"is undefined with {len(data['labels'])} labels"
                out.append(skipped(NAME, CATEGORY, f"{metric} {why}", target))
                continue
            estimate = metrics.get(metric)
            estimate = np.nan if estimate is None else float(estimate)
            details = dict(common)
            if metric in CM_METRICS:
                reps = cm_metric(stack, metric)
            else:
                reps = _prob_replicates(ctx, metric, data["y"], data["probs"])
            name = metric
            if key.startswith("min_lift"):
                base = "majority" if key.endswith("majority") else "chance"
                to_base = majority_matrix if base == "majority" else chance_matrix
                baseline = float(cm_metric(to_base(cm), metric))
                details.update({"metric_estimate": estimate, f"{base}_{metric}": baseline})
                estimate = estimate - baseline
                reps = reps - cm_metric(to_base(stack), metric)
                name = f"{metric}_lift_over_{base}"
            out.append(_judge(target=target, metric=name, estimate=estimate, reps=reps, threshold=threshold,
                              bad_when=bad_when, level=level, n=n, min_n=min_n, details=details))
    return out
