"""``classification_metrics``: the metrics.json document (layer L1, pure numpy).

Assembles the confusion-matrix metrics, the probability metrics, baselines and bootstrap
intervals into one JSON-safe dict (schema_version 1, documented in docs/metrics.md).
Every number is a plain ``float`` / ``int``; anything undefined is ``None``, never NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from modelqa.errors import UsageError
from modelqa.metrics import confusion as cmx
from modelqa.metrics.bootstrap import bootstrap_intervals
from modelqa.metrics.calibration import reliability_table
from modelqa.metrics.checks import check_labels, check_probs, check_targets
from modelqa.metrics.probabilistic import binary_brier_score, brier_score, log_loss, top_k_accuracy
from modelqa.metrics.ranking import one_vs_rest

SCHEMA_VERSION = 1
TOP_K = (2, 3)


def _num(x) -> float | None:
    """A plain float, or None for None / NaN / inf."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _mean_of_defined(values: list, weights: np.ndarray | None = None) -> float | None:
    """Mean (or weighted mean) of the entries that are not None; None when there are none."""
    keep = [i for i, v in enumerate(values) if v is not None]
    if not keep:
        return None
    vals = np.array([values[i] for i in keep], dtype=np.float64)
    if weights is None:
        return _num(vals.mean())
    w = np.asarray(weights, dtype=np.float64)[keep]
    return _num(np.dot(vals, w) / w.sum())


def _confusion_metrics(cm: np.ndarray) -> tuple[dict, dict]:
    """Label-metric block and per-class arrays, all from one confusion matrix."""
    tp, pred, true = cmx.class_sums(cm)
    precision, recall, f1 = cmx.precision_recall_f1(cm)
    present = cmx.present_classes(cm)
    metrics = {
        "accuracy": _num(cmx.accuracy(cm)),
        "balanced_accuracy": _num(cmx.balanced_accuracy(cm)),
        "precision_macro": _num(cmx.macro_average(precision, present)),
        "recall_macro": _num(cmx.macro_average(recall, present)),
        "f1_macro": _num(cmx.macro_average(f1, present)),
        "precision_weighted": _num(cmx.weighted_average(precision, true)),
        "recall_weighted": _num(cmx.weighted_average(recall, true)),
        "f1_weighted": _num(cmx.weighted_average(f1, true)),
        "precision_micro": _num(tp.sum() / pred.sum()),
        "recall_micro": _num(tp.sum() / true.sum()),
        "f1_micro": _num(2 * tp.sum() / (pred.sum() + true.sum())),
        "mcc": _num(cmx.matthews_corrcoef(cm)),
        "cohen_kappa": _num(cmx.cohen_kappa(cm)),
    }
    per_class = {
        "precision": [_num(v) if p else None for v, p in zip(precision, present, strict=True)],
        "recall": [_num(v) if p else None for v, p in zip(recall, present, strict=True)],
        "f1": [_num(v) if p else None for v, p in zip(f1, present, strict=True)],
        "support": [int(v) for v in true],
        "predicted_count": [int(v) for v in pred],
    }
    return metrics, per_class


def probability_block(*, aucs: list, aps: list, support: np.ndarray, log_loss_value, brier_value,
                      top_k: dict[int, float], ece_value, binary_pos: int | None = None,
                      binary_brier=None) -> tuple[dict, dict]:
    """The probability metrics and their per-class lists from computed parts; shared by the
    in-memory path (from rows) and the streaming path (from sums and histograms), so both
    write the same keys in the same order. ``binary_pos``: the positive class of a binary task
    (adds ``roc_auc`` / ``average_precision`` and uses ``binary_brier`` for ``brier_score``)."""
    metrics = {
        "log_loss": _num(log_loss_value),
        "brier_score": _num(brier_value),
        "roc_auc_ovr_macro": _mean_of_defined(aucs),
        "roc_auc_ovr_weighted": _mean_of_defined(aucs, support),
        "average_precision_macro": _mean_of_defined(aps),
    }
    for k, value in top_k.items():
        metrics[f"top_{k}_accuracy"] = _num(value)
    metrics["ece"] = _num(ece_value)
    per_class = {"roc_auc": [_num(a) for a in aucs], "average_precision": [_num(a) for a in aps]}
    if binary_pos is not None:
        metrics["brier_score"] = _num(binary_brier)
        metrics["roc_auc"] = per_class["roc_auc"][binary_pos]
        metrics["average_precision"] = per_class["average_precision"][binary_pos]
    return metrics, per_class


