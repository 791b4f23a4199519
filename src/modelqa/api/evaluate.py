"""``modelqa.evaluate``: a model folder plus labelled data, a file of predictions, or arrays
into metrics, tables and a report.

Three ways in, one way out: ``evaluate`` reads a model + data or a predictions file into
arrays, and ``evaluate_arrays`` turns arrays (classification or regression) into the
``Evaluation`` and the run folder. Callers with their own arrays (the tabular models) call
``evaluate_arrays`` directly.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from modelqa._types import NullProgress, Progress
from modelqa.api._frames import predictions_frame, regression_frame
from modelqa.api._inputs import load_text_table
from modelqa.api._run import check_engine_options, driver_device, run_classifier
from modelqa.api._runinfo import command_line, now_iso, versions
from modelqa.api.evaluation import Evaluation
from modelqa.errors import DataError, UsageError, format_rows

TASKS = ("classification", "binary", "multiclass", "regression")
#: errors.csv of a regression run: the rows with the largest absolute residuals.
MAX_REGRESSION_ERRORS = 100


def evaluate(*, model: str | Path | None = None, data: str | Path | None = None,
             predictions: str | Path | None = None, text_col: str = "text", label_col: str = "label",
             id_col: str | None = None, pred_col: str | None = None, labels: list[str] | None = None,
             label_map: str | dict | None = None, scores: str = "probs", normalize_probs: bool = False,
             pos_label: str | None = None, on_empty: str = "error", encoding: str | None = None,
             sheet: str | int | None = None, batch_size: int = 64, max_length: int | None = None,
             device: str = "auto", allow_pickle: bool = False, n_resamples: int = 1000, seed: int = 0,
             out: str | Path | None = None, progress: Progress | None = None,
             command: str | None = None, loaded_model=None, task: str | None = None,
             threshold: float | None = None, min_recall: float | None = None,
             cost: str | Mapping | None = None, actions=None, memory_budget: int | str | None = None,
             stream: bool | None = None, chunk_rows: int | None = None, restart: bool = False,
             precision: str = "fp32", engine: str = "local", ray_actors: int | None = None,
             backend: str = "torch", max_tokens: int | None = None) -> Evaluation:
    """Evaluate a model on labelled data (``model`` + ``data``) or a predictions file
    (``predictions``). With ``out`` the run folder is written (see docs/file-formats.md).

    ``task``: None (classification, as the model or file says), ``"binary"``,
    ``"multiclass"`` (checked against the classes) or ``"regression"`` (a predictions file
    with a numeric ``label_col`` and ``pred_col``, default ``prediction``).
    ``pred_col`` defaults to ``predicted_label`` for classification.
    ``threshold`` (binary with probabilities): predict the positive class iff its
    probability >= threshold. ``min_recall`` / ``cost`` tune the ``thresholds`` section
    (defaults 0.8 and ``fp=1,fn=1``; see docs/thresholds.md).
    ``actions``: business-action rules (a YAML file path, an already-parsed mapping or an
    ``ActionRules``; see docs/actions.md): adds an ``action`` column and ``result["actions"]``.
    Classification only.
    ``memory_budget`` (bytes or a size such as ``"1GB"``, default 1 GiB) and ``stream`` (None: decide
    from the budget): a large Parquet / CSV / TSV ``predictions`` file with ``prob_<label>`` columns is
    read in chunks into mergeable metric states (docs/metrics.md, "Streaming"); then predictions.csv
    holds a uniform sample of rows and errors.csv the most confident errors (run.json says so).
    ``chunk_rows`` / ``restart``: with a text model and ``out``, each finished chunk of predictions
    is kept in ``out/.partial/``; the same call after a crash resumes from there (``restart``
    discards it instead), and the folder is removed once the run folder is written.
    ``precision``: "fp32", "bf16" or "fp16" (GPU) weights for a text model (engine.quantize).
    ``engine="ray"``: a text model predicts with ``ray_actors`` Ray actors (docs/ray.md);
    ``backend="onnx"``: with ONNX Runtime (docs/performance.md).
    """
    t0 = time.perf_counter()
    progress = progress or NullProgress()
    engine, backend = check_engine_options(engine=engine, backend=backend)
    if task is not None and task not in TASKS:
        raise UsageError(f"--task must be one of {', '.join(TASKS)}, not {task!r}")
    if (model is None and loaded_model is None) == (predictions is None):
        raise UsageError("give either --model with --data, or --predictions (not both)")
    info: dict = {"command": command_line(command), "created": now_iso(), "versions": versions(),
                  "id_column": id_col}
    regression = task == "regression"
    if regression:
        _refuse_for_regression(pos_label=pos_label, threshold=threshold, min_recall=min_recall, cost=cost,
                               scores=scores, normalize_probs=normalize_probs, actions=actions)
    rules = _early_rules(actions)
    if (precision != "fp32" or engine != "local" or backend != "torch") and (
            predictions is not None or (loaded_model is None and _is_tabular(model))):
        raise UsageError("--precision, --engine and --backend apply to a text model; they do not apply to a --predictions "
                         "file or a tabular model")
    if predictions is not None:
        if data is not None:
            raise UsageError("--data is for --model; a --predictions file already holds the labels")
        if labels is not None or label_map is not None:
            raise UsageError("--labels / --label-map name a model's outputs; a --predictions file names its "
                             "classes in its prob_<label> columns or its label columns")
        if not regression and should_stream(predictions, memory_budget=memory_budget, stream=stream):
            given = {"--threshold": threshold, "--min-recall": min_recall, "--cost": cost, "--actions": actions}
            bad = [flag for flag, value in given.items() if value is not None]
            if bad:
                raise UsageError(f"{', '.join(bad)} need every row in memory, and {predictions} is streamed "
                                 "(larger than --memory-budget)", hint="raise --memory-budget to read it whole")
            st = _stream_predictions_file(predictions, label_col=label_col, id_col=id_col, text_col=text_col,
                                          scores=scores, normalize_probs=normalize_probs, encoding=encoding,
                                          pos_label=pos_label, n_resamples=n_resamples, seed=seed,
                                          memory_budget=memory_budget, progress=progress)
            info.update({"model": None, "predictions_file": str(predictions), "data": str(predictions),
                         "data_sha256": st["sha256"], "normalized_rows": st["n_normalized"]})
            return _streamed_evaluation(st, id_col=id_col, info=info, out=out, t0=t0)
        if regression:
            ev_in = _regression_from_file(predictions, label_col=label_col, pred_col=pred_col or "prediction",
                                          id_col=id_col, text_col=text_col, encoding=encoding, sheet=sheet)
        else:
            ev_in = _from_predictions_file(predictions, label_col=label_col,
                                           pred_col=pred_col or "predicted_label", id_col=id_col,
                                           text_col=text_col, scores=scores, normalize_probs=normalize_probs,
                                           encoding=encoding, sheet=sheet)
        info.update({"model": None, "predictions_file": str(predictions), "data": str(predictions),
                     "data_sha256": ev_in["sha256"], "normalized_rows": ev_in.get("n_normalized", 0)})
    elif loaded_model is None and _is_tabular(model):
        if data is None:
            raise UsageError("--model needs --data (a labelled file to evaluate on)")
        for flag, value in (("--labels", labels), ("--label-map", label_map), ("--max-length", max_length),
                            ("--pred-col", pred_col)):
            if value is not None:
                raise UsageError(f"{flag} does not apply to a tabular model ({model})")
        ev_in = _from_tabular(model, data, label_col=label_col, id_col=id_col, encoding=encoding, sheet=sheet,
                              task=task)
        task = ev_in["task"]
        info.update({"model": str(ev_in["model_path"]), "model_kind": "tabular", "data": str(data),
                     "data_sha256": ev_in["sha256"], "unseen_categories": ev_in["unseen"]})
        if ev_in["unseen"]:
            progress.log("categories not seen in training (encoded as all zeros): "
                         + ", ".join(f"{k} {v}" for k, v in ev_in["unseen"].items()))
    else:
        if data is None:
            raise UsageError("--model needs --data (a labelled file to evaluate on)")
        if regression:
            raise UsageError("--task regression needs a regression model; a text classifier's outputs are "
                             "classes", hint="evaluate a file of numeric predictions with --predictions FILE "
                                             "--task regression --label-col y --pred-col prediction")
        if pred_col is not None:
            raise UsageError("--pred-col names a column of a --predictions file; with --model the model predicts")
        ev_in = _from_model(model, loaded_model, data, text_col=text_col, label_col=label_col, id_col=id_col,
                            labels=labels, label_map=label_map, on_empty=on_empty, encoding=encoding, sheet=sheet,
                            batch_size=batch_size, max_length=max_length, device=device,
                            allow_pickle=allow_pickle, progress=progress, rules=rules, chunk_rows=chunk_rows,
                            restart=restart, out=out, precision=precision, engine=engine, ray_actors=ray_actors,
                            backend=backend, max_tokens=max_tokens)
        info.update({"model": str(ev_in["model_path"]), "data": str(data), "data_sha256": ev_in["sha256"],
                     "device": ev_in["device"], "max_length": ev_in["max_length"],
                     "truncated": ev_in["n_truncated"], "skipped_empty_rows": len(ev_in["skipped"]),
                     "tokens": ev_in["n_tokens"], "precision": precision, "engine": engine, "backend": backend,
                     "resumed_rows": ev_in["run"].predictions.resumed_rows})
    evaluation = evaluate_arrays(task=task or "classification", labels=ev_in.get("labels"),
                                 y_true=ev_in["y_true"], y_pred=ev_in["y_pred"], probs=ev_in.get("probs"),
                                 texts=ev_in["texts"], ids=ev_in["ids"], run_info=info, out=out,
                                 pos_label=pos_label, threshold=threshold, min_recall=min_recall, cost=cost,
                                 n_resamples=n_resamples, seed=seed, timing=ev_in.get("timing"), started=t0,
                                 actions=rules)
    if ev_in.get("run") is not None:
        ev_in["run"].finished()
    return evaluation


def evaluate_arrays(*, task: str, y_true, y_pred=None, probs=None, labels: Sequence[str] | None = None,
                    texts: Sequence[str] | None = None, ids: tuple[str, Sequence] | None = None,
                    run_info: Mapping | None = None, out: str | Path | None = None,
                    pos_label: str | None = None, threshold: float | None = None,
                    min_recall: float | None = None, cost: str | Mapping | None = None,
                    n_resamples: int = 1000, seed: int = 0, timing: Mapping | None = None,
                    started: float | None = None, actions=None) -> Evaluation:
    """Arrays into an ``Evaluation`` (and, with ``out``, the run folder).

    Classification (``task`` "classification", "binary" or "multiclass"): ``labels`` are the
    class names in model order, ``y_true`` class ids, and ``y_pred`` class ids and/or
    ``probs`` ``(n, K)`` (without ``y_pred`` the prediction is the argmax, or with
    ``threshold`` the positive class iff its probability >= threshold).
    Regression (``task="regression"``): ``y_true`` and ``y_pred`` are numbers; ``labels``,
    ``probs`` and the threshold options must be None.
    ``texts`` and ``ids`` (``(column name, values)``) are copied into predictions.csv;
    ``run_info`` becomes run.json (``timing`` and ``started``, a ``time.perf_counter()``
    value, fill its ``timing``).
    ``actions`` (classification only): business-action rules, a YAML path, a mapping or an
    ``ActionRules`` (docs/actions.md); every rule label must be one of ``labels``.
    """
    from modelqa.analysis.distribution import prediction_distribution
    from modelqa.analysis.errors import confused_pairs, error_rows
    from modelqa.metrics.classification import classification_metrics

    t0 = time.perf_counter() if started is None else started
    if task not in TASKS:
        raise UsageError(f"task must be one of {', '.join(TASKS)}, not {task!r}")
    info = dict(run_info or {})
    t_metrics = time.perf_counter()
    if task == "regression":
        evaluation = _regression_evaluation(y_true, y_pred, probs=probs, labels=labels, texts=texts, ids=ids,
                                            info=info, n_resamples=n_resamples, seed=seed,
                                            options={"pos_label": pos_label, "threshold": threshold,
                                                     "min_recall": min_recall, "cost": cost,
                                                     "actions": actions})
    else:
        if labels is None:
            raise UsageError("classification needs labels (class names in model order)")
        class_names = [str(x) for x in labels]
        if task == "binary" and len(class_names) != 2:
            raise DataError(f"--task binary, but there are {len(class_names)} classes: {', '.join(class_names)}")
        if task == "multiclass" and len(class_names) < 3:
            raise DataError(f"--task multiclass, but there are only {len(class_names)} classes: "
                            f"{', '.join(class_names)}")
        rules = None
        if actions is not None:
            from modelqa.analysis.rules import resolve_rules

            rules = resolve_rules(actions, labels=class_names)
        binary = len(class_names) == 2
        pos = _pos_label_id(pos_label, class_names)
        pos_id = 1 if pos is None else pos
        if probs is not None:
            probs = np.asarray(probs, dtype=np.float64)
        if threshold is not None:
            y_pred = _apply_threshold(threshold, probs, binary, pos_id)
        elif y_pred is None:
            if probs is None:
                raise UsageError("give y_pred or probs")
            y_pred = probs.argmax(axis=1)
        if (min_recall is not None or cost is not None) and not (binary and probs is not None):
            raise UsageError("--min-recall and --cost tune the binary threshold analysis; they need a binary "
                             "task with probabilities")
        y_true = np.asarray(y_true)
        y_pred = np.asarray(y_pred)
        result = classification_metrics(y_true, y_pred, labels=class_names, probs=probs, pos_label=pos,
                                        n_resamples=n_resamples, seed=seed)
        if binary:
            result["positive_label"] = class_names[pos_id]
            if threshold is not None:
                result["threshold"] = float(threshold)
            if probs is not None:
                result["thresholds"] = _threshold_section(y_true, probs, pos_id, class_names, threshold,
                                                          min_recall, cost)
        frame = predictions_frame(labels=class_names, y_pred=y_pred, probs=probs, y_true=y_true, texts=texts,
                                  ids=ids)
        if rules is not None:
            frame, result["actions"] = _with_actions(frame, rules)
            info["actions_file"] = rules.source
        evaluation = Evaluation(
            result=result, predictions=frame, errors=error_rows(frame),
            confusions=confused_pairs(y_true, y_pred, class_names),
            distribution=prediction_distribution(y_true, y_pred, class_names),
            run_info=info)
    info["timing"] = {**dict(timing or {}), "metrics_s": round(time.perf_counter() - t_metrics, 3),
                      "total_s": round(time.perf_counter() - t0, 3)}
    evaluation.run_info = info
    if out is not None:
        evaluation.save(out)
    return evaluation


def _refuse_for_regression(**given) -> None:
    defaults = {"scores": "probs", "normalize_probs": False}
    flags = {"pos_label": "--pos-label", "threshold": "--threshold", "min_recall": "--min-recall",
             "cost": "--cost", "scores": "--scores", "normalize_probs": "--normalize-probs",
             "actions": "--actions"}
    bad = [flags[k] for k, v in given.items() if v is not None and v != defaults.get(k, None)]
    if bad:
        hint = ("--actions rules match predicted labels and confidence; a regression run has neither "
                "(see docs/actions.md)") if "--actions" in bad else None
        raise UsageError(f"{', '.join(bad)} apply to classification; this is a regression run", hint=hint)


def _early_rules(actions):
    """Read and check the rules' structure before any prediction runs (labels are checked later)."""
    if actions is None:
        return None
    from modelqa.analysis.rules import resolve_rules

    return resolve_rules(actions)


