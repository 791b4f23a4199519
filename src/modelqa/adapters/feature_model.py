"""What every model file that is not a Hugging Face PyTorch folder gives the API: a Keras 3
``.keras`` archive (adapters.keras_model), a scikit-learn estimator saved with skops
(adapters.skops_model), an ONNX file (adapters.onnx_model).

Each adapter's ``load_*`` returns an object with the ``FeatureModel`` shape and each
``describe_*`` a ``ModelDescription`` (what ``modelqa inspect`` prints) without running the
model. The API picks the feature columns, hands the model a DataFrame of them and turns the
``ModelOutputs`` into an evaluation or a predictions table. The helpers here are the ones
every adapter needs: a frame as a float matrix (messages name row, column and value), scores
as probabilities (checked, or softmax / sigmoid of logits).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from modelqa.errors import DataError, ModelError, UsageError, format_rows

#: Rows of probabilities must sum to 1 within this (the predictions-file rule).
SUM_TOLERANCE = 1e-3


@dataclass(frozen=True)
class ModelOutputs:
    """One prediction pass: ``probs`` (n, K) for a classifier that scores every class, or
    ``y_pred`` (n,) class ids for one that gives labels only, or ``values`` (n,) for a regressor."""

    probs: np.ndarray | None = None
    values: np.ndarray | None = None
    y_pred: np.ndarray | None = None

    def predicted_ids(self) -> np.ndarray | None:
        if self.y_pred is not None:
            return np.asarray(self.y_pred)
        return None if self.probs is None else self.probs.argmax(axis=1)


@dataclass
class ModelDescription:
    """What modelqa sees in a model without running it (``modelqa inspect``)."""

    path: Path
    kind: str                         # "keras", "skops", "onnx", "onnx-text", "hf", "tabular", ...
    task: str | None                  # "binary", "multiclass", "regression" or None (not known yet)
    labels: list[str] | None
    inputs: str                       # one line: what the model expects
    size_bytes: int
    unsafe: str | None = None         # None: loads by default; else why an opt-in is needed and which
    loadable: bool = True             # False: modelqa cannot run it here (the message says why)
    feature_columns: list[str] | None = None
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"path": str(self.path), "kind": self.kind, "task": self.task, "labels": self.labels,
                "inputs": self.inputs, "feature_columns": self.feature_columns, "size_bytes": self.size_bytes,
                "unsafe": self.unsafe, "loadable": self.loadable, "details": self.details}


class FeatureModel(Protocol):
    """A loaded model that predicts from a DataFrame of its input columns."""

    path: Path
    kind: str                          # as in ModelDescription
    task: str                          # "classification" or "regression"
    labels: list[str] | None           # class names in output order (classification)
    input_kind: str                    # "features" (numeric / mixed columns) or "text" (one string column)
    feature_columns: list[str] | None  # the columns the model itself names (metadata), in order
    n_features: int | None             # how many input columns it takes, when known
    info: dict                         # for run.json: kind, prediction method, versions ...

    def predict(self, frame: Any) -> ModelOutputs:
        """Outputs for every row of ``frame`` (its columns are the model's inputs, in order)."""
        ...


def size_of(path: str | Path) -> int:
    """Bytes of a file, or of every file under a folder."""
    p = Path(path)
    if p.is_file():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file() and not f.is_symlink())