def _probability_metrics(y_true: np.ndarray, probs: np.ndarray, support: np.ndarray,
                         pos: int | None) -> tuple[dict, dict]:
    aucs, aps = one_vs_rest(y_true, probs)
    n_classes = probs.shape[1]
    return probability_block(
        aucs=aucs, aps=aps, support=support, log_loss_value=log_loss(y_true, probs),
        brier_value=brier_score(y_true, probs),
        top_k={k: top_k_accuracy(y_true, probs, k) for k in TOP_K if n_classes > k},
        ece_value=reliability_table(y_true, probs).ece(), binary_pos=pos,
        binary_brier=binary_brier_score(y_true, probs, pos) if pos is not None else None)


def _baselines(support: np.ndarray, labels: list[str]) -> dict:
    shares = support / support.sum()
    majority = int(np.argmax(support))  # first label in model order on ties
    return {
        "chance_accuracy": _num(np.sum(shares**2)),
        "uniform_accuracy": _num(1.0 / len(labels)),
        "majority_accuracy": _num(shares[majority]),
        "majority_label": labels[majority],
    }


def classification_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    labels: Sequence[str],
    probs: np.ndarray | None = None,
    pos_label: int | None = None,
    n_resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: int = 0,
) -> dict:
    """Every classification metric as the JSON-safe metrics.json document.

    ``y_true`` / ``y_pred`` are integer ids indexing ``labels`` (the model's class order);
    ``probs`` is ``(n, len(labels))`` probabilities or None. ``pos_label`` (binary only,
    default 1) is the id of the positive class. See docs/metrics.md for every definition.
    """
    names = check_labels(labels)
    n_classes = len(names)
    y_true, y_pred = check_targets(y_true, y_pred, n_classes)
    binary = n_classes == 2
    if pos_label is not None and not binary:
        raise UsageError(f"pos_label applies to binary tasks only; this task has {n_classes} labels")
    pos = 1 if pos_label is None else pos_label
    if isinstance(pos, bool) or not isinstance(pos, int | np.integer) or not 0 <= pos < n_classes:
        raise UsageError(f"pos_label must be a class id in 0..{n_classes - 1}, got {pos_label!r}")
    pos = int(pos)
    if probs is not None:
        probs = check_probs(probs, y_true.size, n_classes)

    cm = cmx.confusion_matrix(y_true, y_pred, n_classes)
    support = cm.sum(axis=1)
    metrics, per_class = _confusion_metrics(cm)
    if binary:
        for key in ("precision", "recall", "f1"):
            metrics[key] = per_class[key][pos]
    if probs is not None:
        prob_metrics, prob_per_class = _probability_metrics(y_true, probs, support, pos if binary else None)
        metrics.update(prob_metrics)
        per_class.update(prob_per_class)

    return metrics_document(n_samples=int(y_true.size), names=names, metrics=metrics, per_class=per_class, cm=cm,
                            support=support, n_resamples=n_resamples, confidence_level=confidence_level, seed=seed)


def metrics_document(*, n_samples: int, names: list[str], metrics: dict, per_class: dict, cm: np.ndarray,
                     support: np.ndarray, n_resamples: int, confidence_level: float, seed: int) -> dict:
    """The metrics.json document (schema version 1) from computed parts; shared by the
    in-memory and the streaming paths so both write the same shape."""
    return {
        "schema_version": SCHEMA_VERSION,
        "task": "binary" if len(names) == 2 else "multiclass",
        "n_samples": n_samples,
        "labels": names,
        "metrics": metrics,
        "per_class": {
            name: {key: values[k] for key, values in per_class.items()} for k, name in enumerate(names)
        },
        "confusion_matrix": {"labels": list(names), "counts": cm.tolist()},
        "baselines": _baselines(support, names),
        "confidence_intervals": bootstrap_intervals(
            cm, n_resamples=n_resamples, confidence_level=confidence_level, seed=seed
        ),
    }