def _with_actions(frame, rules):
    """The predictions frame with its ``action`` column, and the ``actions`` section of metrics.json."""
    from modelqa.analysis.rules import action_summary, add_action_column

    confidence = frame["confidence"].to_numpy() if "confidence" in frame.columns else None
    acts = rules.apply(frame["predicted_label"].to_numpy(), confidence)
    correct = frame["correct"].to_numpy() if "correct" in frame.columns else None
    return add_action_column(frame, acts), action_summary(acts, correct, rules)


def _apply_threshold(threshold, probs, binary: bool, pos_id: int) -> np.ndarray:
    from modelqa.metrics.thresholds import check_threshold

    if not binary:
        raise UsageError("--threshold applies to binary tasks only; this task has more than 2 classes",
                         hint="for multiclass tasks the prediction is the most probable class")
    if probs is None:
        raise UsageError("--threshold needs probabilities; this run has predicted labels only",
                         hint="give one prob_<label> column per class in the predictions file")
    t = check_threshold(threshold)
    return np.where(probs[:, pos_id] >= t, pos_id, 1 - pos_id)


def _threshold_section(y_true, probs, pos_id, class_names, threshold, min_recall, cost) -> dict | None:
    """The ``thresholds`` block of metrics.json, or None when one class is absent."""
    from modelqa.metrics.thresholds import (
        DEFAULT_MIN_RECALL,
        check_min_recall,
        parse_costs,
        stats_at,
        threshold_analysis,
    )

    min_recall = DEFAULT_MIN_RECALL if min_recall is None else check_min_recall(min_recall)
    costs = parse_costs(cost)
    is_pos = np.asarray(y_true) == pos_id
    if is_pos.all() or not is_pos.any():
        return None
    section = threshold_analysis(is_pos, probs[:, pos_id], min_recall=min_recall, costs=costs,
                                 max_points=METRICS_CURVE_POINTS)
    section = {"positive_label": class_names[pos_id], **section}
    if threshold is not None:
        section["applied"] = stats_at(is_pos, probs[:, pos_id], float(threshold), costs=costs)
    return section


