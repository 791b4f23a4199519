"""The reader of ``evaluate_arrays``: a notebook's own arrays (lists, numpy arrays, pandas Series)
into an ``EvalInputs``, checked as a file's columns are, with messages that name the argument
(``y_true``, ``y_pred``, ``probs``) and the 1-based row instead of a file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from modelqa.api._options import refuse_for_regression
from modelqa.api._sources import EvalInputs
from modelqa.errors import DataError, UsageError

#: What messages call the arrays (in place of a file name).
WHERE = "evaluate_arrays"


def _is_names(values) -> bool:
    """Whether ``values`` hold label names (strings) rather than integer class ids."""
    arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if arr.dtype.kind in "US":
        return True
    return arr.dtype.kind == "O" and any(isinstance(v, str) for v in arr.ravel())


def _encode(values, name: str, labels: list[str]) -> np.ndarray:
    from modelqa.data.schema import encode_labels

    return encode_labels(list(np.asarray(values, dtype=object).ravel()), label2id={c: i for i, c in enumerate(labels)},
                         path=WHERE, column=name)


def array_inputs(*, task: str, y_true, y_pred=None, probs=None, labels: Sequence[str] | None = None,
                 texts=None, ids=None, timing: Mapping | None = None,
                 regression_options: Mapping | None = None) -> EvalInputs:
    if y_true is None:
        raise UsageError("evaluate_arrays needs y_true (the true labels or values)")
    if task == "regression":
        if y_pred is None:
            raise UsageError("regression needs y_pred (the predicted values)")
        if probs is not None or labels is not None:
            raise UsageError("regression takes y_true and y_pred only (no labels or probabilities)")
        refuse_for_regression(dict(regression_options or {}))
        return EvalInputs(task="regression", y_true=_numbers(y_true, "y_true"), y_pred=_numbers(y_pred, "y_pred"),
                          texts=None if texts is None else list(texts), ids=ids, timing=dict(timing or {}))
    if y_pred is None and probs is None:
        raise UsageError("give y_pred or probs")
    if labels is None:
        if probs is not None or not _is_names(y_true):
            raise UsageError("classification needs labels (class names in model order)",
                             hint="labels=[...] names the columns of probs and the ids of y_true / y_pred")
        from modelqa.data.schema import infer_classes

        values = list(np.asarray(y_true, dtype=object).ravel())
        if y_pred is not None:
            values += list(np.asarray(y_pred, dtype=object).ravel())
        labels = infer_classes(values, path=WHERE, column="y_true")
    names = [str(x) for x in labels]
    y_t = _encode(y_true, "y_true", names) if _is_names(y_true) else np.asarray(y_true)
    y_p = None
    if y_pred is not None:
        y_p = _encode(y_pred, "y_pred", names) if _is_names(y_pred) else np.asarray(y_pred)
    if probs is not None:
        probs = np.asarray(probs, dtype=np.float64)
    return EvalInputs(task=task, y_true=y_t, y_pred=y_p, probs=probs, labels=tuple(names),
                      texts=None if texts is None else list(texts), ids=ids, timing=dict(timing or {}))


def _numbers(values, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        import pandas as pd

        from modelqa.api._sources import numeric_column

        return numeric_column(pd.Series(list(values), dtype=object), path=WHERE, column=name)
    if arr.ndim != 1:
        raise DataError(f"{WHERE}: {name} must be one-dimensional, got shape {arr.shape}")
    return arr
