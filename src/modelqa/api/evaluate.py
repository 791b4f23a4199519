"""``modelqa.evaluate``: a model folder plus labelled data, a file of predictions, or arrays
into metrics, tables and a report.

Three ways in, one way out. ``evaluate`` checks its options (``_refuse_inapplicable``: the one
place that also refuses options that do not apply to the chosen input, naming them), picks a
reader (api._sources: model, tabular model, predictions file; api._streaming: a predictions file
larger than the memory budget), and hands the reader's frozen ``EvalInputs`` to ``assemble``,
which computes the metrics, the tables and the report data and writes the run folder.
``evaluate_arrays`` is the public door for arrays (a notebook, the tabular trainer): it checks
them and calls the same ``assemble``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from modelqa._types import NullProgress, Progress
from modelqa.adapters.model_kind import feature_kind
from modelqa.api._compare_fp32 import attach_compare_fp32, reference_for
from modelqa.api._feature_sources import from_feature_model, history_file
from modelqa.api._frames import predictions_frame, regression_frame, with_actions
from modelqa.api._options import refuse_for_regression, refuse_inapplicable
from modelqa.api._run import check_engine_options
from modelqa.api._runinfo import command_line, now_iso, versions
from modelqa.api._sources import (  # noqa: F401  (numeric_column: re-exported)
    EvalInputs,
    from_predictions_file,
    from_tabular,
    from_text_model,
    numeric_column,
    pos_label_id,
    regression_from_file,
)
from modelqa.api._streaming import (  # noqa: F401  (re-exported: the streaming names callers use)
    DEFAULT_MEMORY_BUDGET,
    parse_memory_budget,
    should_stream,
    stream_predictions_file,
)
from modelqa.api.evaluation import Evaluation
from modelqa.errors import DataError, UsageError

TASKS = ("classification", "binary", "multiclass", "regression")
#: errors.csv of a regression run: the rows with the largest absolute residuals.
MAX_REGRESSION_ERRORS = 100
#: Points of the aggregated threshold curve kept in metrics.json (thresholds.json keeps up to 1,000).
METRICS_CURVE_POINTS = 200


def evaluate(*, model: str | Path | None = None, data=None, predictions=None, text_col: str = "text",
             label_col: str = "label", id_col: str | None = None, pred_col: str | None = None,
             labels: list[str] | None = None, label_map: str | dict | None = None, scores: str = "probs",
             normalize_probs: bool = False, pos_label: str | None = None, on_empty: str = "error",
             encoding: str | None = None, sheet: str | int | None = None, batch_size: int = 64,
             max_length: int | None = None, device: str = "auto", allow_pickle: bool = False,
             n_resamples: int = 1000, seed: int = 0, out: str | Path | None = None,
             progress: Progress | None = None, command: str | None = None, loaded_model=None,
             task: str | None = None, threshold: float | None = None, min_recall: float | None = None,
             cost: str | Mapping | None = None, actions=None, memory_budget: int | str | None = None,
             stream: bool | None = None, chunk_rows: int | None = None, restart: bool = False,
             precision: str = "fp32", engine: str = "local", ray_actors: int | None = None,
             backend: str = "torch", max_tokens: int | None = None, simple_baseline: bool = True,
             quantize: str = "none", compare_fp32: bool = False, feature_cols: list[str] | None = None,
             drop_col: list[str] | None = None, history: str | Path | None = None, allow_unsafe: bool = False,
             trust: Sequence[str] | None = None) -> Evaluation:
    """Evaluate a model on labelled data (``model`` + ``data``) or a predictions file
    (``predictions``). ``data`` and ``predictions`` are data files or pandas DataFrames.
    With ``out`` the run folder is written (see docs/file-formats.md).

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
    (about 10 s of compute or 4,096 rows; ``chunk_rows`` fixes its size) is kept in ``out/.partial/``; the same call after a crash resumes from there (``restart``
    discards it instead), and the folder is removed once the run folder is written.
    ``precision``: "fp32", "bf16" or "fp16" (GPU) weights for a text model (engine.quantize).
    ``engine="ray"``: a text model predicts with ``ray_actors`` Ray actors (docs/ray.md);
    ``backend="onnx"``: with ONNX Runtime (docs/performance.md).
    ``simple_baseline`` (a text model whose modelqa.json names its training data): fit a char
    n-gram TF-IDF + logistic regression on that training split and compare (``baselines.simple``).
    ``quantize="int8"``: int8 Linear layers (CPU). ``compare_fp32``: also predict with the fp32 torch model and
    add what the lever (int8, onnx, bf16 / fp16) costs (``compare_fp32``, api._compare_fp32).
    A Keras, skops / pickled scikit-learn or ONNX ``model`` file reads ``feature_cols`` (else its own
    names, else every column but label, id and ``drop_col``); opt-ins ``allow_unsafe``, ``trust``,
    ``allow_pickle``; ``history``: a training history for the learning curves (docs/models.md).
    An option that does not apply to the input given is refused (UsageError naming it).
    """
    t0 = time.perf_counter()
    progress = progress or NullProgress()
    engine, backend = check_engine_options(engine=engine, backend=backend)
    if task is not None and task not in TASKS:
        raise UsageError(f"--task must be one of {', '.join(TASKS)}, not {task!r}")
    if (model is None and loaded_model is None) == (predictions is None):
        raise UsageError("give either --model with --data, or --predictions (not both)")
    kind = _input_kind(model=model, loaded_model=loaded_model, predictions=predictions, task=task,
                       memory_budget=memory_budget, stream=stream)
    fkind = feature_kind(model) if kind == "feature-model" else None
    refuse_inapplicable(kind, subject=model if kind in ("tabular-model", "feature-model") else predictions, data=data,
                        pred_col=pred_col, labels=labels, label_map=label_map, scores=scores,
                        normalize_probs=normalize_probs, pos_label=pos_label, on_empty=on_empty,
                        batch_size=batch_size, max_length=max_length, device=device, allow_pickle=allow_pickle,
                        threshold=threshold, min_recall=min_recall, cost=cost, actions=actions,
                        memory_budget=memory_budget, stream=stream, chunk_rows=chunk_rows, restart=restart,
                        precision=precision, engine=engine, ray_actors=ray_actors, backend=backend,
                        max_tokens=max_tokens, task=task, quantize=quantize, compare_fp32=compare_fp32,
                        feature_cols=feature_cols, drop_col=drop_col, history=history, allow_unsafe=allow_unsafe,
                        trust=trust, model_kind=fkind)
    hist = None if predictions is not None else history_file(model, fkind, history)
    reference = reference_for(compare_fp32, quantize=quantize, precision=precision, backend=backend, engine=engine,
                              max_length=max_length, batch_size=batch_size, max_tokens=max_tokens,
                              chunk_rows=chunk_rows, progress=progress) if kind == "text-model" else None
    rules = _early_rules(actions)
    if kind == "streamed":
        inputs = stream_predictions_file(predictions, label_col=label_col, id_col=id_col, text_col=text_col,
                                         scores=scores, normalize_probs=normalize_probs, encoding=encoding,
                                         pos_label=pos_label, n_resamples=n_resamples, seed=seed,
                                         memory_budget=memory_budget, progress=progress)
    elif kind == "regression":
        inputs = regression_from_file(predictions, label_col=label_col, pred_col=pred_col or "prediction",
                                      id_col=id_col, text_col=text_col, encoding=encoding, sheet=sheet)
    elif kind == "predictions":
        inputs = from_predictions_file(predictions, label_col=label_col, pred_col=pred_col or "predicted_label",
                                       id_col=id_col, text_col=text_col, scores=scores,
                                       normalize_probs=normalize_probs, encoding=encoding, sheet=sheet, task=task)
    elif kind == "feature-model":
        inputs = from_feature_model(model, data, kind=fkind, label_col=label_col, id_col=id_col, text_col=text_col,
                                    task=task, pos_label=pos_label, feature_cols=feature_cols, drop_cols=drop_col,
                                    labels=labels, scores=scores, allow_unsafe=allow_unsafe, trust=trust,
                                    allow_pickle=allow_pickle, encoding=encoding, sheet=sheet)
    elif kind == "tabular-model":
        inputs = from_tabular(model, data, label_col=label_col, id_col=id_col, encoding=encoding, sheet=sheet,
                              task=task)
    else:
        inputs = from_text_model(model, loaded_model, data, label_col=label_col, task=task, out=out, rules=rules,
                                 progress=progress, text_col=text_col, id_col=id_col, labels=labels,
                                 label_map=label_map, on_empty=on_empty, encoding=encoding, sheet=sheet,
                                 batch_size=batch_size, max_length=max_length, device=device,
                                 allow_pickle=allow_pickle, chunk_rows=chunk_rows, restart=restart,
                                 precision=precision, engine=engine, ray_actors=ray_actors, backend=backend,
                                 max_tokens=max_tokens, quantize=quantize, reference=reference)
        inputs = _with_info(inputs, precision=precision, engine=engine, backend=backend, quantize=quantize,
                            compare_fp32=bool(compare_fp32))
    if hist is not None:
        inputs = _with_info(inputs, history=str(hist))
    for line in inputs.notes:
        progress.log(line)
    info = {"command": command_line(command), "created": now_iso(), "versions": versions(), "id_column": id_col}
    evaluation = assemble(inputs, run_info=info, out=None, pos_label=pos_label, threshold=threshold,
                          min_recall=min_recall, cost=cost, n_resamples=n_resamples, seed=seed, started=t0,
                          actions=rules)
    from modelqa.api._simple_baseline import attach_simple_baseline  # baselines.simple (docs/metrics.md)

    attach_simple_baseline(evaluation, enabled=simple_baseline and kind == "text-model", n_resamples=n_resamples,
                           seed=seed, progress=progress)
    attach_compare_fp32(evaluation, inputs, reference, n_resamples=n_resamples, seed=seed, progress=progress)
    if out is not None:
        evaluation.save(out)
    if inputs.run is not None:
        inputs.run.finished()
    return evaluation


def _input_kind(*, model, loaded_model, predictions, task, memory_budget, stream) -> str:
    """"text-model", "tabular-model", "predictions", "streamed" or "regression" (a predictions file)."""
    if predictions is not None:
        if task == "regression":
            return "regression"
        return "streamed" if should_stream(predictions, memory_budget=memory_budget, stream=stream) \
            else "predictions"
    if loaded_model is None and _is_tabular(model):
        return "tabular-model"
    if loaded_model is None and feature_kind(model) is not None:
        return "feature-model"
    return "text-model"


def _with_info(inputs: EvalInputs, **extra) -> EvalInputs:
    from dataclasses import replace

    return replace(inputs, info={**inputs.info, **extra})


def evaluate_arrays(*, task: str = "classification", y_true, y_pred=None, probs=None,
                    labels: Sequence[str] | None = None, texts: Sequence[str] | None = None,
                    ids: tuple[str, Sequence] | None = None, run_info: Mapping | None = None,
                    out: str | Path | None = None, pos_label: str | None = None, threshold: float | None = None,
                    min_recall: float | None = None, cost: str | Mapping | None = None,
                    n_resamples: int = 1000, seed: int = 0, timing: Mapping | None = None,
                    started: float | None = None, actions=None) -> Evaluation:
    """Arrays into an ``Evaluation`` (and, with ``out``, the run folder): the public door for a
    notebook's own predictions.

    Classification (``task`` "classification", "binary" or "multiclass"): ``labels`` are the
    class names in model order; ``y_true`` and ``y_pred`` are class ids (integers indexing
    ``labels``) or the label names themselves (strings); ``probs`` is ``(n, K)`` probabilities
    in ``labels`` order. Give ``y_pred`` and/or ``probs``: without ``y_pred`` the prediction is the
    argmax, or with ``threshold`` the positive class iff its probability >= threshold. Without
    ``labels`` and without ``probs``, the classes are the distinct names in ``y_true`` and
    ``y_pred``. Regression (``task="regression"``): ``y_true`` and ``y_pred`` are numbers;
    ``labels``, ``probs`` and the threshold options must be None. Lists, numpy arrays and pandas
    Series all work; a message names the argument and the (1-based) row.
    ``texts`` and ``ids`` (``(column name, values)``) are copied into predictions.csv;
    ``run_info`` becomes run.json (``timing`` and ``started``, a ``time.perf_counter()``
    value, fill its ``timing``).
    ``actions`` (classification only): business-action rules, a YAML path, a mapping or an
    ``ActionRules`` (docs/actions.md); every rule label must be one of ``labels``.
    """
    from modelqa.api._arrays import array_inputs

    t0 = time.perf_counter() if started is None else started
    if task not in TASKS:
        raise UsageError(f"task must be one of {', '.join(TASKS)}, not {task!r}")
    inputs = array_inputs(task=task, y_true=y_true, y_pred=y_pred, probs=probs, labels=labels, texts=texts,
                          ids=ids, timing=timing, regression_options={"pos_label": pos_label, "threshold": threshold,
                                                                      "min_recall": min_recall, "cost": cost,
                                                                      "actions": actions})
    return assemble(inputs, run_info=run_info, out=out, pos_label=pos_label, threshold=threshold,
                    min_recall=min_recall, cost=cost, n_resamples=n_resamples, seed=seed, started=t0,
                    actions=actions)


def assemble(inputs: EvalInputs, *, run_info: Mapping | None, out, pos_label=None, threshold=None,
             min_recall=None, cost=None, n_resamples: int = 1000, seed: int = 0, started: float | None = None,
             actions=None) -> Evaluation:
    """The one way out: ``EvalInputs`` (in memory or streamed) into the ``Evaluation`` and, with
    ``out``, the run folder."""
    t0 = time.perf_counter() if started is None else started
    info = {**dict(run_info or {}), **dict(inputs.info)}
    t_metrics = time.perf_counter()
    if inputs.streamed is not None:
        evaluation = _streamed_evaluation(inputs, info)
    elif inputs.task == "regression":
        refuse_for_regression({"pos_label": pos_label, "threshold": threshold, "min_recall": min_recall,
                               "cost": cost, "actions": actions})
        evaluation = _regression_evaluation(inputs, info=info, n_resamples=n_resamples, seed=seed)
    else:
        evaluation = _classification_evaluation(inputs, info=info, pos_label=pos_label, threshold=threshold,
                                                min_recall=min_recall, cost=cost, n_resamples=n_resamples,
                                                seed=seed, actions=actions)
    info["timing"] = {**dict(inputs.timing), "metrics_s": round(time.perf_counter() - t_metrics, 3),
                      "total_s": round(time.perf_counter() - t0, 3)}
    if inputs.streamed is not None:
        from modelqa.api._streaming import peak_rss_bytes

        info["streaming"]["peak_rss_bytes"] = peak_rss_bytes()
    evaluation.run_info = info
    if out is not None:
        evaluation.save(out)
    return evaluation


def _classification_evaluation(inputs: EvalInputs, *, info, pos_label, threshold, min_recall, cost, n_resamples,
                               seed, actions) -> Evaluation:
    from modelqa.analysis.distribution import prediction_distribution
    from modelqa.analysis.errors import confused_pairs, error_rows
    from modelqa.api._report_data import report_data
    from modelqa.metrics.classification import classification_metrics

    class_names = [str(x) for x in inputs.labels]
    task = inputs.task
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
    pos = pos_label_id(pos_label, class_names)
    pos_id = 1 if pos is None else pos
    probs = None if inputs.probs is None else np.asarray(inputs.probs, dtype=np.float64)
    y_pred = inputs.y_pred
    if threshold is not None:
        y_pred = _apply_threshold(threshold, probs, binary, pos_id)
    elif y_pred is None:
        if probs is None:
            raise UsageError("give y_pred or probs")
        y_pred = probs.argmax(axis=1)
    if (min_recall is not None or cost is not None) and not (binary and probs is not None):
        raise UsageError("--min-recall and --cost tune the binary threshold analysis; they need a binary "
                         "task with probabilities")
    y_true, y_pred = np.asarray(inputs.y_true), np.asarray(y_pred)
    result = classification_metrics(y_true, y_pred, labels=class_names, probs=probs, pos_label=pos,
                                    n_resamples=n_resamples, seed=seed)
    if binary:
        result["positive_label"] = class_names[pos_id]
        if threshold is not None:
            result["threshold"] = float(threshold)
        if probs is not None:
            result["thresholds"] = _threshold_section(y_true, probs, pos_id, class_names, threshold, min_recall,
                                                      cost)
    frame = predictions_frame(labels=class_names, y_pred=y_pred, probs=probs, y_true=y_true, texts=inputs.texts,
                              ids=inputs.ids)
    if rules is not None:
        frame, result["actions"] = with_actions(frame, rules)
        info["actions_file"] = rules.source
    return Evaluation(result=result, predictions=frame, errors=error_rows(frame),
                      confusions=confused_pairs(y_true, y_pred, class_names),
                      distribution=prediction_distribution(y_true, y_pred, class_names), run_info=info,
                      report_data=report_data(y_true, probs, class_names, result))


def _streamed_evaluation(inputs: EvalInputs, info: dict) -> Evaluation:
    from modelqa.analysis.distribution import distribution_from_counts
    from modelqa.analysis.errors import confused_pairs_from_counts

    st = inputs.streamed
    names = list(inputs.labels)
    info["streaming"] = dict(st.info)
    return Evaluation(result=st.result, predictions=st.sample, errors=st.errors,
                      confusions=confused_pairs_from_counts(st.cm, names),
                      distribution=distribution_from_counts(st.cm.sum(axis=1), st.cm.sum(axis=0), names),
                      run_info=info, report_data=st.curves)


def _regression_evaluation(inputs: EvalInputs, *, info, n_resamples, seed) -> Evaluation:
    import pandas as pd

    from modelqa.metrics.regression import regression_metrics

    result = regression_metrics(inputs.y_true, inputs.y_pred, n_resamples=n_resamples, seed=seed)
    frame = regression_frame(y_true=np.asarray(inputs.y_true, dtype=np.float64),
                             y_pred=np.asarray(inputs.y_pred, dtype=np.float64), texts=inputs.texts, ids=inputs.ids)
    order = np.argsort(-np.abs(frame["residual"].to_numpy()), kind="stable")[:MAX_REGRESSION_ERRORS]
    return Evaluation(result=result, predictions=frame, errors=frame.iloc[order], confusions=pd.DataFrame(),
                      distribution=pd.DataFrame(), run_info=info)


def _early_rules(actions):
    """Read and check the rules' structure before any prediction runs (labels are checked later)."""
    if actions is None:
        return None
    from modelqa.analysis.rules import resolve_rules

    return resolve_rules(actions)


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


def _is_tabular(model) -> bool:
    from modelqa.adapters.tabular import is_tabular_model

    return model is not None and is_tabular_model(model)