#: Points of the aggregated threshold curve kept in metrics.json (thresholds.json keeps up to 1,000).
METRICS_CURVE_POINTS = 200


def _regression_evaluation(y_true, y_pred, *, probs, labels, texts, ids, info, n_resamples, seed,
                           options) -> Evaluation:
    import pandas as pd

    from modelqa.metrics.regression import regression_metrics

    if y_pred is None:
        raise UsageError("regression needs y_pred (the predicted values)")
    if probs is not None or labels is not None:
        raise UsageError("regression takes y_true and y_pred only (no labels or probabilities)")
    _refuse_for_regression(**options)
    result = regression_metrics(y_true, y_pred, n_resamples=n_resamples, seed=seed)
    frame = regression_frame(y_true=np.asarray(y_true, dtype=np.float64),
                             y_pred=np.asarray(y_pred, dtype=np.float64), texts=texts, ids=ids)
    order = np.argsort(-np.abs(frame["residual"].to_numpy()), kind="stable")[:MAX_REGRESSION_ERRORS]
    errors = frame.iloc[order]
    return Evaluation(result=result, predictions=frame, errors=errors, confusions=pd.DataFrame(),
                      distribution=pd.DataFrame(), run_info=info)


def _pos_label_id(pos_label: str | None, class_names: list[str]) -> int | None:
    if pos_label is None:
        return None
    if pos_label in class_names:
        return class_names.index(pos_label)
    raise UsageError(f"--pos-label {pos_label!r} is not one of the classes: {', '.join(class_names)}")


