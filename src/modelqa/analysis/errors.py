"""Error cases: misclassified rows and the most confused class pairs (layer L2)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from modelqa.errors import DataError, UsageError
from modelqa.metrics.checks import check_labels, check_targets
from modelqa.metrics.confusion import confusion_matrix

CONFUSED_PAIR_COLUMNS = ["true_label", "predicted_label", "count", "share_of_true"]


def error_rows(predictions: pd.DataFrame) -> pd.DataFrame:
    """The rows with ``correct == False``, most confident first (stable on ties).

    All columns are kept, and so is the frame's index (it points back to the input rows).
    Predictions without probabilities have no ``confidence``: their errors keep input order.
    """
    if "correct" not in predictions.columns:
        raise DataError("the predictions table has no column 'correct'")
    wrong = predictions[predictions["correct"].eq(False)]
    if "confidence" not in predictions.columns:
        return wrong
    return wrong.sort_values("confidence", ascending=False, kind="stable")


def confused_pairs(
    y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str], top: int | None = None
) -> pd.DataFrame:
    """Off-diagonal confusion-matrix cells with a count above zero.

    Columns ``true_label, predicted_label, count, share_of_true`` where ``share_of_true``
    is count / rows of that true class. Sorted by count (descending), then by the model's
    label order of the true and then the predicted label; ``top`` keeps the first rows.
    """
    names = check_labels(labels)
    y_true, y_pred = check_targets(y_true, y_pred, len(names))
    return confused_pairs_from_counts(confusion_matrix(y_true, y_pred, len(names)), names, top=top)


def confused_pairs_from_counts(cm: np.ndarray, labels: Sequence[str], top: int | None = None) -> pd.DataFrame:
    """``confused_pairs`` from a ``(K, K)`` confusion matrix (rows true, columns predicted): the
    same table, for callers that hold counts instead of rows (a streamed evaluation)."""
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 0):
        raise UsageError(f"top must be a non-negative integer or None, got {top!r}")
    names = check_labels(labels)
    cm = np.asarray(cm, dtype=np.int64)
    if cm.shape != (len(names), len(names)):
        raise UsageError(f"the confusion matrix must be {len(names)} x {len(names)}, not {cm.shape}")
    off = cm.copy()
    np.fill_diagonal(off, 0)
    t_idx, p_idx = np.nonzero(off)  # row-major: already in label order
    counts = off[t_idx, p_idx]
    order = np.argsort(-counts, kind="stable")
    t_idx, p_idx, counts = t_idx[order], p_idx[order], counts[order]
    if top is not None:
        t_idx, p_idx, counts = t_idx[:top], p_idx[:top], counts[:top]
    support = cm.sum(axis=1)
    return pd.DataFrame(
        {
            "true_label": [names[i] for i in t_idx],
            "predicted_label": [names[j] for j in p_idx],
            "count": counts.astype(np.int64),
            "share_of_true": (counts / support[t_idx]).astype(np.float64),
        },
        columns=CONFUSED_PAIR_COLUMNS,
    )
