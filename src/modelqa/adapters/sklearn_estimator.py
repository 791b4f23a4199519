"""A fitted scikit-learn estimator (or Pipeline) with the FeatureModel shape: which method
gives the scores (predict_proba, decision_function or predict), the columns it was fitted on,
and the errors its predict raises turned into DataErrors that name the column.

adapters.skops_model loads the estimator (from a .skops file, or a pickle when allowed) and
hands it to ``wrap_estimator``; scikit-learn is imported inside the functions.
"""

from __future__ import annotations

import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modelqa.adapters.feature_model import ModelOutputs, as_probabilities, default_labels, float_matrix
from modelqa.errors import DataError, ModelError, UsageError, format_rows

#: First steps that take a 1-D array of strings, not a table.
TEXT_VECTORIZERS = ("TfidfVectorizer", "CountVectorizer", "HashingVectorizer")


def type_name(t: Any) -> str:
    """'module.Class' as skops names a type (the module pickle would find it in)."""
    return f"{pickle.whichmodule(t, t.__name__)}.{t.__name__}"

@dataclass
class SklearnModel:
    """A fitted scikit-learn estimator with the FeatureModel shape."""

    path: Path
    kind: str                          # "skops" or "pickle"
    estimator: Any
    task: str                          # "classification" or "regression"
    labels: list[str] | None
    input_kind: str                    # "features" or "text"
    feature_columns: list[str] | None
    n_features: int | None
    method: str                        # "predict_proba", "decision_function" or "predict"
    classes: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    def predict(self, frame) -> ModelOutputs:
        where = str(self.path)
        x = self._inputs(frame, where)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "X has feature names" and the like
                raw = getattr(self.estimator, self.method)(x)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise _predict_error(exc, frame, where, self.method) from None
        if self.task == "regression":
            values = np.asarray(raw, dtype=np.float64)
            return ModelOutputs(values=values.reshape(len(values), -1)[:, 0] if values.ndim > 1 else values)
        k = len(self.classes)
        if self.method == "predict":
            index = {c: i for i, c in enumerate(self.classes.tolist())}
            ids = [index.get(v, -1) for v in np.asarray(raw).tolist()]
            bad = [i for i, v in enumerate(ids) if v < 0]
            if bad:
                raise ModelError(f"{where}: predict gave {np.asarray(raw)[bad[0]]!r} (row {bad[0] + 1}), "
                                 f"which is not one of its classes_ ({', '.join(self.labels)})")
            return ModelOutputs(y_pred=np.asarray(ids, dtype=np.int64))
        raw = np.asarray(raw, dtype=np.float64)
        width = 1 if raw.ndim == 1 else raw.shape[1]
        if width != k and not (k == 2 and width == 1):
            raise ModelError(f"{where}: {self.method} gave {width} columns for {k} classes")
        probs = as_probabilities(raw, scores="logits" if self.method == "decision_function" else "probs",
                                 where=where)
        return ModelOutputs(probs=probs)

    def _inputs(self, frame, where: str):
        import pandas as pd

        if self.input_kind == "text":
            col = frame if not isinstance(frame, pd.DataFrame) else None
            if col is None:
                if frame.shape[1] != 1:
                    raise DataError(f"{where}: the model reads one text column, but {frame.shape[1]} were given "
                                    f"({', '.join(map(str, frame.columns))})",
                                    hint="name the text column with `feature_cols`")
                col = frame.iloc[:, 0]
            col = pd.Series(list(col) if not isinstance(col, pd.Series) else col)
            bad = np.flatnonzero(~col.map(lambda v: isinstance(v, str)).to_numpy())
            if bad.size:
                raise DataError(f"{where}: column {col.name!r} must hold texts; {bad.size} value(s) do not "
                                f"(row {bad[0] + 1}: {col.iloc[bad[0]]!r}); rows {format_rows(bad + 1)}")
            return col.to_numpy(dtype=object)
        if not isinstance(frame, pd.DataFrame):
            frame = pd.DataFrame(np.asarray(frame))
        if self.feature_columns:
            absent = [c for c in self.feature_columns if c not in frame.columns]
            if absent:
                raise DataError(f"{where}: the model was fitted on columns the data lacks: {', '.join(absent)}",
                                hint="the data must hold every column in the model's feature_names_in_ "
                                     f"({', '.join(self.feature_columns)})")
            return frame[self.feature_columns]
        if self.n_features is not None and frame.shape[1] != self.n_features:
            raise DataError(f"{where}: the model takes {self.n_features} features, but {frame.shape[1]} columns "
                            f"were given ({', '.join(map(str, frame.columns))})",
                            hint="name the model's inputs, in order, with `feature_cols`")
        return float_matrix(frame, path=where, dtype=np.float64)