def _is_tabular(model) -> bool:
    from modelqa.adapters.tabular import is_tabular_model

    return model is not None and is_tabular_model(model)


def _from_tabular(model, data, *, label_col, id_col, encoding, sheet, task) -> dict:
    """A tabular model (``modelqa train tabular``) on a labelled table."""
    from modelqa.api.tabular import tabular_arrays

    t0 = time.perf_counter()
    arr = tabular_arrays(model, data, label_col=label_col, encoding=encoding, sheet=sheet, id_col=id_col)
    regression = arr["task"] == "regression"
    if task is not None and (task == "regression") != regression:
        raise UsageError(f"--task {task}, but {model} is a {arr['task']} model")
    seconds = time.perf_counter() - t0
    return {"task": "regression" if regression else (task or "classification"),
            "labels": None if regression else arr["labels"], "y_true": arr["y_true"],
            "y_pred": arr["values"] if regression else arr["y_pred"], "probs": None if regression else arr["probs"],
            "texts": None, "ids": arr["ids"], "sha256": arr["sha256"], "model_path": arr["model_path"],
            "unseen": arr["unseen"],
            "timing": {"load_predict_s": round(seconds, 3), "rows_per_s": round(arr["n_rows"] / max(seconds, 1e-9), 1)}}


def _from_model(model, loaded_model, data, *, text_col, label_col, id_col, labels, label_map, on_empty,
                encoding, sheet, batch_size, max_length, device, allow_pickle, progress, rules=None,
                chunk_rows=None, restart=False, out=None, precision="fp32", engine="local", ray_actors=None,
                backend="torch", max_tokens=None) -> dict:
    from modelqa.adapters.hf import load_hf_classifier
    from modelqa.data.schema import encode_labels

    t0 = time.perf_counter()
    table = load_text_table(data, text_col=text_col, label_col=label_col, id_col=id_col, encoding=encoding,
                            sheet=sheet, on_empty=on_empty)
    clf = loaded_model or load_hf_classifier(model, device=driver_device(device, engine, backend), labels=labels,
                                             label_map=label_map, allow_pickle=allow_pickle)
    y_true = encode_labels(table.label_values, label2id=clf.label2id, path=table.path, column=label_col)
    if rules is not None:
        rules.check_labels(clf.labels)  # before the (long) prediction run
    t_load = time.perf_counter()
    journal_dir = None
    if out is not None:
        from modelqa.engine.journal import journal_dir_for

        journal_dir = journal_dir_for(out, run_folder=True)
    run = run_classifier(clf, table.texts, max_length=max_length, batch_size=batch_size, progress=progress,
                         chunk_rows=chunk_rows, journal_dir=journal_dir, restart=restart, precision=precision,
                         engine=engine, ray_actors=ray_actors, device_asked=device, backend=backend,
                         max_tokens=max_tokens,
                         load_options={"labels": labels, "label_map": label_map, "allow_pickle": allow_pickle},
                         fingerprint={"data_sha256": table.sha256, "text_col": text_col, "label_col": label_col,
                                      "on_empty": on_empty})
    pred = run.predictions
    return {"run": run, "labels": clf.labels, "y_true": y_true, "y_pred": pred.probs.argmax(axis=1), "probs": pred.probs,
            "texts": table.texts, "ids": table.ids, "sha256": table.sha256, "model_path": clf.path,
            "device": clf.device, "max_length": pred.max_length, "n_truncated": pred.n_truncated,
            "skipped": table.skipped_rows, "n_tokens": pred.n_tokens,
            "timing": {"load_s": round(t_load - t0, 3), "predict_s": round(pred.seconds, 3),
                       "rows_per_s": round(len(table.texts) / max(pred.seconds, 1e-9), 1)}}