def float_matrix(frame, *, path: str, dtype=np.float32, shown: int = 5) -> np.ndarray:
    """The columns of ``frame`` as a (n, d) float matrix; a DataError names the column, the
    rows and the first values that are not finite numbers (strings, missing cells, booleans)."""
    import pandas as pd

    out = np.empty((len(frame), frame.shape[1]), dtype=dtype)
    for j, col in enumerate(frame.columns):
        raw = frame[col]
        values = raw
        if pd.api.types.is_bool_dtype(raw.dtype):
            values = raw.astype(np.float64)
        elif raw.dtype == object:
            values = pd.to_numeric(raw.map(lambda v: v.strip() if isinstance(v, str) else v), errors="coerce")
        num = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.flatnonzero(~np.isfinite(num))
        if bad.size:
            examples = ", ".join(f"row {i + 1}: {_show(raw.iloc[i])}" for i in bad[:shown])
            raise DataError(f"{path}: column {col!r} must hold numbers, as the model was fed them; "
                            f"{bad.size} value(s) are not ({examples}{', …' if bad.size > shown else ''}); "
                            f"rows {format_rows(bad + 1)}",
                            hint="encode the column the way it was encoded for training, or leave it out "
                                 "with `drop_col` / name the model's inputs with `feature_cols`")
        out[:, j] = num
    return out


def _show(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "(missing)"
    return repr(value)


def softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))


def as_probabilities(raw: np.ndarray, *, scores: str, where: str) -> np.ndarray:
    """(n, K) class probabilities from a model's raw outputs.

    ``raw`` (n, K) with K >= 2: ``scores="probs"`` checks that every row is a distribution
    (non-negative, sums to 1 within SUM_TOLERANCE) and uses it as given; ``"logits"`` applies
    softmax. ``raw`` (n,) or (n, 1): one unit scoring the positive class (sigmoid of a logit with
    ``"logits"``), returned as two columns ``[1 - p, p]``."""
    if scores not in ("probs", "logits"):
        raise UsageError(f"`scores` must be probs or logits, not {scores!r}")
    raw = np.asarray(raw, dtype=np.float64)
    if raw.ndim == 2 and raw.shape[1] == 1:
        raw = raw[:, 0]
    if not np.isfinite(raw).all():
        rows = np.flatnonzero(~np.isfinite(raw.reshape(len(raw), -1)).all(axis=1))
        raise ModelError(f"{where}: the model gave non-finite outputs (NaN or infinity) for rows "
                         f"{format_rows(rows + 1)}")
    if raw.ndim == 1:
        p = sigmoid(raw) if scores == "logits" else raw
        if scores == "probs" and ((p < -SUM_TOLERANCE).any() or (p > 1 + SUM_TOLERANCE).any()):
            raise ModelError(f"{where}: the model's single output is not a probability (values from "
                             f"{p.min():.4g} to {p.max():.4g})",
                             hint="if it is a logit, say so with `scores=\"logits\"`")
        p = np.clip(p, 0.0, 1.0)
        return np.column_stack([1.0 - p, p])
    if scores == "logits":
        return softmax(raw)
    sums = raw.sum(axis=1)
    off = np.flatnonzero((np.abs(sums - 1.0) > SUM_TOLERANCE) | (raw < -SUM_TOLERANCE).any(axis=1))
    if off.size:
        raise ModelError(f"{where}: the model's outputs are not probabilities: {off.size} row(s) do not sum to 1 "
                         f"(row {off[0] + 1} sums to {sums[off[0]]:.4g}); rows {format_rows(off + 1)}",
                         hint="if the last layer gives logits, say so with `scores=\"logits\"`")
    return np.clip(raw, 0.0, 1.0)


def default_labels(n: int, labels: list[str] | None, *, where: str) -> list[str]:
    """Class names for ``n`` outputs: the user's ``labels`` (checked) or "0".."n-1"."""
    if labels is None:
        return [str(i) for i in range(n)]
    return checked_labels(labels, n, where=where)


def checked_labels(labels, n: int, *, where: str) -> list[str]:
    """The user's ``labels`` as stripped strings: one distinct name per model output (UsageError)."""
    labels = [str(x).strip() for x in labels]
    if len(labels) != n:
        raise UsageError(f"`labels` names {len(labels)} classes ({', '.join(labels)}) but {where} has {n} "
                         f"outputs")
    if len(set(labels)) != len(labels):
        raise UsageError(f"`labels` repeats a name: {', '.join(labels)}")
    return labels