def _predict_error(exc: Exception, frame, where: str, method: str) -> DataError:
    """The estimator's own message, naming the column (and row) it is about when it can be found:
    a column the message quotes, else the column holding a value the message quotes."""
    import re

    text = str(exc).strip()
    message = text.splitlines()[0] if text else type(exc).__name__
    columns = list(getattr(frame, "columns", []))
    named = [c for c in columns if f"'{c}'" in text or f'"{c}"' in text]
    if named:
        return DataError(f"{where}: the estimator's {method} failed on column {str(named[0])!r}: {message}",
                         hint="the column must hold what it held when the model was fitted (type, categories)")
    for value in re.findall(r"'([^']+)'", message):
        for col in columns:
            rows = np.flatnonzero(frame[col].astype(str).to_numpy() == value)
            if rows.size:
                return DataError(f"{where}: column {str(col)!r} row {rows[0] + 1} holds {value!r}, which the "
                                 f"estimator's {method} cannot take: {message}; rows {format_rows(rows + 1)}",
                                 hint="the column must hold what it held when the model was fitted "
                                      "(numbers for a numeric column)")
    return DataError(f"{where}: the estimator's {method} failed: {type(exc).__name__}: {message}",
                     hint="the data must hold the columns and value types the model was fitted on")


def wrap_estimator(path: Path, kind: str, estimator: Any, *, scores: str = "probs", labels=None,
                   info: dict | None = None) -> SklearnModel:
    """``estimator`` as a SklearnModel: task, labels (``classes_``, renamed by ``labels``), inputs and
    the method that gives its scores (``scores="logits"``: decision_function margins)."""
    from sklearn.base import is_classifier, is_regressor

    info = dict(info or {})

    steps = list(getattr(estimator, "steps", None) or [])
    final = steps[-1][1] if steps else estimator
    if not hasattr(estimator, "predict"):
        raise ModelError(f"{path} holds a {type(estimator).__name__}, which does not predict (a transformer?)",
                         hint="save the fitted model (or the Pipeline ending in it), not a preprocessing step")
    classifier = is_classifier(estimator) or (not is_regressor(estimator) and hasattr(final, "classes_"))
    first = steps[0][1] if steps else None
    text = type(first).__name__ in TEXT_VECTORIZERS
    names = getattr(estimator, "feature_names_in_", None)
    n_features = getattr(estimator, "n_features_in_", None)
    info.update(estimator=type_name(type(estimator)), final_estimator=type(final).__name__,
                steps=[f"{n}: {type(s).__name__}" for n, s in steps])
    if not classifier:
        info["method"] = "predict"
        return SklearnModel(path=path, kind=kind, estimator=estimator, task="regression", labels=None,
                            input_kind="text" if text else "features", method="predict", info=info,
                            feature_columns=None if names is None or text else [str(c) for c in names],
                            n_features=None if n_features is None else int(n_features))
    classes = np.asarray(getattr(estimator, "classes_", getattr(final, "classes_", None)))
    if classes.ndim != 1 or classes.size < 2:
        raise ModelError(f"{path}: the classifier has no usable classes_ ({classes!r})")
    if scores == "logits":
        if not hasattr(estimator, "decision_function"):
            raise UsageError(f"`scores='logits'` asks {path} for decision_function margins, but "
                             f"{type(final).__name__} has no decision_function",
                             hint="leave `scores` at probs")
        method = "decision_function"
        info["scores"] = ("decision_function margins through a sigmoid (binary) or softmax (multiclass): "
                          "a ranking, not calibrated probabilities")
    else:
        method = "predict_proba" if hasattr(estimator, "predict_proba") else "predict"
    info["method"] = method
    return SklearnModel(path=path, kind=kind, estimator=estimator, task="classification",
                        labels=default_labels(len(classes), labels if labels is not None
                                              else [str(c) for c in classes], where=str(path)),
                        input_kind="text" if text else "features", method=method, classes=classes, info=info,
                        feature_columns=None if names is None or text else [str(c) for c in names],
                        n_features=None if n_features is None else int(n_features))