def _from_predictions_file(path, *, label_col, pred_col, id_col, text_col, scores, normalize_probs, encoding,
                           sheet) -> dict:
    from modelqa.adapters.predictions_file import read_scores
    from modelqa.data.load import file_sha256, read_table
    from modelqa.data.schema import encode_labels, infer_classes, require_columns

    path = Path(path)
    df = read_table(path, encoding=encoding, sheet=sheet)
    require_columns(df, {"label": label_col, "id": id_col}, path=path)
    sc = read_scores(df, path=path, scores=scores, normalize_probs=normalize_probs)
    if sc is not None:
        class_names = sc.labels
        y_pred = sc.probs.argmax(axis=1)
        probs = sc.probs
        n_norm = sc.n_normalized
    else:
        if scores != "probs" or normalize_probs:
            raise UsageError(f"{path}: --scores logits and --normalize-probs apply to prob_<label> columns, "
                             "and this file has none")
        if pred_col not in df.columns:
            raise DataError(f"{path}: no column {pred_col!r} with predicted labels and no prob_<label> columns; "
                            f"the columns are: {', '.join(map(str, df.columns))}",
                            hint="name the predicted-label column with --pred-col, or give one prob_<label> "
                                 "column per class")
        class_names = infer_classes(infer_classes(df[label_col], path=path, column=label_col)
                                    + infer_classes(df[pred_col], path=path, column=pred_col),
                                    path=path, column=label_col)
        label2id = {c: i for i, c in enumerate(class_names)}
        y_pred = encode_labels(df[pred_col], label2id=label2id, path=path, column=pred_col)
        probs = None
        n_norm = 0
    y_true = encode_labels(df[label_col], label2id={c: i for i, c in enumerate(class_names)}, path=path,
                           column=label_col)
    texts = None
    if text_col in df.columns:
        texts = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in df[text_col]]
    ids = (id_col, df[id_col].tolist()) if id_col else None
    return {"labels": class_names, "y_true": y_true, "y_pred": np.asarray(y_pred), "probs": probs,
            "texts": texts, "ids": ids, "sha256": file_sha256(path), "n_normalized": n_norm}


