"""``modelqa.evaluate``: a model folder plus labelled data, or a file of predictions,
into metrics, tables and a report."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from modelqa._types import NullProgress, Progress
from modelqa.analysis.distribution import prediction_distribution
from modelqa.analysis.errors import confused_pairs, error_rows
from modelqa.api._frames import predictions_frame
from modelqa.api._inputs import load_text_table
from modelqa.api._run import run_classifier
from modelqa.api._runinfo import command_line, now_iso, versions
from modelqa.api.evaluation import Evaluation
from modelqa.errors import DataError, UsageError
from modelqa.metrics.classification import classification_metrics


def evaluate(*, model: str | Path | None = None, data: str | Path | None = None,
             predictions: str | Path | None = None, text_col: str = "text", label_col: str = "label",
             id_col: str | None = None, pred_col: str = "predicted_label", labels: list[str] | None = None,
             label_map: str | dict | None = None, scores: str = "probs", normalize_probs: bool = False,
             pos_label: str | None = None, on_empty: str = "error", encoding: str | None = None,
             sheet: str | int | None = None, batch_size: int = 64, max_length: int | None = None,
             device: str = "auto", allow_pickle: bool = False, n_resamples: int = 1000, seed: int = 0,
             out: str | Path | None = None, progress: Progress | None = None,
             command: str | None = None, loaded_model=None) -> Evaluation:
    """Evaluate a model on labelled data (``model`` + ``data``) or a predictions file
    (``predictions``). With ``out`` the run folder is written (see docs/file-formats.md)."""
    t0 = time.perf_counter()
    progress = progress or NullProgress()
    if (model is None and loaded_model is None) == (predictions is None):
        raise UsageError("give either --model with --data, or --predictions (not both)")
    info: dict = {"command": command_line(command), "created": now_iso(), "versions": versions(),
                  "id_column": id_col}
    if predictions is not None:
        if data is not None:
            raise UsageError("--data is for --model; a --predictions file already holds the labels")
        if labels is not None or label_map is not None:
            raise UsageError("--labels / --label-map name a model's outputs; a --predictions file names its "
                             "classes in its prob_<label> columns or its label columns")
        ev_in = _from_predictions_file(predictions, label_col=label_col, pred_col=pred_col, id_col=id_col,
                                       text_col=text_col, scores=scores, normalize_probs=normalize_probs,
                                       encoding=encoding, sheet=sheet)
        info.update({"model": None, "predictions_file": str(predictions), "data": str(predictions),
                     "data_sha256": ev_in["sha256"], "normalized_rows": ev_in["n_normalized"]})
    else:
        if data is None:
            raise UsageError("--model needs --data (a labelled file to evaluate on)")
        ev_in = _from_model(model, loaded_model, data, text_col=text_col, label_col=label_col, id_col=id_col,
                            labels=labels, label_map=label_map, on_empty=on_empty, encoding=encoding, sheet=sheet,
                            batch_size=batch_size, max_length=max_length, device=device,
                            allow_pickle=allow_pickle, progress=progress)
        info.update({"model": str(ev_in["model_path"]), "data": str(data), "data_sha256": ev_in["sha256"],
                     "device": ev_in["device"], "max_length": ev_in["max_length"],
                     "truncated": ev_in["n_truncated"], "skipped_empty_rows": len(ev_in["skipped"]),
                     "tokens": ev_in["n_tokens"]})
    class_names = ev_in["labels"]
    pos = _pos_label_id(pos_label, class_names)
    t_metrics = time.perf_counter()
    result = classification_metrics(ev_in["y_true"], ev_in["y_pred"], labels=class_names, probs=ev_in["probs"],
                                    pos_label=pos, n_resamples=n_resamples, seed=seed)
    frame = predictions_frame(labels=class_names, y_pred=ev_in["y_pred"], probs=ev_in["probs"],
                              y_true=ev_in["y_true"], texts=ev_in["texts"], ids=ev_in["ids"])
    evaluation = Evaluation(
        result=result, predictions=frame, errors=error_rows(frame),
        confusions=confused_pairs(ev_in["y_true"], ev_in["y_pred"], class_names),
        distribution=prediction_distribution(ev_in["y_true"], ev_in["y_pred"], class_names),
        run_info=info)
    info["timing"] = {**ev_in.get("timing", {}), "metrics_s": round(time.perf_counter() - t_metrics, 3),
                      "total_s": round(time.perf_counter() - t0, 3)}
    if out is not None:
        evaluation.save(out)
    return evaluation


def _pos_label_id(pos_label: str | None, class_names: list[str]) -> int | None:
    if pos_label is None:
        return None
    if pos_label in class_names:
        return class_names.index(pos_label)
    raise UsageError(f"--pos-label {pos_label!r} is not one of the classes: {', '.join(class_names)}")


def _from_model(model, loaded_model, data, *, text_col, label_col, id_col, labels, label_map, on_empty,
                encoding, sheet, batch_size, max_length, device, allow_pickle, progress) -> dict:
    from modelqa.adapters.hf import load_hf_classifier
    from modelqa.data.schema import encode_labels

    t0 = time.perf_counter()
    table = load_text_table(data, text_col=text_col, label_col=label_col, id_col=id_col, encoding=encoding,
                            sheet=sheet, on_empty=on_empty)
    clf = loaded_model or load_hf_classifier(model, device=device, labels=labels, label_map=label_map,
                                             allow_pickle=allow_pickle)
    y_true = encode_labels(table.label_values, label2id=clf.label2id, path=table.path, column=label_col)
    t_load = time.perf_counter()
    out = run_classifier(clf, table.texts, max_length=max_length, batch_size=batch_size, progress=progress)
    return {"labels": clf.labels, "y_true": y_true, "y_pred": out.probs.argmax(axis=1), "probs": out.probs,
            "texts": table.texts, "ids": table.ids, "sha256": table.sha256, "model_path": clf.path,
            "device": clf.device, "max_length": out.max_length, "n_truncated": out.n_truncated,
            "skipped": table.skipped_rows, "n_tokens": out.n_tokens,
            "timing": {"load_s": round(t_load - t0, 3), "predict_s": round(out.seconds, 3),
                       "rows_per_s": round(len(table.texts) / max(out.seconds, 1e-9), 1)}}


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
