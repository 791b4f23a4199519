"""The figures drawn from the run's report data: confusion heatmaps, distribution and confidence
histogram, ROC / PR curves, reliability diagram, learning curves. The curve points, the reliability
table and the histogram are computed before rendering (metrics.report_data); this module only draws
them (``report_data_from_predictions`` derives them for a caller that has only the predictions)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from modelqa.errors import DataError, UsageError
from modelqa.metrics import curves as curve_metrics
from modelqa.metrics import report_data
from modelqa.report import figures, figures_more
from modelqa.report import formatting as fmt
from modelqa.report.html._page import MAX_CURVE_CLASSES, SHOWN_EXTREMES, _cell, _Collector


def _figures(result: Mapping, distribution: pd.DataFrame, data: Mapping | None, out: _Collector) -> dict:
    matrix = result.get("confusion_matrix") or {}
    labels = matrix.get("labels") or result.get("labels") or []
    counts = matrix.get("counts")
    found: dict = {"counts": None, "normalised": None, "distribution": None, "confidence": None}
    if labels and counts is not None:
        for key, name, normalize in (("counts", "confusion_counts", False),
                                     ("normalised", "confusion_normalized", True)):
            found[key] = out.figure(name, figures.confusion_heatmap(labels, counts, normalize=normalize))
    if len(distribution):
        found["distribution"] = out.figure("distribution", figures.distribution_bars(distribution))
    hist = (data or {}).get("confidence_histogram")
    if hist is not None and int(hist["correct"].sum() + hist["wrong"].sum()):
        edges = np.r_[hist["lower"].to_numpy(dtype=np.float64), hist["upper"].to_numpy(dtype=np.float64)[-1:]]
        found["confidence"] = out.figure("confidence", figures.confidence_histogram(
            edges=edges, correct_counts=hist["correct"].to_numpy(), wrong_counts=hist["wrong"].to_numpy()))
    return found


def _class_scores(result: Mapping, predictions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """(true class ids, probabilities (n, K)) from the predictions' ``true_label`` and
    ``prob_<label>`` columns; rows without a known true label are left out. None without them."""
    labels = [str(x) for x in result.get("labels") or []]
    columns = [f"prob_{label}" for label in labels]
    if len(labels) < 2 or "true_label" not in predictions.columns or not set(columns) <= set(predictions.columns):
        return None
    codes = pd.Categorical(predictions["true_label"].astype(str), categories=labels).codes.astype(np.int64)
    probs = predictions[columns].to_numpy()
    if probs.dtype.kind != "f":
        probs = probs.astype(np.float64)
    keep = codes >= 0
    if not keep.all():
        codes, probs = codes[keep], probs[keep]
    if codes.size == 0 or not np.isfinite(probs).all():
        return None
    return codes, probs


def report_data_from_predictions(result: Mapping, predictions: pd.DataFrame) -> dict[str, pd.DataFrame] | None:
    """For a caller that hands over only the predictions frame (no report data computed by the api):
    the same tables, from its ``true_label`` and ``prob_<label>`` columns (metrics.report_data)."""
    scores = _class_scores(result, predictions)
    if scores is None:
        return None
    y, probs = scores
    try:
        tables = report_data.from_scores(y, probs, [str(x) for x in result["labels"]], result)
    except (DataError, UsageError, ValueError):  # probabilities that are not probabilities: no figures
        return None
    return {name: pd.DataFrame(cols) for name, cols in tables.items()}


def _column(df: pd.DataFrame | None, name: str) -> np.ndarray | None:
    return None if df is None or name not in df.columns else df[name].to_numpy(dtype=np.float64)


def _num_or_none(value) -> float | None:
    return None if fmt.is_missing(value) else float(value)


def _roc_pr(result: Mapping, data: Mapping | None, out: _Collector) -> dict | None:
    """ROC and PR figures drawn from the run's curve tables (computed before rendering)."""
    if not data or "curve_summary" not in data:
        return None
    summary, roc, pr = data["curve_summary"], data.get("roc_curve_points"), data.get("pr_curve_points")
    labels = [str(x) for x in result["labels"]]
    binary = len(labels) == 2
    pos_id = labels.index(str(result["positive_label"])) if result.get("positive_label") in labels else None
    rows, averages = [], []
    for rec in summary.to_dict("records"):
        label = str(rec["label"])
        row = {"label": label, "auc": _num_or_none(rec["roc_auc"]), "ap": _num_or_none(rec["average_precision"]),
               "tpr": _column(roc, f"tpr {label}"), "precision": _column(pr, f"precision {label}"),
               "n_pos": rec.get("n_pos"), "n_neg": rec.get("n_neg")}
        (rows if rec.get("kind", "class") == "class" else averages).append(row)
    ranked = sorted((r for r in rows if r["auc"] is not None), key=lambda r: -r["auc"])
    if binary or len(labels) <= MAX_CURVE_CLASSES:
        shown = [r for r in rows if r["tpr"] is not None or r["precision"] is not None]
        selection = ""
    else:
        shown = ranked[:SHOWN_EXTREMES] + [r for r in ranked[-SHOWN_EXTREMES:] if r not in ranked[:SHOWN_EXTREMES]]
        selection = (f"With {len(labels)} classes the plots show the {SHOWN_EXTREMES} classes with the highest "
                     f"and the {SHOWN_EXTREMES} with the lowest ROC AUC, and the averages; the other classes "
                     "are listed under the plots.")
    roc_series, pr_series = [], []
    for r in shown:
        if r["tpr"] is not None:
            roc_series.append((f"{figures._short(r['label'])} (AUC {fmt.num(r['auc'])})", r["tpr"], "class"))
        if r["precision"] is not None:
            pr_series.append((f"{figures._short(r['label'])} (AP {fmt.num(r['ap'])})", r["precision"], "class"))
    if not binary:
        for kind in ("micro", "macro"):
            for r in averages:
                if r["label"] != f"{kind}-average":
                    continue
                if r["tpr"] is not None:
                    roc_series.append((f"{kind}-average (AUC {fmt.num(r['auc'])})", r["tpr"], kind))
                if r["precision"] is not None:
                    pr_series.append((f"{kind}-average (AP {fmt.num(r['ap'])})", r["precision"], kind))
    if not roc_series and not pr_series:
        return None
    title_suffix = f": “{figures._short(labels[pos_id if pos_id is not None else 1])}” as positive" if binary else ", one class vs the rest"
    notes = sorted({str(n) for n in summary.get("note", pd.Series(dtype=object)).dropna() if str(n)})
    section: dict = {"binary": binary, "selection": selection, "notes": notes, "roc": None, "pr": None,
                     "points": curve_metrics.GRID_POINTS}
    if roc_series:
        section["roc"] = out.figure("roc", figures.roc_figure(_column(roc, "fpr"), roc_series,
                                                              title="ROC curve" + title_suffix))
    if pr_series:
        base = None
        if binary and rows and not fmt.is_missing(rows[0]["n_pos"]):
            base = float(rows[0]["n_pos"]) / max(float(rows[0]["n_pos"]) + float(rows[0]["n_neg"]), 1.0)
        section["pr"] = out.figure("pr", figures.pr_figure(_column(pr, "recall"), pr_series, baseline=base,
                                                           title="Precision-recall curve" + title_suffix))
    shown_labels = {r["label"] for r in shown}
    support = result.get("per_class") or {}
    section["rest"] = [
        {"label": r["label"],
         "cells": [_cell(r["auc"], fmt.num(r["auc"])), _cell(r["ap"], fmt.num(r["ap"])),
                   _cell((support.get(r["label"]) or {}).get("support"),
                         fmt.count((support.get(r["label"]) or {}).get("support")))]}
        for r in ranked + [r for r in rows if r["auc"] is None] if r["label"] not in shown_labels
    ] if selection else []
    out.table("roc_pr_per_class", pd.DataFrame({"label": [r["label"] for r in rows],
                                                "roc_auc": [r["auc"] for r in rows],
                                                "average_precision": [r["ap"] for r in rows],
                                                "shown_in_plot": [r["label"] in shown_labels for r in rows]}))
    if roc is not None:
        out.table("roc_curve_points", roc)
    if pr is not None:
        out.table("pr_curve_points", pr)
    return section