def _regression_from_file(path, *, label_col, pred_col, id_col, text_col, encoding, sheet) -> dict:
    from modelqa.data.load import file_sha256, read_table
    from modelqa.data.schema import require_columns

    path = Path(path)
    df = read_table(path, encoding=encoding, sheet=sheet)
    require_columns(df, {"label": label_col, "id": id_col}, path=path)
    if pred_col not in df.columns:
        raise DataError(f"{path}: no column {pred_col!r} with predicted values; the columns are: "
                        f"{', '.join(map(str, df.columns))}", hint="name it with --pred-col")
    if pred_col == label_col:
        raise UsageError(f"--label-col and --pred-col both name {label_col!r}")
    y_true = numeric_column(df[label_col], path=path, column=label_col)
    y_pred = numeric_column(df[pred_col], path=path, column=pred_col)
    texts = None
    if text_col in df.columns:
        texts = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in df[text_col]]
    ids = (id_col, df[id_col].tolist()) if id_col else None
    return {"y_true": y_true, "y_pred": y_pred, "texts": texts, "ids": ids, "sha256": file_sha256(path)}


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


# -- streaming evaluation of a large predictions file --------------------------------------------------------------

#: Default --memory-budget: above it a predictions file is streamed, and exact AUC / AP keep all scores only
#: while n x K x 8 bytes fit in it.
DEFAULT_MEMORY_BUDGET = 1 << 30
#: The in-memory path holds about this many copies of the decoded table (frame, float64 probs, output frames).
IN_MEMORY_COPIES = 4
#: Rows read per chunk when streaming.
STREAM_CHUNK_ROWS = 100_000
#: errors.csv of a streamed run: the most confident errors.
STREAM_MAX_ERRORS = 10_000
#: predictions.csv of a streamed run: a uniform random sample of rows (seeded).
STREAM_SAMPLE_ROWS = 20_000
STREAM_FORMATS = {".parquet": None, ".csv": ",", ".tsv": "\t"}
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30,
          "t": 1 << 40, "tb": 1 << 40}


def parse_memory_budget(value) -> int:
    """Bytes from an int or a string such as ``1GB``, ``512MB``, ``2g`` (binary units)."""
    if value is None:
        return DEFAULT_MEMORY_BUDGET
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        budget = int(value)
    else:
        import re

        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", str(value))
        if not m or m.group(2).lower() not in _UNITS:
            raise UsageError(f"--memory-budget must be a size such as 1GB or 512MB, not {value!r}")
        budget = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if budget <= 0:
        raise UsageError(f"--memory-budget must be positive, got {value!r}")
    return budget


