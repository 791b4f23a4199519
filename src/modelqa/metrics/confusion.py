"""Confusion matrix and every metric that follows from it (layer L1, pure numpy).

One computation, many metrics: precision, recall, F1, support, MCC, Cohen's kappa and
balanced accuracy all come from the counts, like scikit-learn's
``precision_recall_fscore_support``. The count functions accept a stack of matrices
(shape ``(..., K, K)``) so the bootstrap can evaluate all replicates at once.

Label set: the averages follow scikit-learn's default label set, the classes that occur
in the true *or* the predicted labels. Undefined ratios (0 / 0) are 0 (``zero_division=0``).
"""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``(K, K)`` int64 counts, rows true class, columns predicted class (validated ids)."""
    flat = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes).astype(np.int64)


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den == 0 (scikit-learn's zero_division=0)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den != 0)
    return out


def class_sums(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(tp, predicted, true)`` per class along the last axis of a ``(..., K, K)`` stack."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    return tp, cm.sum(axis=-2), cm.sum(axis=-1)


def present_classes(cm: np.ndarray) -> np.ndarray:
    """Boolean mask of the default label set: classes seen as true or as predicted."""
    _, pred, true = class_sums(cm)
    return (pred + true) > 0


def precision_recall_f1(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall and F1 (0 where undefined) of a ``(..., K, K)`` stack."""
    tp, pred, true = class_sums(cm)
    precision = _divide(tp, pred)
    recall = _divide(tp, true)
    f1 = _divide(2 * tp, pred + true)  # == 2PR/(P+R), and 0 when tp == 0
    return precision, recall, f1


def accuracy(cm: np.ndarray) -> np.ndarray:
    tp, _, true = class_sums(cm)
    return tp.sum(axis=-1) / true.sum(axis=-1)


def macro_average(per_class: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of ``per_class`` over the classes in ``mask`` (the mask is never empty for n > 0)."""
    return (per_class * mask).sum(axis=-1) / mask.sum(axis=-1)


def weighted_average(per_class: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Support-weighted mean (scikit-learn ``average='weighted'``)."""
    return _divide((per_class * support).sum(axis=-1), support.sum(axis=-1))


def macro_f1(cm: np.ndarray) -> np.ndarray:
    """Macro F1 over the default label set of each matrix in the stack."""
    return macro_average(precision_recall_f1(cm)[2], present_classes(cm))


def balanced_accuracy(cm: np.ndarray) -> float:
    """Mean recall over classes that occur in y_true (scikit-learn's definition)."""
    tp, _, true = class_sums(cm)
    has_true = true > 0
    return float(np.mean(tp[has_true] / true[has_true]))


def matthews_corrcoef(cm: np.ndarray) -> float:
    """Multiclass MCC (Gorodkin's R_K), 0.0 when undefined, as scikit-learn returns."""
    tp, pred, true = (x.astype(np.float64) for x in class_sums(cm))
    n = true.sum()
    cov_tp = tp.sum() * n - np.dot(true, pred)
    cov_pp = n**2 - np.dot(pred, pred)
    cov_tt = n**2 - np.dot(true, true)
    if cov_pp * cov_tt == 0:
        return 0.0
    return float(cov_tp / np.sqrt(cov_tt * cov_pp))


def cohen_kappa(cm: np.ndarray) -> float | None:
    """Cohen's kappa, None when undefined (only one class in true and predicted labels)."""
    tp, pred, true = (x.astype(np.float64) for x in class_sums(cm))
    n = true.sum()
    observed_disagreement = n - tp.sum()
    expected_disagreement = n - np.dot(true, pred) / n
    if expected_disagreement == 0:
        return None
    return float(1 - observed_disagreement / expected_disagreement)
