"""Model files that predict from table columns (Keras, scikit-learn via skops, ONNX): the columns
the model gets (``feature_frame``), the reader of ``evaluate`` (``from_feature_model``, an
``EvalInputs`` for the one assembler) and the predictions table of ``predict``
(``predict_features``). Loading and running is the adapters' (adapters.model_kind)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modelqa.api._sources import EvalInputs, numeric_column, texts_of
from modelqa.data.schema import encode_labels, infer_classes, require_columns
from modelqa.data.source import read_source
from modelqa.errors import DataError, UsageError

#: Column names shown in a message before "and N more".
SHOWN = 20


def _listed(cols) -> str:
    cols = [str(c) for c in cols]
    return ", ".join(cols[:SHOWN]) + (f" and {len(cols) - SHOWN} more" if len(cols) > SHOWN else "")


def feature_frame(df, model, *, feature_cols: list[str] | None, label_col: str | None, id_col: str | None,
                  drop_cols: list[str] | None, text_col: str, where: str):
    """The columns ``model`` is fed, in order: ``feature_cols`` when given; else the model's own
    ``feature_columns``; else every column but the label, the id and ``drop_cols`` (their count must
    be the model's ``n_features``). A text model (``input_kind == "text"``) gets the one text column."""
    if model.input_kind == "text":
        if feature_cols or drop_cols:
            raise UsageError(f"--feature-cols and --drop-col choose table columns; {model.path} reads one text "
                             f"column (--text-col, here {text_col!r})")
        require_columns(df, {"text": text_col}, path=where)
        return df[[text_col]].fillna("")
    for flag, cols in (("--feature-cols", feature_cols), ("--drop-col", drop_cols)):
        missing = [c for c in cols or [] if c not in df.columns]
        if missing:
            raise DataError(f"{where}: {flag} names column(s) the table does not have: {_listed(missing)}; its "
                            f"columns are: {_listed(df.columns)}")
    if feature_cols:
        if len(set(feature_cols)) != len(feature_cols):
            raise UsageError(f"--feature-cols repeats a column: {', '.join(feature_cols)}")
        used = [c for c in (label_col, id_col) if c in feature_cols]
        if used:
            raise UsageError(f"--feature-cols names {_listed(used)}, the label / id column; a model input "
                             "cannot be the label it predicts or the row id")
        if model.n_features is not None and len(feature_cols) != model.n_features:
            raise UsageError(f"--feature-cols names {len(feature_cols)} columns, but {model.path} takes "
                             f"{model.n_features} inputs")
        return df[list(feature_cols)]
    if model.feature_columns:
        missing = [c for c in model.feature_columns if c not in df.columns]
        if missing:
            raise DataError(f"{where}: {model.path} was trained on columns the table does not have: "
                            f"{_listed(missing)}; the table's columns are: {_listed(df.columns)}",
                            hint="rename the table's columns to the model's input names")
        return df[list(model.feature_columns)]
    skip = {c for c in (label_col, id_col) if c is not None} | set(drop_cols or [])
    cols = [c for c in df.columns if c not in skip]
    kept_out = [name for name, col in (("the label", label_col), ("the id", id_col)) if col]
    kept_out += ["the --drop-col columns"] if drop_cols else []
    left_out = f" besides {' and '.join(kept_out)}" if kept_out else ""
    if model.n_features is not None and len(cols) != model.n_features:
        raise DataError(f"{where}: {model.path} takes {model.n_features} inputs and names none of them, but the "
                        f"table has {len(cols)} columns{left_out}: {_listed(cols)}",
                        hint="name the model's inputs in order with --feature-cols a,b,c, or leave columns out "
                             "with --drop-col")
    if not cols:
        raise DataError(f"{where}: no columns are left for the model besides the label and id")
    return df[cols]


@dataclass
class FeatureRun:
    """One prediction pass of a feature model over a table."""

    model: Any               # the adapter's FeatureModel
    kind: str
    df: Any                  # the whole table (pandas.DataFrame)
    where: str
    sha256: str
    columns: list[str]
    outputs: Any             # ModelOutputs
    load_s: float
    predict_s: float

    def info(self) -> dict:
        return {"model": str(self.model.path), "model_kind": self.kind, "data": self.where,
                "data_sha256": self.sha256, "feature_columns": self.columns, "model_info": dict(self.model.info)}

    def timing(self) -> dict:
        return {"load_s": round(self.load_s, 3), "predict_s": round(self.predict_s, 3),
                "rows_per_s": round(len(self.df) / max(self.predict_s, 1e-9), 1)}


def run_feature_model(path, data, *, kind: str, label_col: str | None, id_col: str | None, text_col: str,
                      feature_cols, drop_cols, labels, scores, allow_unsafe, trust, allow_pickle, encoding,
                      sheet) -> FeatureRun:
    """Load the model (its refusals come first), read the table, pick the columns, predict."""
    from modelqa.adapters.model_kind import load_feature_model

    t0 = time.perf_counter()
    model = load_feature_model(path, kind, labels=labels, scores=scores, feature_cols=feature_cols,
                               allow_unsafe=allow_unsafe, trust=trust, allow_pickle=allow_pickle)
    load_s = time.perf_counter() - t0
    if labels is not None and model.task == "regression":
        raise UsageError(f"--labels names classes; {path} is a regression model")
    src = read_source(data, encoding=encoding, sheet=sheet)
    df, where = src.frame, src.name
    require_columns(df, {"label": label_col, "id": id_col}, path=where)
    frame = feature_frame(df, model, feature_cols=feature_cols, label_col=label_col, id_col=id_col,
                          drop_cols=drop_cols, text_col=text_col, where=where)
    t1 = time.perf_counter()
    outputs = model.predict(frame)
    return FeatureRun(model=model, kind=kind, df=df, where=where, sha256=src.sha256,
                      columns=[str(c) for c in frame.columns], outputs=outputs, load_s=load_s,
                      predict_s=time.perf_counter() - t1)


def data_labels(series, model_labels: list[str], *, pos_label: str | None, where: str, column: str) -> list[str]:
    """The class names of the run. A binary model with the default names "0", "1" and data
    labels that are other names: ``pos_label`` names class 1, the other data label is class 0.
    Otherwise the model's names (data labels must be among them: ``encode_labels`` says which not)."""
    if model_labels != ["0", "1"]:
        return list(model_labels)
    classes = infer_classes(series, path=where, column=column)
    if set(classes) <= {"0", "1"}:
        return list(model_labels)
    if pos_label is None:
        raise DataError(f"{where}: column {column!r} holds the labels {_listed(classes)}, but the model's two "
                        "classes have no names (0 and 1)",
                        hint=f"name the positive class (model output 1) with --pos-label, e.g. --pos-label "
                             f"{classes[-1]}; or name both in output order with --labels")
    if len(classes) > 2:
        raise DataError(f"{where}: column {column!r} holds {len(classes)} labels ({_listed(classes)}), but the "
                        "model is binary")
    if pos_label not in classes:
        raise UsageError(f"--pos-label {pos_label!r} is not a label of column {column!r} in {where}: "
                         f"{_listed(classes)}")
    others = [c for c in classes if c != pos_label]
    return [others[0] if others else "0", pos_label]


def from_feature_model(path, data, *, kind: str, label_col: str, id_col: str | None, text_col: str,
                       task: str | None, pos_label: str | None, **options) -> EvalInputs:
    """``evaluate``'s reader for a model file of FEATURE_KINDS and a labelled table."""
    run = run_feature_model(path, data, kind=kind, label_col=label_col, id_col=id_col, text_col=text_col,
                            **options)
    model, df, out = run.model, run.df, run.outputs
    ids = (id_col, df[id_col].tolist()) if id_col else None
    texts = texts_of(df, text_col) if model.input_kind == "text" else None
    common = {"ids": ids, "texts": texts, "info": run.info(), "timing": run.timing()}
    if model.task == "regression":
        if task not in (None, "regression"):
            raise UsageError(f"--task {task}, but {path} is a regression model")
        return EvalInputs(task="regression", y_true=numeric_column(df[label_col], path=run.where, column=label_col),
                          y_pred=np.asarray(out.values, dtype=np.float64).reshape(-1), **common)
    if task == "regression":
        raise UsageError(f"--task regression, but {path} is a classifier ({len(model.labels or [])} classes)")
    names = data_labels(df[label_col], [str(x) for x in model.labels], pos_label=pos_label, where=run.where,
                        column=label_col)
    y_true = encode_labels(df[label_col], label2id={c: i for i, c in enumerate(names)}, path=run.where,
                           column=label_col)
    probs = None if out.probs is None else np.asarray(out.probs, dtype=np.float64)
    return EvalInputs(task=task or "classification", labels=tuple(names), y_true=y_true,
                      y_pred=np.asarray(out.predicted_ids()), probs=probs, **common)


def predict_features(path, data, *, kind: str, id_col: str | None, text_col: str, **options):
    """``predict``'s table for a model file: the id column, ``predicted_label``, ``confidence``,
    ``prob_<label>`` (classification) or ``prediction`` (regression), as for a tabular model."""
    from modelqa.api._frames import predictions_frame, regression_frame

    run = run_feature_model(path, data, kind=kind, label_col=None, id_col=id_col, text_col=text_col, **options)
    model, out = run.model, run.outputs
    ids = (id_col, run.df[id_col].tolist()) if id_col else None
    texts = texts_of(run.df, text_col) if model.input_kind == "text" else None
    if model.task == "regression":
        frame = regression_frame(y_pred=np.asarray(out.values, dtype=np.float64).reshape(-1), texts=texts, ids=ids)
    else:
        probs = None if out.probs is None else np.asarray(out.probs, dtype=np.float64)
        frame = predictions_frame(labels=[str(x) for x in model.labels], y_pred=np.asarray(out.predicted_ids()),
                                  probs=probs, texts=texts, ids=ids)
    frame.attrs.update({"seconds": run.load_s + run.predict_s, "model_kind": kind, "labels": model.labels,
                        "feature_columns": run.columns, "model_info": dict(model.info)})
    return frame


def history_file(model_path, kind: str, history: str | Path | None) -> Path | None:
    """The training history for the learning-curve section: ``history`` when given (checked: it
    must read as a history), else for a Keras model the one adapters.keras_model finds beside it."""
    if history is None and kind not in ("keras", "keras-h5", "savedmodel"):
        return None
    if history is not None:
        from modelqa.analysis.history import read_history

        p = Path(history)
        if not p.is_file():
            raise DataError(f"--history {p}: no such file")
        read_history(p)  # a DataError naming the file when it is not a training history
        return p
    from modelqa.adapters.keras_model import keras_history

    found = keras_history(model_path, None)
    return None if found is None else Path(found)