def estimated_table_bytes(path: str | Path) -> int | None:
    """Bytes the in-memory path would need for this predictions file (None: not a streamable format)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in STREAM_FORMATS or not path.is_file():
        return None
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        return int(meta.num_rows) * int(meta.num_columns) * 8 * IN_MEMORY_COPIES
    return path.stat().st_size * IN_MEMORY_COPIES  # a CSV number takes about as many bytes as a float64


def should_stream(path, *, memory_budget=None, stream: bool | None = None) -> bool:
    """Whether ``evaluate --predictions path`` streams: forced by ``stream``, else when the in-memory path's
    estimate exceeds the memory budget."""
    if stream is not None:
        return bool(stream)
    size = estimated_table_bytes(path)
    return size is not None and size > parse_memory_budget(memory_budget)


def _iter_chunks(path: Path, *, encoding: str | None, chunk_rows: int):
    """DataFrame chunks of a Parquet (row batches) or CSV / TSV (pandas chunksize, cells as strings) file."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        # no pre-buffering of whole row groups and a small read buffer: memory follows chunk_rows
        pf = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
        for batch in pf.iter_batches(batch_size=chunk_rows):
            df = batch.to_pandas()
            del batch
            yield df
            pa.default_memory_pool().release_unused()
        return
    import pandas as pd

    yield from pd.read_csv(path, sep=STREAM_FORMATS[suffix], dtype=str, keep_default_na=False, na_values=[""],
                           encoding=encoding or "utf-8-sig", chunksize=chunk_rows)


def _keep_top(kept: dict | None, new: dict, limit: int, *, largest: bool) -> dict:
    """Merge column dicts and keep the ``limit`` rows with the largest (or smallest) ``_key``."""
    if kept is not None:
        new = {c: np.concatenate([kept[c], new[c]]) for c in new}
    key = new["_key"]
    if key.size > limit:
        part = np.argpartition(-key if largest else key, limit - 1)[:limit]
        new = {c: v[part] for c, v in new.items()}
    return new


