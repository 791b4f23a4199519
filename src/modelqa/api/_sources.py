"""The readers of ``evaluate``: each turns one kind of input into a frozen ``EvalInputs``, which
the one assembler (api.evaluate.assemble) turns into the ``Evaluation``.

- ``from_text_model``: a Hugging Face folder + a labelled table (api._run.run_text_model);
- ``from_tabular``: a ``modelqa train tabular`` folder + a labelled table (``tabular_arrays``);
- ``from_predictions_file``: a file (or DataFrame) of ``prob_<label>`` columns or predicted labels;
- ``regression_from_file``: a file (or DataFrame) of numeric targets and predictions.

The streamed reader of a large predictions file lives in api._streaming and returns the same type.
Every table may be a path or a pandas DataFrame (data.source).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modelqa.data.schema import encode_labels, infer_classes, require_columns
from modelqa.data.source import read_source
from modelqa.errors import DataError, UsageError, format_rows


@dataclass(frozen=True)
class Streamed:
    """What a streamed pass kept: the metrics document (from mergeable states over every row),
    the confusion counts, a uniform row sample and the most confident errors (as frames), and the
    ``streaming`` block of run.json."""

    result: dict
    cm: np.ndarray
    sample: Any                # pandas.DataFrame
    errors: Any                # pandas.DataFrame
    info: dict
    curves: dict | None = None  # report data computed from the states (api._report_data)


@dataclass(frozen=True)
class EvalInputs:
    """One evaluation's inputs, whatever they were read from.

    Classification: ``labels`` (model order), ``y_true`` / ``y_pred`` class ids, ``probs`` (n, K)
    or None. Regression (``task == "regression"``): ``y_true`` / ``y_pred`` floats. A streamed
    file has ``streamed`` instead of the arrays. ``info`` goes into run.json, ``timing`` into its
    ``timing`` block; ``run`` (api._run.Predicted) holds the journal dropped once the run folder
    is written; ``notes`` are lines for the progress log."""

    task: str
    y_true: np.ndarray | None = None
    y_pred: np.ndarray | None = None
    probs: np.ndarray | None = None
    labels: tuple[str, ...] | None = None
    texts: list[str] | None = None
    ids: tuple[str, list] | None = None
    info: Mapping[str, Any] = field(default_factory=dict)
    timing: Mapping[str, float] = field(default_factory=dict)
    run: Any = None
    streamed: Streamed | None = None
    notes: tuple[str, ...] = ()


def pos_label_id(pos_label: str | None, class_names) -> int | None:
    """The id of ``pos_label`` among the classes (None when not given)."""
    if pos_label is None:
        return None
    names = list(class_names)
    if pos_label in names:
        return names.index(pos_label)
    raise UsageError(f"--pos-label {pos_label!r} is not one of the classes: {', '.join(names)}")


def texts_of(df, text_col: str | None) -> list[str] | None:
    """The text column as strings ('' for missing), or None when the table has no such column."""
    if text_col is None or text_col not in df.columns:
        return None
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in df[text_col]]


def from_text_model(model, loaded_model, data, *, label_col: str, task: str | None, out, rules, progress,
                    reference=None, **run_options) -> EvalInputs:
    """``reference`` (api._compare_fp32.Fp32Reference): called with the loaded classifier and the texts
    before the run, while ``clf.model`` is still the float32 model."""
    from modelqa.api._run import run_text_model

    journal_dir = None
    if out is not None:
        from modelqa.engine.journal import journal_dir_for

        journal_dir = journal_dir_for(out, run_folder=True)
    encoded: dict[str, np.ndarray] = {}

    def before_run(clf, table) -> None:  # unknown labels and rules fail before the long run
        encoded["y"] = encode_labels(table.label_values, label2id=clf.label2id, path=table.name, column=label_col)
        if rules is not None:
            rules.check_labels(clf.labels)
        if reference is not None:
            reference(clf, table.texts)

    done = run_text_model(model, data, label_col=label_col, progress=progress, journal_dir=journal_dir,
                          loaded_model=loaded_model, before_run=before_run, **run_options)
    pred, table = done.run.predictions, done.table
    info = {"model": str(done.clf.path), "data": table.name, "data_sha256": table.sha256,
            "device": done.clf.device, "max_length": pred.max_length, "truncated": pred.n_truncated,
            "skipped_empty_rows": len(table.skipped_rows), "tokens": pred.n_tokens,
            "resumed_rows": pred.resumed_rows}
    timing = {"load_s": round(done.load_s, 3), "predict_s": round(pred.seconds, 3),
              "rows_per_s": round(len(table.texts) / max(pred.seconds, 1e-9), 1)}
    return EvalInputs(task=task or "classification", y_true=encoded["y"], y_pred=pred.probs.argmax(axis=1),
                      probs=pred.probs, labels=tuple(done.clf.labels), texts=table.texts, ids=table.ids, info=info,
                      timing=timing, run=done.run)


def tabular_arrays(model_dir: str | Path, data_path, *, label_col: str, encoding: str | None = None,
                   sheet: str | int | None = None, id_col: str | None = None, model=None) -> dict:
    """What ``evaluate`` needs from a tabular model and a labelled table (a path or a DataFrame).

    Returns ``{"labels", "task", "y_true", "probs", "values", "y_pred", "ids", "unseen", "transform",
    "sha256", "model_path", "n_rows", "data"}``: ``y_true`` holds class ids (classification) or floats
    (regression); ``probs`` / ``y_pred`` are set for classification, ``values`` for regression.
    ``model``: an already loaded TabularModel (else ``model_dir`` is loaded).
    """
    from modelqa.adapters.tabular import load_tabular_model
    from modelqa.data.target import TargetEncoder, regression_values

    model = model or load_tabular_model(model_dir)
    src = read_source(data_path, encoding=encoding, sheet=sheet)
    df, where = src.frame, src.name
    require_columns(df, {"label": label_col, "id": id_col}, path=where)
    target = TargetEncoder.from_dict(model.preprocessor.target.to_dict()) if model.preprocessor.target else None
    if target is None:
        raise DataError(f"{model_dir}: the model's preprocessing has no target encoding")
    target.column = label_col
    if model.task == "regression":
        y_true = regression_values(df[label_col], path=where, column=label_col)
    else:
        y_true = target.encode(df[label_col], path=where)
    preds = model.predict(df, path=where)
    return {"labels": model.labels, "task": model.task, "y_true": y_true, "probs": preds.probs,
            "values": preds.values, "y_pred": preds.y_pred,
            "ids": (id_col, df[id_col].tolist()) if id_col else None, "unseen": dict(preds.unseen_categories),
            "transform": preds.report, "sha256": src.sha256, "model_path": model.path, "n_rows": len(df),
            "data": where}


def from_tabular(model, data, *, label_col, id_col, encoding, sheet, task) -> EvalInputs:
    """A tabular model (``modelqa train tabular``) on a labelled table."""
    t0 = time.perf_counter()
    arr = tabular_arrays(model, data, label_col=label_col, encoding=encoding, sheet=sheet, id_col=id_col)
    regression = arr["task"] == "regression"
    if task is not None and (task == "regression") != regression:
        raise UsageError(f"--task {task}, but {model} is a {arr['task']} model")
    seconds = time.perf_counter() - t0
    notes = ()
    if arr["unseen"]:
        notes = ("categories not seen in training (encoded as all zeros): "
                 + ", ".join(f"{k} {v}" for k, v in arr["unseen"].items()),)
    return EvalInputs(
        task="regression" if regression else (task or "classification"),
        labels=None if regression else tuple(arr["labels"]), y_true=arr["y_true"],
        y_pred=arr["values"] if regression else arr["y_pred"], probs=None if regression else arr["probs"],
        ids=arr["ids"], notes=notes,
        info={"model": str(arr["model_path"]), "model_kind": "tabular", "data": arr["data"],
              "data_sha256": arr["sha256"], "unseen_categories": arr["unseen"]},
        timing={"load_predict_s": round(seconds, 3), "rows_per_s": round(arr["n_rows"] / max(seconds, 1e-9), 1)})


def _file_info(src, n_normalized: int = 0) -> dict:
    return {"model": None, "predictions_file": src.name, "data": src.name, "data_sha256": src.sha256,
            "normalized_rows": n_normalized}


def from_predictions_file(path, *, label_col, pred_col, id_col, text_col, scores, normalize_probs, encoding,
                          sheet, task=None) -> EvalInputs:
    from modelqa.adapters.predictions_file import read_scores

    src = read_source(path, encoding=encoding, sheet=sheet, what="predictions")
    df, where = src.frame, src.name
    require_columns(df, {"label": label_col, "id": id_col}, path=where)
    sc = read_scores(df, path=where, scores=scores, normalize_probs=normalize_probs)
    if sc is not None:
        class_names, probs, n_norm = sc.labels, sc.probs, sc.n_normalized
        y_pred = probs.argmax(axis=1)
    else:
        if scores != "probs" or normalize_probs:
            raise UsageError(f"{where}: --scores logits and --normalize-probs apply to prob_<label> columns, "
                             "and this file has none")
        if pred_col not in df.columns:
            raise DataError(f"{where}: no column {pred_col!r} with predicted labels and no prob_<label> columns; "
                            f"the columns are: {', '.join(map(str, df.columns))}",
                            hint="name the predicted-label column with --pred-col, or give one prob_<label> "
                                 "column per class")
        class_names = infer_classes(infer_classes(df[label_col], path=where, column=label_col)
                                    + infer_classes(df[pred_col], path=where, column=pred_col),
                                    path=where, column=label_col)
        label2id = {c: i for i, c in enumerate(class_names)}
        y_pred = encode_labels(df[pred_col], label2id=label2id, path=where, column=pred_col)
        probs, n_norm = None, 0
    y_true = encode_labels(df[label_col], label2id={c: i for i, c in enumerate(class_names)}, path=where,
                           column=label_col)
    return EvalInputs(task=task or "classification", labels=tuple(class_names), y_true=y_true,
                      y_pred=np.asarray(y_pred), probs=probs, texts=texts_of(df, text_col),
                      ids=(id_col, df[id_col].tolist()) if id_col else None, info=_file_info(src, n_norm))


def regression_from_file(path, *, label_col, pred_col, id_col, text_col, encoding, sheet) -> EvalInputs:
    src = read_source(path, encoding=encoding, sheet=sheet, what="predictions")
    df, where = src.frame, src.name
    require_columns(df, {"label": label_col, "id": id_col}, path=where)
    if pred_col not in df.columns:
        raise DataError(f"{where}: no column {pred_col!r} with predicted values; the columns are: "
                        f"{', '.join(map(str, df.columns))}", hint="name it with --pred-col")
    if pred_col == label_col:
        raise UsageError(f"--label-col and --pred-col both name {label_col!r}")
    return EvalInputs(task="regression", y_true=numeric_column(df[label_col], path=where, column=label_col),
                      y_pred=numeric_column(df[pred_col], path=where, column=pred_col),
                      texts=texts_of(df, text_col), ids=(id_col, df[id_col].tolist()) if id_col else None,
                      info=_file_info(src))


def numeric_column(series, *, path, column: str, shown: int = 5) -> np.ndarray:
    """A column as finite float64; DataError shows the first few bad values with their rows."""
    import pandas as pd

    values = series
    if values.dtype == object:
        values = values.map(lambda v: v.strip() if isinstance(v, str) else v)
    if pd.api.types.is_bool_dtype(values.dtype):
        num = pd.Series(np.nan, index=values.index)
    else:
        num = pd.to_numeric(values, errors="coerce")
    arr = num.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        examples = ", ".join(f"row {i + 1}: {_show(series.iloc[i])}" for i in bad[:shown])
        raise DataError(f"{path}: column {column!r} must hold numbers for a regression run; "
                        f"{bad.size} value(s) are not numbers ({examples}"
                        f"{', …' if bad.size > shown else ''}); rows {format_rows(bad + 1)}",
                        hint="regression targets and predictions must be numbers; for classes leave out "
                             "--task regression")
    return arr


def _show(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "(missing)"
    return repr(value)
