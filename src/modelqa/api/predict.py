"""``modelqa.predict``: label names and confidence for unlabelled texts."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from modelqa._types import NullProgress, Progress
from modelqa.api._frames import predictions_frame, with_actions
from modelqa.api._run import check_engine_options, run_text_model

OUTPUT_SUFFIXES = (".csv", ".parquet", ".xlsx")


def predict(*, model: str | Path, data: str | Path, text_col: str = "text", id_col: str | None = None,
            labels: list[str] | None = None, label_map: str | dict | None = None, on_empty: str = "error",
            encoding: str | None = None, sheet: str | int | None = None, batch_size: int = 64,
            max_length: int | None = None, device: str = "auto", allow_pickle: bool = False,
            out: str | Path | None = None, progress: Progress | None = None, actions=None,
            quantize: str = "none", chunk_rows: int | None = None, restart: bool = False,
            precision: str = "fp32", engine: str = "local", ray_actors: int | None = None,
            backend: str = "torch", max_tokens: int | None = None, scores: str = "probs",
            feature_cols: list[str] | None = None, drop_col: list[str] | None = None, allow_unsafe: bool = False,
            trust: list[str] | None = None) -> pd.DataFrame:
    """Predict every row of ``data``; with ``out`` (.csv, .parquet or .xlsx) the table is also
    written there. Columns: the id column, ``text``, ``predicted_label``, ``confidence``,
    ``prob_<label>`` per class. ``DataFrame.attrs`` carries ``n_truncated`` and ``skipped_rows``.

    ``actions`` (a YAML path, a mapping or an ``ActionRules``; docs/actions.md) adds an
    ``action`` column after ``confidence`` and ``attrs["actions"]`` (counts per action, the
    ``actions`` section of metrics.json without accuracy). Refused for regression models.

    A text model with ``out`` keeps each finished chunk (about 10 s of compute or 4,096 rows, or
    ``chunk_rows`` rows when given) in
    ``.<out name>.partial/`` next to ``out``: the same call after a crash resumes from there
    (``restart=True`` discards it) and the folder is removed once ``out`` is written.
    ``engine="ray"`` predicts with ``ray_actors`` Ray actors (docs/ray.md); ``backend="onnx"`` runs
    the model with ONNX Runtime (docs/performance.md).

    A Keras, skops / pickled scikit-learn or ONNX model file predicts from table columns, as in
    ``evaluate`` (``feature_cols``, ``drop_col``, ``scores``, ``allow_unsafe``, ``trust``; docs/models.md)."""
    from modelqa.adapters.model_kind import feature_kind
    from modelqa.adapters.tabular import is_tabular_model
    from modelqa.api._options import refuse_model_file_options
    from modelqa.engine.quantize import check_quantize
    from modelqa.errors import UsageError

    quantize = check_quantize(quantize)
    engine, backend = check_engine_options(engine=engine, backend=backend)
    if out is not None and Path(out).suffix.lower() not in OUTPUT_SUFFIXES:
        raise UsageError(f"--out {out}: the predictions file must end in {', '.join(OUTPUT_SUFFIXES)}")
    progress = progress or NullProgress()
    rules = None
    if actions is not None:
        from modelqa.analysis.rules import resolve_rules

        rules = resolve_rules(actions)  # the file's structure, before any prediction runs
    file_options = {"scores": scores, "feature_cols": feature_cols, "drop_col": drop_col,
                    "allow_unsafe": allow_unsafe, "trust": trust}
    fkind = feature_kind(model)
    if fkind is not None:
        from modelqa.api._feature_sources import predict_features
        from modelqa.api._options import refuse_for_feature_model

        refuse_for_feature_model(fkind, subject=model, data=data, options={
            **file_options, "labels": labels, "label_map": label_map, "on_empty": on_empty, "batch_size": batch_size,
            "max_length": max_length, "device": device, "allow_pickle": allow_pickle, "quantize": quantize,
            "chunk_rows": chunk_rows, "restart": restart, "precision": precision, "engine": engine,
            "ray_actors": ray_actors, "backend": backend, "max_tokens": max_tokens})
        frame = predict_features(model, data, kind=fkind, id_col=id_col, text_col=text_col, labels=labels,
                                 scores=scores, feature_cols=feature_cols, drop_cols=drop_col, trust=trust,
                                 allow_unsafe=allow_unsafe, allow_pickle=allow_pickle, encoding=encoding, sheet=sheet)
        if rules is not None:
            if "predicted_label" not in frame.columns:
                raise UsageError(f"--actions applies to classification; {model} is a regression model",
                                 hint="rules match predicted labels and confidence (see docs/actions.md)")
            rules.check_labels(frame.attrs["labels"])
        frame = _finish(frame, rules, out)
        frame.attrs.setdefault("skipped_rows", [])
        return frame
    refuse_model_file_options(f"a {'tabular' if is_tabular_model(model) else 'text'} model ({model})",
                              file_options)
    if is_tabular_model(model):
        from modelqa.api.tabular import predict_tabular

        if check_quantize(quantize) != "none" or precision != "fp32" or engine != "local" or backend != "torch":
            raise UsageError(f"--quantize, --precision, --engine and --backend do not apply to a tabular model ({model})")
        for flag, value in (("--labels", labels), ("--label-map", label_map), ("--max-length", max_length)):
            if value is not None:
                raise UsageError(f"{flag} does not apply to a tabular model ({model})")
        from modelqa.api._options import TEXT_MODEL, given

        bad = given(TEXT_MODEL, {"on_empty": on_empty, "batch_size": batch_size, "device": device,
                                 "allow_pickle": allow_pickle, "chunk_rows": chunk_rows, "restart": restart,
                                 "ray_actors": ray_actors, "max_tokens": max_tokens})
        if bad:
            raise UsageError(f"{', '.join(bad)} {'does' if len(bad) == 1 else 'do'} not apply to a tabular model "
                             f"({model})")
        t0 = time.perf_counter()
        frame = predict_tabular(model, data, id_col=id_col, encoding=encoding, sheet=sheet, out=None)
        frame.attrs["seconds"] = time.perf_counter() - t0
        if rules is not None:
            if "predicted_label" not in frame.columns:
                raise UsageError(f"--actions applies to classification; {model} is a regression model",
                                 hint="rules match predicted labels and confidence (see docs/actions.md)")
            labels_known = [c[len("prob_"):] for c in frame.columns[frame.columns.get_loc("predicted_label"):]
                            if str(c).startswith("prob_")]
            rules.check_labels(labels_known)
        frame = _finish(frame, rules, out)
        if frame.attrs.get("unseen_categories"):
            progress.log("categories not seen in training (encoded as all zeros): "
                         + ", ".join(f"{k} {v}" for k, v in frame.attrs["unseen_categories"].items()))
        frame.attrs.setdefault("skipped_rows", [])
        return frame
    journal_dir = None
    if out is not None:
        from modelqa.engine.journal import journal_dir_for

        journal_dir = journal_dir_for(out, run_folder=False)
    done = run_text_model(model, data, text_col=text_col, id_col=id_col, labels=labels, label_map=label_map,
                          on_empty=on_empty, encoding=encoding, sheet=sheet, batch_size=batch_size,
                          max_length=max_length, device=device, allow_pickle=allow_pickle, progress=progress,
                          quantize=quantize, chunk_rows=chunk_rows, restart=restart, precision=precision,
                          engine=engine, ray_actors=ray_actors, backend=backend, max_tokens=max_tokens,
                          journal_dir=journal_dir,
                          before_run=None if rules is None else lambda clf, _table: rules.check_labels(clf.labels))
    res, table = done.run.predictions, done.table
    frame = predictions_frame(labels=done.clf.labels, y_pred=res.probs.argmax(axis=1), probs=res.probs,
                              texts=table.texts, ids=table.ids)
    frame.attrs.update({"n_truncated": res.n_truncated, "skipped_rows": table.skipped_rows,
                        "max_length": res.max_length, "seconds": res.seconds,
                        "quantize": quantize, "precision": precision, "engine": engine,
                        "backend": backend})
    frame = _finish(frame, rules, out)
    done.run.finished()
    return frame


def _finish(frame: pd.DataFrame, rules, out) -> pd.DataFrame:
    """Apply the action rules (``attrs["actions"]``: counts per action) and write ``out`` when given."""
    if rules is not None:
        frame, summary = with_actions(frame, rules)
        frame.attrs["actions"] = summary
    if out is not None:
        from modelqa.report.tables import write_table

        write_table(frame, Path(out))
    return frame
