"""Prediction distribution: how often each class is predicted versus how often it is true.

A class is flagged "over-predicted" / "under-predicted" when
``|predicted - true| >= max(min_difference, relative * true)`` (defaults 3 and 0.25):
at least 3 rows apart *and* at least 25 % of the class's true count. The absolute floor
keeps tiny classes (2 true, 4 predicted) from being flagged on noise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from modelqa.errors import UsageError
from modelqa.metrics.checks import check_labels, check_targets

OVER, UNDER = "over-predicted", "under-predicted"
DISTRIBUTION_COLUMNS = ["label", "true_count", "predicted_count", "difference", "ratio", "flag"]


def distribution_flag(true_count: int, predicted_count: int, *, min_difference: int = 3,
                      relative: float = 0.25) -> str:
    """``"over-predicted"``, ``"under-predicted"`` or ``""`` by the module's rule."""
    difference = predicted_count - true_count
    if abs(difference) < max(min_difference, relative * true_count):
        return ""
    return OVER if difference > 0 else UNDER


def prediction_distribution(
    y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str], *,
    min_difference: int = 3, relative: float = 0.25,
) -> pd.DataFrame:
    """One row per model label, in model order.

    Columns ``label, true_count, predicted_count, difference`` (predicted - true),
    ``ratio`` (predicted / true; None when the class has no true rows) and ``flag``.
    """
    names = check_labels(labels)
    y_true, y_pred = check_targets(y_true, y_pred, len(names))
    return distribution_from_counts(np.bincount(y_true, minlength=len(names)),
                                    np.bincount(y_pred, minlength=len(names)), names,
                                    min_difference=min_difference, relative=relative)


def distribution_from_counts(true_counts, predicted_counts, labels: Sequence[str], *, min_difference: int = 3,
                             relative: float = 0.25) -> pd.DataFrame:
    """``prediction_distribution`` from per-class counts (true and predicted, model order): the
    same table, for callers that hold counts instead of rows (a streamed evaluation)."""
    if min_difference < 1 or relative < 0:
        raise UsageError("min_difference must be at least 1 and relative must not be negative")
    names = check_labels(labels)
    true = np.asarray(true_counts, dtype=np.int64)
    pred = np.asarray(predicted_counts, dtype=np.int64)
    if true.shape != (len(names),) or pred.shape != (len(names),):
        raise UsageError(f"true and predicted counts need one entry per label ({len(names)})")
    ratio = pd.Series([float(p / t) if t else None for p, t in zip(pred, true, strict=True)], dtype=object)
    flags = [distribution_flag(int(t), int(p), min_difference=min_difference, relative=relative)
             for t, p in zip(true, pred, strict=True)]
    return pd.DataFrame(
        {
            "label": names,
            "true_count": true.astype(np.int64),
            "predicted_count": pred.astype(np.int64),
            "difference": (pred - true).astype(np.int64),
            "ratio": ratio,
            "flag": flags,
        },
        columns=DISTRIBUTION_COLUMNS,
    )