def _calibration(data: Mapping | None, out: _Collector) -> dict | None:
    if not data or "calibration" not in data:
        return None
    df = data["calibration"]
    table = report_data.reliability_from_table(df)
    ece = table.ece()
    fig = figures_more.reliability_diagram(table.edges, table.counts, table.accuracy(), table.mean_confidence(), ece=ece)
    out.table("calibration", df)
    return {"figure": out.figure("calibration", fig), "ece": fmt.num(ece), "bins": len(df)}


def _learning_curves(curves: Mapping | None, out: _Collector) -> dict | None:
    """``curves``: plain data from the api (see ``Evaluation.save``): ``epochs``, ``train_loss``,
    ``val_loss``, ``metric`` with ``train_metric`` / ``val_metric``, ``best_epoch``,
    ``loss_best_epoch``, ``findings`` (dicts with severity and message), ``source``; or
    ``error`` (a sentence) when the history could not be read."""
    if not curves:
        return None
    if curves.get("error"):
        return {"error": str(curves["error"]), "loss": None, "metric": None, "findings": [], "source": ""}
    from modelqa.report.curves import loss_figure, metric_figure

    epochs = list(curves.get("epochs") or [])
    section: dict = {"error": "", "loss": None, "metric": None, "source": str(curves.get("source") or ""),
                     "findings": [{"warning": f.get("severity") == "warning", "message": str(f.get("message", ""))}
                                  for f in curves.get("findings") or []]}
    if not epochs:
        return section
    if curves.get("train_loss") is not None or curves.get("val_loss") is not None:
        section["loss"] = out.figure("loss", loss_figure(epochs, curves.get("train_loss"), curves.get("val_loss"),
                                                         best_epoch=curves.get("loss_best_epoch")))
    metric = curves.get("metric")
    if metric:
        section["metric"] = out.figure("metric", metric_figure(
            epochs, curves.get("train_metric"), curves.get("val_metric"), name=str(metric),
            best_epoch=curves.get("best_epoch")))
    table = {"epoch": epochs}
    for key in ("train_loss", "val_loss", "train_metric", "val_metric"):
        values = curves.get(key)
        if values is not None and len(values) == len(epochs):
            table[key.replace("metric", str(metric)) if metric else key] = list(values)
    out.table("learning_curves", pd.DataFrame(table))
    return section
