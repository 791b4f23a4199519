"""Input validation shared by the metric functions (layer L1).

Every problem a user can cause raises ``modelqa.errors.DataError`` (bad data) or
``UsageError`` (bad option) with the offending row numbers and values in the message.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from modelqa.errors import DataError, UsageError, format_rows

#: Largest allowed |row sum - 1| of a probability row.
PROB_SUM_TOLERANCE = 1e-3


def check_labels(labels: Sequence) -> list[str]:
    """Label names as a list of ``str``; at least two, no duplicates."""
    if isinstance(labels, str):
        raise UsageError("labels must be a sequence of class names, not one string")
    names = [str(label) for label in labels]
    if len(names) < 2:
        raise DataError(f"a classifier needs at least 2 labels, got {len(names)}: {names}")
    dupes = sorted(name for name, count in Counter(names).items() if count > 1)
    if dupes:
        raise DataError(f"duplicate label names: {dupes}")
    return names


def check_class_ids(values, n_classes: int, name: str) -> np.ndarray:
    """A 1-D int64 array of class ids in ``[0, n_classes)``."""
    arr = np.asarray(values)
    if arr.dtype.kind == "O" and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in arr.flat):
        arr = arr.astype(np.int64)  # e.g. a list of Python ints that went through pandas
    if arr.ndim != 1:
        raise DataError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise DataError(f"{name} must hold integer class ids, got dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(arr) | (arr != np.round(arr)))
        if bad.size:
            raise DataError(
                f"{name} must hold integer class ids; rows {format_rows(bad)} "
                f"hold {arr[bad[0]]!r}"
            )
    ids = arr.astype(np.int64)
    bad = np.flatnonzero((ids < 0) | (ids >= n_classes))
    if bad.size:
        raise DataError(
            f"{name} holds class ids outside 0..{n_classes - 1} at rows {format_rows(bad)} "
            f"(first bad value {ids[bad[0]]})",
            hint="class ids index the model's labels",
        )
    return ids


def check_targets(y_true, y_pred, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(y_true, y_pred)`` of equal, non-zero length."""
    t = check_class_ids(y_true, n_classes, "y_true")
    p = check_class_ids(y_pred, n_classes, "y_pred")
    if t.shape[0] != p.shape[0]:
        raise DataError(f"y_true has {t.shape[0]} rows but y_pred has {p.shape[0]}")
    if t.shape[0] == 0:
        raise DataError("no rows to evaluate")
    return t, p


def check_probs(probs, n_samples: int, n_classes: int) -> np.ndarray:
    """A float64 ``(n_samples, n_classes)`` array of probabilities whose rows sum to 1."""
    try:
        arr = np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"probs must be numeric: {exc}") from None
    if arr.shape != (n_samples, n_classes):
        raise DataError(
            f"probs must have shape ({n_samples}, {n_classes}) (rows x labels), got {arr.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))
    if bad.size:
        raise DataError(f"probs hold NaN or infinite values at rows {format_rows(bad)}")
    bad = np.flatnonzero(((arr < 0) | (arr > 1)).any(axis=1))
    if bad.size:
        raise DataError(f"probs hold values outside [0, 1] at rows {format_rows(bad)}")
    sums = arr.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > PROB_SUM_TOLERANCE)
    if bad.size:
        raise DataError(
            f"probability rows must sum to 1; rows {format_rows(bad)} do not "
            f"(first sums to {sums[bad[0]]:.6g})",
            hint="pass softmax probabilities, not logits; modelqa never renormalises silently",
        )
    return arr
