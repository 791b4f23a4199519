"""Tabular workflows: ``train_tabular`` an MLP on a table and ``predict_tabular`` with the saved
model. ``tabular_arrays`` (an evaluation input) lives with the readers in api._sources and
``profile`` in api.profile; both are re-exported here. See docs/tabular.md."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelqa._types import NullProgress, Progress
from modelqa.api._runinfo import command_line, now_iso, versions
from modelqa.api._sources import tabular_arrays  # noqa: F401  (re-exported: it moved next to the readers)
from modelqa.api.profile import profile  # noqa: F401  (re-exported: profile has its own module)
from modelqa.data.load import file_sha256
from modelqa.data.schema import require_columns
from modelqa.data.source import read_source, source_name, source_sha256
from modelqa.data.split import stratified_split
from modelqa.data.tabular import (
    Preprocessor,
    TargetEncoder,
    drop_missing_target,
    infer_task,
)
from modelqa.errors import DataError, RunError, UsageError, format_rows
from modelqa.train.tabular import CHECKPOINT_DIR, TabularTrainConfig, parse_hidden

PREDICTION_SUFFIXES = (".csv", ".parquet", ".xlsx")



# ------------------------------------------------------------------ training


@dataclass
class TabularTrainResult:
    model_dir: Path
    task: str
    labels: list[str] | None
    history: list[dict]
    best_epoch: int
    stopped_early: bool
    split_sizes: dict[str, int]
    feature_columns: list[str]
    n_features: int
    dropped_columns: list[dict]
    dropped_rows: dict[str, list[int]]
    seconds: float
    task_reason: str = ""
    test_metrics: dict | None = None
    test_unseen_categories: dict[str, int] = field(default_factory=dict)
    evaluation_dir: Path | None = None
    evaluation: Any = None  # the test split's modelqa.api.evaluation.Evaluation
    resumed_from: int | None = None
    notes: list[str] = field(default_factory=list)


def _read_frame(data, *, target: str, encoding, sheet, role: str) -> tuple[pd.DataFrame, list[int]]:
    src = read_source(data, encoding=encoding, sheet=sheet, what=f"the {role} data")
    df, path = src.frame, src.name
    if target not in df.columns:
        require_columns(df, {"target": target}, path=path)
    kept, missing_rows = drop_missing_target(df, target)
    if len(kept) == 0:
        raise DataError(f"{path}: the target column {target!r} is empty in every one of the {len(df)} rows "
                        f"of the {role} data")
    return kept, missing_rows


def _config(config: TabularTrainConfig | None, options: dict) -> TabularTrainConfig:
    config = config or TabularTrainConfig()
    for key, value in options.items():
        if not hasattr(config, key):
            raise UsageError(f"train_tabular() got an unknown option {key!r}")
        if key == "hidden":
            value = parse_hidden(value)
        if key == "class_weight" and value == "none":
            value = None
        setattr(config, key, value)
    return config


def _split(n: int, y_strat: np.ndarray, fractions, *, seed: int, path) -> list[np.ndarray]:
    try:
        return stratified_split(y_strat, fractions, seed=seed)
    except DataError as exc:
        raise DataError(f"{path}: {exc.message} ({n} rows with a target)", hint=exc.hint) from None


def train_tabular(*, data: str | Path | pd.DataFrame, target: str, out: str | Path, task: str | None = None,
                  test_data: str | Path | pd.DataFrame | None = None,
                  val_data: str | Path | pd.DataFrame | None = None,
                  id_cols: list[str] | None = None, encoding: str | None = None, sheet: str | int | None = None,
                  resume: bool = False, evaluate_test: bool = True, config: TabularTrainConfig | None = None,
                  progress: Progress | None = None, command: str | None = None, **options: Any) -> TabularTrainResult:
    """Train a tabular MLP on ``data`` to predict ``target``. ``data``, ``val_data`` and
    ``test_data`` are data files or pandas DataFrames.

    ``options`` are TabularTrainConfig fields: hidden ("128,64" or a tuple), dropout, batch_norm,
    weight_decay, class_weight (None / "none" / "balanced"), epochs, lr, batch_size, patience,
    min_delta, monitor, seed. Split: 60/20/20 of ``data`` (stratified for classification);
    with ``test_data`` 80/20 train/validation; with ``val_data`` too, all of ``data`` trains.
    Every input problem is raised before anything is written.
    """
    from modelqa.adapters.tabular import TabularModel
    from modelqa.train.tabular import clear_checkpoints, fit_tabular, save_tabular_model

    t0 = time.perf_counter()
    progress = progress or NullProgress()
    config = _config(config, options)
    if val_data is not None and test_data is None:
        raise UsageError("--val-data needs --test-data too (otherwise --data is split 60/20/20)")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunError(f"--out {out} is a file; it must be a folder (new or existing)")

    main_df, missing_main = _read_frame(data, target=target, encoding=encoding, sheet=sheet, role="training")
    dropped_rows = {"data": missing_main}
    frames: dict[str, pd.DataFrame] = {}
    for role, path in (("validation", val_data), ("test", test_data)):
        if path is not None:
            frames[role], dropped_rows[role] = _read_frame(path, target=target, encoding=encoding, sheet=sheet,
                                                           role=role)
    if missing_main:
        progress.log(f"{source_name(data)}: left out {len(missing_main)} row(s) with no {target!r} (rows "
                     f"{format_rows(missing_main)})")
    where = source_name(data)
    given_task = task
    whole = TargetEncoder.fit(main_df[target], column=target, task=task, path=where)
    task = whole.task
    task_reason = "set with --task" if given_task is not None else infer_task(main_df[target].tolist())[1]
    config.validate(task)
    classification = task != "regression"
    y_strat = whole.encode(main_df[target], path=where) if classification else np.zeros(len(main_df), np.int64)
    if test_data is None:
        parts = _split(len(main_df), y_strat, (0.6, 0.2, 0.2), seed=config.seed, path=where)
        train_df, val_df, test_df = (main_df.iloc[p] for p in parts)
        split_rule = "60/20/20 " + ("stratified " if classification else "") + "split of --data"
        paths = {"train": where, "validation": where, "test": where}
    elif val_data is None:
        parts = _split(len(main_df), y_strat, (0.8, 0.2), seed=config.seed, path=where)
        train_df, val_df = (main_df.iloc[p] for p in parts)
        test_df = frames["test"]
        split_rule = "80/20 split of --data; --test-data for the test"
        paths = {"train": where, "validation": where, "test": source_name(test_data)}
    else:
        train_df, val_df, test_df = main_df, frames["validation"], frames["test"]
        split_rule = "all of --data trains; --val-data validates; --test-data tests"
        paths = {"train": where, "validation": source_name(val_data), "test": source_name(test_data)}
    if len(train_df) < 2:
        raise DataError(f"{where}: {len(train_df)} training row(s) is too few to train on",
                        hint="use more rows")

    pre = Preprocessor(id_cols=id_cols).fit(train_df, target, task=task, labels=whole.labels, path=where)
    x_train, train_report = pre.transform(train_df, path=paths["train"])
    x_val, val_report = pre.transform(val_df, path=paths["validation"])
    y_train = pre.encode_target(train_df, path=paths["train"])
    y_val = pre.encode_target(val_df, path=paths["validation"])
    y_test = None
    if evaluate_test and len(test_df):
        pre.check_columns(test_df, path=paths["test"])
        y_test = pre.target.encode(test_df[target], path=paths["test"])
    sizes = {"train": len(train_df), "validation": len(val_df), "test": len(test_df)}
    labels = pre.target.labels
    progress.log(f"task {task} ({task_reason}); {split_rule}: " + ", ".join(f"{k} {v}" for k, v in sizes.items()))
    if pre.dropped:
        progress.log("dropped columns: " + ", ".join(f"{d['name']} ({d['kind']}: {d['reason']})"
                                                      for d in pre.dropped))
    n_outputs = 1 if task == "regression" else len(labels)

    hashes = {"data": source_sha256(data)}
    for key, path in (("val_data", val_data), ("test_data", test_data)):
        if path is not None:
            hashes[key] = source_sha256(path)
    fingerprint = {"training_args": config.to_dict(), "data_sha256": hashes, "task": task, "target": target,
                   "id_cols": list(id_cols or [])}

    # ---- everything above only reads; from here on files are written
    fit = fit_tabular(x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, task=task, n_outputs=n_outputs,
                      config=config, target_std=pre.target.std, progress=progress,
                      checkpoint_dir=out / CHECKPOINT_DIR, resume=resume, fingerprint=fingerprint)
    meta = {
        "schema_version": 1, "kind": "tabular", "task": task, "task_reason": task_reason, "labels": labels,
        "id2label": {str(i): c for i, c in enumerate(labels)} if labels else None,
        "label2id": {c: i for i, c in enumerate(labels)} if labels else None,
        "target": target, "feature_columns": pre.feature_columns, "n_features": int(x_train.shape[1]),
        "architecture": fit.architecture, "preprocessing": pre.to_dict(),
        "training_args": config.to_dict(),
        "data_files": {k: str(v) for k, v in (("data", data), ("val_data", val_data), ("test_data", test_data))
                       if v is not None},
        "data_sha256": hashes, "split": {"rule": split_rule, "seed": config.seed, **sizes},
        "dropped_rows_missing_target": {k: len(v) for k, v in dropped_rows.items()},
        "fit_transform_report": {"train": train_report.to_dict(), "validation": val_report.to_dict()},
        "best_epoch": fit.best_epoch, "stopped_early": fit.stopped_early, "train_seconds": round(fit.seconds, 2),
        "resumed_from_epoch": fit.resumed_from, "device": "cpu", "created": now_iso(),
        "command": command_line(command), "versions": versions(),
    }
    save_tabular_model(out, fit, meta)
    clear_checkpoints(out / CHECKPOINT_DIR)
    result = TabularTrainResult(
        model_dir=out, task=task, labels=labels, history=fit.history, best_epoch=fit.best_epoch,
        stopped_early=fit.stopped_early, split_sizes=sizes, feature_columns=pre.feature_columns,
        n_features=int(x_train.shape[1]), dropped_columns=pre.dropped, dropped_rows=dropped_rows,
        seconds=fit.seconds, task_reason=task_reason, resumed_from=fit.resumed_from, notes=list(fit.notes))
    if y_test is not None:
        model = TabularModel(path=out, task=task, labels=labels, preprocessor=pre, module=fit.model, meta=meta)
        preds = model.predict(test_df, path=paths["test"])
        result.evaluation = _evaluate_test(out / "evaluation", test_df, task=task, labels=labels, y_test=y_test,
                                           preds=preds, pre=pre, meta=meta, test_path=paths["test"])
        result.test_metrics = result.evaluation.result
        result.test_unseen_categories = dict(preds.unseen_categories)
        result.evaluation_dir = out / "evaluation"
        if preds.unseen_categories:
            result.notes.append("test rows with categories not seen in training (one-hot all zeros): "
                                + ", ".join(f"{k} {v}" for k, v in preds.unseen_categories.items()))
    result.seconds = time.perf_counter() - t0
    return result


def _evaluate_test(ev_dir: Path, test_df, *, task, labels, y_test, preds, pre, meta, test_path):
    """The test split's run folder, exactly as ``modelqa evaluate`` writes it, plus test_split.csv."""
    from modelqa.api.evaluate import evaluate_arrays
    from modelqa.report.tables import write_table

    split_file = ev_dir / "test_split.csv"
    write_table(test_df, split_file)
    info = {"command": meta["command"], "created": now_iso(), "versions": meta["versions"], "id_column": None,
            "model": str(ev_dir.parent), "model_kind": "tabular", "data": str(split_file),
            "data_source": str(test_path), "data_sha256": file_sha256(split_file),
            "unseen_categories": dict(preds.unseen_categories)}
    if task == "regression":
        return evaluate_arrays(task="regression", y_true=pre.target.decode(y_test), y_pred=preds.values,
                               run_info=info, out=ev_dir)
    return evaluate_arrays(task="classification", labels=labels, y_true=y_test, y_pred=preds.y_pred,
                           probs=preds.probs, run_info=info, out=ev_dir)