def _stream_predictions_file(path, *, label_col, id_col, text_col, scores, normalize_probs, encoding, pos_label,
                             n_resamples, seed, memory_budget, chunk_rows=None, max_errors=None,
                             sample_rows=None, progress=None):
    """One pass over the file in chunks: metric state, top errors, a uniform row sample."""
    chunk_rows = chunk_rows or STREAM_CHUNK_ROWS
    max_errors = max_errors or STREAM_MAX_ERRORS
    sample_rows = sample_rows or STREAM_SAMPLE_ROWS
    from modelqa.adapters.predictions_file import read_scores
    from modelqa.data.load import file_sha256
    from modelqa.data.schema import encode_labels, require_columns
    from modelqa.metrics.streaming import ClassificationState

    path = Path(path)
    budget = parse_memory_budget(memory_budget)
    n_rows_meta = None
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        n_rows_meta = pq.ParquetFile(path).metadata.num_rows
    rng = np.random.default_rng(seed)
    state = names = None
    errors = sample = None
    start = n_normalized = 0
    for df in _iter_chunks(path, encoding=encoding, chunk_rows=chunk_rows):
        n = len(df)
        if n == 0:
            continue
        require_columns(df, {"label": label_col, "id": id_col}, path=path)
        rows = np.arange(start + 1, start + n + 1)
        try:
            sc = read_scores(df, path=path, scores=scores, normalize_probs=normalize_probs)
        except DataError as exc:
            raise DataError(f"{exc} (row numbers counted from row {start + 1}, the first row of this chunk)",
                            hint=exc.hint) from None
        if sc is None:
            raise DataError(f"{path}: streaming needs one prob_<label> column per class; this file has none",
                            hint="a file of predicted labels only is small: raise --memory-budget to read it whole")
        if names is None:
            names = sc.labels
            total = n_rows_meta
            keep = total is not None and total * len(names) * 8 <= budget
            state = ClassificationState(len(names), keep_scores=keep)
        elif sc.labels != names:
            raise DataError(f"{path}: the prob_ columns change between chunks")
        y = encode_labels(df[label_col], label2id={c: i for i, c in enumerate(names)}, path=path,
                          column=label_col, rows=rows)
        probs = sc.probs
        n_normalized += sc.n_normalized
        state.update(y, probs)
        pred = probs.argmax(axis=1)
        conf = probs[np.arange(n), pred]
        extra = {}
        if id_col:
            extra[id_col] = df[id_col].to_numpy(dtype=object)
        if text_col in df.columns:
            extra["text"] = np.array(["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                                      for v in df[text_col]], dtype=object)
        wrong = np.flatnonzero(pred != y)
        cols = {"_key": conf[wrong], "row": rows[wrong], "y": y[wrong], "pred": pred[wrong],
                "probs": probs[wrong], **{c: v[wrong] for c, v in extra.items()}}
        errors = _keep_top(errors, cols, max_errors, largest=True)
        key = rng.random(n)
        cols = {"_key": key, "row": rows, "y": y, "pred": pred, "probs": probs, **extra}
        sample = _keep_top(sample, cols, sample_rows, largest=False)
        start += n
        del df, sc, probs, cols
        if progress is not None:
            progress.log(f"streamed {start:,} rows" + (f" of {n_rows_meta:,}" if n_rows_meta else ""))
    if state is None:
        raise DataError(f"{path}: the file has no rows")
    pos = _pos_label_id(pos_label, names)
    result = state.compute(names, pos_label=pos, n_resamples=n_resamples, seed=seed)
    if len(names) == 2:
        result["positive_label"] = names[1 if pos is None else pos]
    return {"labels": names, "result": result, "cm": state.cm, "errors": errors, "sample": sample,
            "sha256": file_sha256(path), "n_normalized": n_normalized, "n_rows": start,
            "keep_scores": state.keep_scores, "budget": budget, "chunk_rows": chunk_rows,
            "max_errors": max_errors}


def _frame_of(part: dict, names: list[str], id_col: str | None, order: np.ndarray):
    from modelqa.api._frames import predictions_frame

    part = {c: v[order] for c, v in part.items()}
    frame = predictions_frame(labels=names, y_pred=part["pred"], probs=part["probs"], y_true=part["y"],
                              texts=part.get("text"), ids=(id_col, part[id_col]) if id_col else None)
    frame.insert(0, "row", part["row"].astype(np.int64))
    return frame


def _tables_from_confusion(cm: np.ndarray, names: list[str]):
    """confusions.csv and distribution.csv from the counts (the same tables analysis builds from rows)."""
    import pandas as pd

    from modelqa.analysis.distribution import DISTRIBUTION_COLUMNS, distribution_flag

    off = cm.copy()
    np.fill_diagonal(off, 0)
    t_idx, p_idx = np.nonzero(off)
    counts = off[t_idx, p_idx]
    order = np.argsort(-counts, kind="stable")
    t_idx, p_idx, counts = t_idx[order], p_idx[order], counts[order]
    support = cm.sum(axis=1)
    confusions = pd.DataFrame({"true_label": [names[i] for i in t_idx],
                               "predicted_label": [names[j] for j in p_idx],
                               "count": counts.astype(np.int64),
                               "share_of_true": (counts / support[t_idx]).astype(np.float64)})
    true, pred = support, cm.sum(axis=0)
    distribution = pd.DataFrame({
        "label": names, "true_count": true.astype(np.int64), "predicted_count": pred.astype(np.int64),
        "difference": (pred - true).astype(np.int64),
        "ratio": pd.Series([float(p / t) if t else None for p, t in zip(pred, true, strict=True)], dtype=object),
        "flag": [distribution_flag(int(t), int(p)) for t, p in zip(true, pred, strict=True)]},
        columns=DISTRIBUTION_COLUMNS)
    return confusions, distribution


def _streamed_evaluation(st: dict, *, id_col, info: dict, out, t0: float) -> Evaluation:
    names = st["labels"]
    err = st["errors"]
    errors = _frame_of(err, names, id_col, np.argsort(-err["_key"], kind="stable")) if err else None
    sample = _frame_of(st["sample"], names, id_col, np.argsort(st["sample"]["row"]))
    if errors is None:
        errors = sample.iloc[0:0]
    confusions, distribution = _tables_from_confusion(st["cm"], names)
    info["streaming"] = {
        "rows": st["n_rows"], "chunk_rows": st["chunk_rows"], "memory_budget_bytes": st["budget"],
        "auc_method": st["result"].get("auc_method"),
        "predictions_csv": f"a uniform random sample of {len(sample):,} of {st['n_rows']:,} rows (seeded; "
                           "column 'row' is the row number in the input file), not every row",
        "errors_csv": f"the {len(errors):,} most confident errors (at most {STREAM_MAX_ERRORS:,})",
        "report": "metrics and tables from every row; curves and example tables from the sample",
    }
    evaluation = Evaluation(result=st["result"], predictions=sample, errors=errors, confusions=confusions,
                            distribution=distribution, run_info=info)
    info["timing"] = {"total_s": round(time.perf_counter() - t0, 3)}
    if out is not None:
        evaluation.save(out)
    return evaluation