# ------------------------------------------------------------------ prediction and evaluation inputs


def _frame(df_or_path, *, encoding, sheet) -> tuple[pd.DataFrame, str]:
    if isinstance(df_or_path, pd.DataFrame) and (df_or_path.attrs.get("source") or {}).get("path"):
        return df_or_path, df_or_path.attrs["source"]["path"]  # read by read_table already
    src = read_source(df_or_path, encoding=encoding, sheet=sheet)
    return src.frame, src.name


def predict_tabular(model_dir: str | Path, df_or_path: pd.DataFrame | str | Path, *, id_col: str | None = None,
                    encoding: str | None = None, sheet: str | int | None = None,
                    out: str | Path | None = None) -> pd.DataFrame:
    """Predict every row. Classification columns: the id column, ``predicted_label``,
    ``confidence``, ``prob_<label>``; regression: the id column, ``prediction``.
    ``attrs["unseen_categories"]`` counts categories not seen in training per column."""
    from modelqa.adapters.tabular import load_tabular_model

    if out is not None and Path(out).suffix.lower() not in PREDICTION_SUFFIXES:
        raise UsageError(f"--out {out}: the predictions file must end in {', '.join(PREDICTION_SUFFIXES)}")
    model = load_tabular_model(model_dir)
    df, where = _frame(df_or_path, encoding=encoding, sheet=sheet)
    if id_col is not None:
        require_columns(df, {"id": id_col}, path=where)
    preds = model.predict(df, path=where)
    ids = (id_col, df[id_col].tolist()) if id_col is not None else None
    if model.task == "regression":
        cols = {id_col: ids[1]} if ids else {}
        frame = pd.DataFrame({**cols, "prediction": preds.values})
    else:
        from modelqa.api._frames import predictions_frame

        frame = predictions_frame(labels=model.labels, y_pred=preds.y_pred, probs=preds.probs, ids=ids)
    frame.attrs.update({"unseen_categories": dict(preds.unseen_categories), "transform": preds.report})
    if out is not None:
        from modelqa.report.tables import write_table

        write_table(frame, Path(out))
    return frame
