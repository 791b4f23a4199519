"""The self-contained HTML report: one file, no network, readable without JavaScript.

``render_html`` turns the evaluation outputs (plain dicts and DataFrames) into a page;
``write_html`` writes it atomically. All data-derived text goes through jinja2 with
autoescape on, and a Content-Security-Policy lets only the page's own script run and
forbids every network load (images are inline ``data:`` URIs, CSS is inline).
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from modelqa._atomic import write_text
from modelqa.errors import DataError, UsageError
from modelqa.metrics import curves as curve_metrics
from modelqa.metrics.calibration import N_BINS as N_CALIBRATION_BINS
from modelqa.metrics.calibration import reliability_table
from modelqa.report import figures
from modelqa.report import formatting as fmt

MAX_TEXT_CHARS = 280
MAX_CONFUSED_PAIRS = 20
SHOWN_PX_PER_INCH = 100
FIGURE_DPI = 130  # drawn with more pixels than shown, so figures stay sharp on HiDPI screens
ID_COLUMN_NAMES = ("id", "row_id", "sample_id", "example_id", "uid", "guid", "doc_id", "index")
KNOWN_COLUMNS = {"text", "true_label", "predicted_label", "confidence", "correct"}
#: Up to this many classes every class gets its own ROC / PR curve; beyond it the best and the
#: worst SHOWN_EXTREMES classes by ROC AUC do, and the others are listed in a table.
MAX_CURVE_CLASSES = 10
SHOWN_EXTREMES = 3

# Sorts tables with class "sortable" on header click and shows the search box of a table
# (rows whose text contains the query stay); without JavaScript the tables show unchanged.
# The Content-Security-Policy lets exactly this script run (by its SHA-256).
PAGE_SCRIPT = """
document.documentElement.classList.add("js");
function mqSort(table, th, col) {
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var asc = th.getAttribute("aria-sort") !== "ascending";
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
  rows.sort(function (a, b) {
    var x = a.cells[col].getAttribute("data-value"), y = b.cells[col].getAttribute("data-value");
    if (x === "" || y === "") { return (x === "") - (y === ""); }
    var nx = Number(x), ny = Number(y);
    var r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
    return asc ? r : -r;
  });
  rows.forEach(function (r) { body.appendChild(r); });
  th.setAttribute("aria-sort", asc ? "ascending" : "descending");
}
document.querySelectorAll("table.sortable").forEach(function (table) {
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
    th.tabIndex = 0;
    th.addEventListener("click", function () { mqSort(table, th, col); });
    th.addEventListener("keydown", function (e) { if (e.key === "Enter") { mqSort(table, th, col); } });
  });
});
document.querySelectorAll("[data-filter-for]").forEach(function (box) {
  var table = document.getElementById(box.getAttribute("data-filter-for"));
  var input = box.querySelector("input");
  var count = box.querySelector(".filter-count");
  if (!table || !input) { return; }
  box.hidden = false;
  input.addEventListener("input", function () {
    var query = input.value.toLowerCase().trim();
    var rows = table.tBodies[0].rows, shown = 0;
    Array.prototype.forEach.call(rows, function (row) {
      var hit = !query || row.textContent.toLowerCase().indexOf(query) !== -1;
      row.hidden = !hit;
      if (hit) { shown += 1; }
    });
    if (count) { count.textContent = query ? shown + " of " + rows.length + " rows match" : ""; }
  });
});
"""
SORT_SCRIPT = PAGE_SCRIPT  # the former name


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=fmt.num, pct=fmt.pct, count=fmt.count)
    return env


def _template() -> jinja2.Template:
    source = resources.files("modelqa.report").joinpath("templates/report.html").read_text(encoding="utf-8")
    return _environment().from_string(source)


def _sort_value(value: object) -> str:
    if fmt.is_missing(value):
        return ""
    if isinstance(value, int | float) or hasattr(value, "dtype"):
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value)
        return repr(number) if math.isfinite(number) else ""
    return str(value)


def _cell(value: object, shown: str) -> dict:
    return {"value": _sort_value(value), "shown": shown}


WEAK_F1_MARGIN = 0.15


def _per_class_rows(result: Mapping) -> tuple[list[dict], bool]:
    per_class = result.get("per_class") or {}
    macro_f1 = (result.get("metrics") or {}).get("f1_macro")
    weak_below = None if fmt.is_missing(macro_f1) else float(macro_f1) - WEAK_F1_MARGIN
    labels = result.get("labels") or list(per_class)
    rows = []
    has_scores = False
    for label in labels:
        stats = per_class.get(str(label), per_class.get(label, {})) or {}
        has_scores = has_scores or "roc_auc" in stats or "average_precision" in stats
        rows.append(
            {
                "label": str(label),
                "cells": [
                    _cell(stats.get("precision"), fmt.num(stats.get("precision"))),
                    _cell(stats.get("recall"), fmt.num(stats.get("recall"))),
                    _cell(stats.get("f1"), fmt.num(stats.get("f1"))),
                    _cell(stats.get("support"), fmt.count(stats.get("support"))),
                    _cell(stats.get("predicted_count"), fmt.count(stats.get("predicted_count"))),
                    _cell(stats.get("roc_auc"), fmt.num(stats.get("roc_auc"))),
                    _cell(stats.get("average_precision"), fmt.num(stats.get("average_precision"))),
                ],
                "weak": weak_below is not None and not fmt.is_missing(stats.get("f1")) and float(stats["f1"]) < weak_below,
            }
        )
    return rows, has_scores


def _headline(result: Mapping, n_errors: int) -> dict:
    metrics = result.get("metrics") or {}
    baselines = result.get("baselines") or {}
    intervals = result.get("confidence_intervals") or {}
    n = result.get("n_samples") or 0
    accuracy = metrics.get("accuracy")
    majority = baselines.get("majority_accuracy")
    verdict, verdict_kind = "", ""
    if not fmt.is_missing(accuracy) and not fmt.is_missing(majority):
        gap = (float(accuracy) - float(majority)) * 100
        if gap > 0:
            verdict = f"{gap:.1f} percentage points above always predicting the majority class."
            verdict_kind = "good" if gap >= 5 else "warn"
        else:
            verdict = "Not better than always predicting the majority class."
            verdict_kind = "bad"
    acc_ci = intervals.get("accuracy")
    return {
        "accuracy": fmt.pct(accuracy),
        "accuracy_ci": _pct_interval(acc_ci),
        "f1_macro": fmt.num(metrics.get("f1_macro")),
        "f1_ci": fmt.interval(intervals.get("f1_macro")),
        "ci_level": fmt.pct(intervals.get("level"), 0) if intervals.get("level") is not None else "",
        "ci_method": str(intervals.get("method") or ""),
        "ci_resamples": fmt.count(intervals.get("n_resamples")) if intervals.get("n_resamples") else "",
        "chance": fmt.pct(baselines.get("chance_accuracy")),
        "majority": fmt.pct(majority),
        "majority_label": "" if baselines.get("majority_label") is None else str(baselines["majority_label"]),
        "errors": fmt.count(n_errors),
        "error_share": fmt.pct(n_errors / n) if n else fmt.MISSING,
        "verdict": verdict,
        "verdict_kind": verdict_kind,
    }


def _pct_interval(bounds: object) -> str:
    if not isinstance(bounds, list | tuple) or len(bounds) != 2 or any(fmt.is_missing(b) for b in bounds):
        return ""
    return f"{float(bounds[0]) * 100:.1f}–{float(bounds[1]) * 100:.1f}%"


def _all_metrics(result: Mapping) -> list[dict]:
    rows = []
    for key, value in (result.get("metrics") or {}).items():
        rows.append(
            {
                "name": fmt.metric_name(str(key)),
                "key": str(key),
                "value": fmt.num(value),
                "direction": "lower is better" if key in fmt.LOWER_IS_BETTER else "higher is better",
            }
        )
    return rows


def find_id_column(df: pd.DataFrame, run_info: Mapping | None = None) -> str | None:
    """The predictions' id column: ``run_info['id_column']`` if given, else a column with a usual id name."""
    wanted = (run_info or {}).get("id_column")
    if wanted is not None and wanted in df.columns:
        return wanted
    for column in df.columns:
        name = str(column)
        if name in KNOWN_COLUMNS or name.startswith("prob_"):
            continue
        if name.lower() in ID_COLUMN_NAMES or name.lower().endswith("_id"):
            return column
    return None


def _shorten(text: object, limit: int = MAX_TEXT_CHARS) -> str:
    if fmt.is_missing(text):
        return fmt.MISSING
    value = " ".join(str(text).split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _error_table(errors: pd.DataFrame, run_info: Mapping, cap: int) -> dict:
    id_column = find_id_column(errors, run_info)
    has_text = "text" in errors.columns
    head = errors.head(max(cap, 0))
    rows = []
    for rank, (_, row) in enumerate(head.iterrows(), start=1):
        true_label = row.get("true_label")
        prob_true = row.get(f"prob_{true_label}") if true_label is not None else None
        rows.append(
            {
                "rank": rank,
                "id": "" if id_column is None else _shorten(row.get(id_column), 60),
                "text": _shorten(row.get("text")) if has_text else "",
                "true": fmt.MISSING if fmt.is_missing(true_label) else str(true_label),
                "predicted": fmt.MISSING if fmt.is_missing(row.get("predicted_label")) else str(row.get("predicted_label")),
                "confidence": fmt.num(row.get("confidence")),
                "prob_true": fmt.num(prob_true),
                "confidence_value": _sort_value(row.get("confidence")),
                "prob_true_value": _sort_value(prob_true),
            }
        )
    has_prob_true = any(r["prob_true"] != fmt.MISSING for r in rows)
    return {
        "rows": rows,
        "id_column": None if id_column is None else str(id_column),
        "has_text": has_text,
        "has_prob_true": has_prob_true,
        "shown": len(rows),
        "total": len(errors),
        "cap": cap,
        "text_limit": MAX_TEXT_CHARS,
    }


def _distribution_rows(distribution: pd.DataFrame) -> list[dict]:
    rows = []
    for _, row in distribution.iterrows():
        difference = row.get("difference")
        ratio = row.get("ratio")
        flag = "" if fmt.is_missing(row.get("flag")) else str(row.get("flag"))
        ratio_shown = fmt.MISSING
        if not fmt.is_missing(ratio) and math.isfinite(float(ratio)):
            ratio_shown = f"{float(ratio):.2f}×"
        if fmt.is_missing(difference):
            difference_shown = fmt.MISSING
        else:
            difference_shown = f"{int(difference):+,}".replace("-", "−") if int(difference) else "0"
        rows.append(
            {
                "label": str(row.get("label")),
                "cells": [
                    _cell(row.get("true_count"), fmt.count(row.get("true_count"))),
                    _cell(row.get("predicted_count"), fmt.count(row.get("predicted_count"))),
                    _cell(difference, difference_shown),
                    _cell(ratio, ratio_shown),
                ],
                "flag": flag,
                "flag_class": {"over-predicted": "over", "under-predicted": "under"}.get(flag, ""),
            }
        )
    return rows


def _confused_pairs(confusions: pd.DataFrame) -> dict:
    ordered = confusions
    if "count" in confusions.columns:
        ordered = confusions.sort_values("count", ascending=False, kind="stable")
    ordered = ordered[ordered["count"] > 0] if "count" in ordered.columns else ordered
    rows = [
        {
            "true": str(row.get("true_label")),
            "predicted": str(row.get("predicted_label")),
            "count": fmt.count(row.get("count")),
            "share": fmt.pct(row.get("share_of_true")),
        }
        for _, row in ordered.head(MAX_CONFUSED_PAIRS).iterrows()
    ]
    return {"rows": rows, "total": len(ordered), "cap": MAX_CONFUSED_PAIRS}


def _run_rows(result: Mapping, run_info: Mapping) -> list[tuple[str, str]]:
    labels = result.get("labels") or []
    task = str(result.get("task") or fmt.MISSING)
    return [
        ("Model", str(run_info.get("model") or "— (predictions file)")),
        ("Data", str(run_info.get("data") or fmt.MISSING)),
        ("Rows", fmt.count(result.get("n_samples"))),
        ("Task", f"{task}, {len(labels)} classes" if labels else task),
        ("Created", fmt.when(run_info.get("created"))),
    ]


_TIMING_NAMES = {"load_s": "loading", "predict_s": "predicting", "load_predict_s": "loading and predicting",
                 "metrics_s": "metrics", "total_s": "total", "rows_per_s": "speed"}


def _timing_row(key: object, value: object) -> tuple[str, str]:
    """('predicting', '7.1 s'); rates (``*_per_s``) are shown as rates, not durations."""
    name = _TIMING_NAMES.get(str(key), str(key).replace("_", " "))
    if str(key).endswith("_per_s"):
        return name, "—" if fmt.is_missing(value) else f"{float(value):,.0f} rows/s"
    return name, fmt.seconds(value)


def _details(run_info: Mapping) -> dict:
    versions = run_info.get("versions") or {}
    timing = run_info.get("timing") or {}
    truncated = run_info.get("truncated")
    return {
        "sha256": str(run_info.get("data_sha256") or ""),
        "versions": [(str(k), str(v)) for k, v in versions.items()] if isinstance(versions, Mapping) else [],
        "timing": [_timing_row(k, v) for k, v in timing.items()] if isinstance(timing, Mapping) else [],
        "truncated": int(truncated) if isinstance(truncated, int | float) and not fmt.is_missing(truncated) else 0,
    }


def _figures(result: Mapping, predictions: pd.DataFrame, distribution: pd.DataFrame, out: _Collector) -> dict:
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
    if {"confidence", "correct"} <= set(predictions.columns):
        confidence = pd.to_numeric(predictions["confidence"], errors="coerce")
        if confidence.notna().any():
            correct = predictions["correct"].fillna(False).to_numpy(bool)
            found["confidence"] = out.figure("confidence",
                                             figures.confidence_histogram(confidence.to_numpy(), correct))
    return found


# --------------------------------------------------------------------------- figures and tables


class _Collector:
    """Figures rendered once (PNG bytes, reused for the page and figures/*.png) and the tables
    behind the page (written as tables/*.csv)."""

    def __init__(self) -> None:
        self.pngs: dict[str, bytes] = {}
        self.tables: dict[str, pd.DataFrame] = {}

    def figure(self, name: str, fig) -> dict:
        """Render ``fig`` as ``name``.png and return what the template needs to show it inline."""
        data = figures.figure_to_png_bytes(fig, dpi=FIGURE_DPI)
        self.pngs[name] = data
        width_in, height_in = fig.get_size_inches()
        return {
            "src": "data:image/png;base64," + base64.b64encode(data).decode("ascii"),
            "width": int(round(width_in * SHOWN_PX_PER_INCH)),
            "height": int(round(height_in * SHOWN_PX_PER_INCH)),
            "file": f"figures/{name}.png",
        }

    def table(self, name: str, df: pd.DataFrame) -> None:
        self.tables[name] = df


@dataclass
class RenderedReport:
    """The page plus what it was built from: ``figures`` maps a file stem (``roc``) to PNG bytes,
    ``tables`` a file stem (``per_class``) to the table shown (before any cap on the page)."""

    html: str
    figures: dict[str, bytes] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


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


def _auc_ap(result: Mapping, label: str, grid: curve_metrics.GridCurves) -> tuple[float | None, float | None]:
    """Exact AUC / AP from the metrics when they have them, else from the aggregated curve."""
    stats = (result.get("per_class") or {}).get(label) or {}
    auc = stats.get("roc_auc") if "roc_auc" in stats else grid.roc_auc
    ap = stats.get("average_precision") if "average_precision" in stats else grid.average_precision
    return (None if fmt.is_missing(auc) else float(auc)), (None if fmt.is_missing(ap) else float(ap))


def _roc_pr(result: Mapping, scores, out: _Collector) -> dict | None:
    if scores is None:
        return None
    y, probs = scores
    labels = [str(x) for x in result["labels"]]
    pos_id = labels.index(str(result["positive_label"])) if result.get("positive_label") in labels else None
    curves = curve_metrics.one_vs_rest_curves(y, probs, labels, pos_id=pos_id)
    binary = len(labels) == 2
    rows = []
    for label, grid in zip(curves.labels, curves.per_class, strict=True):
        auc, ap = _auc_ap(result, label, grid)
        rows.append({"label": label, "auc": auc, "ap": ap, "grid": grid})
    ranked = sorted((r for r in rows if r["auc"] is not None), key=lambda r: -r["auc"])
    if binary or len(labels) <= MAX_CURVE_CLASSES:
        shown = [r for r in rows if r["grid"].tpr is not None or r["grid"].precision is not None]
        selection = ""
    else:
        shown = ranked[:SHOWN_EXTREMES] + [r for r in ranked[-SHOWN_EXTREMES:] if r not in ranked[:SHOWN_EXTREMES]]
        selection = (f"With {len(labels)} classes the plots show the {SHOWN_EXTREMES} classes with the highest "
                     f"and the {SHOWN_EXTREMES} with the lowest ROC AUC, and the averages; the other classes "
                     "are listed under the plots.")
    roc_series, pr_series = [], []
    for r in shown:
        if r["grid"].tpr is not None:
            roc_series.append((f"{figures._short(r['label'])} (AUC {fmt.num(r['auc'])})", r["grid"].tpr, "class"))
        if r["grid"].precision is not None:
            pr_series.append((f"{figures._short(r['label'])} (AP {fmt.num(r['ap'])})", r["grid"].precision, "class"))
    if not binary:
        if curves.micro is not None and curves.micro.tpr is not None:
            roc_series.append((f"micro-average (AUC {fmt.num(curves.micro.roc_auc)})", curves.micro.tpr, "micro"))
            pr_series.append((f"micro-average (AP {fmt.num(curves.micro.average_precision)})",
                              curves.micro.precision, "micro"))
        if curves.macro_tpr is not None:
            roc_series.append((f"macro-average (AUC {fmt.num(curves.macro_roc_auc)})", curves.macro_tpr, "macro"))
        if curves.macro_precision is not None:
            pr_series.append((f"macro-average (AP {fmt.num(curves.macro_average_precision)})",
                              curves.macro_precision, "macro"))
    if not roc_series and not pr_series:
        return None
    title_suffix = f": “{figures._short(labels[pos_id if pos_id is not None else 1])}” as positive" if binary else ", one class vs the rest"
    section: dict = {"binary": binary, "selection": selection, "notes": list(curves.notes), "roc": None, "pr": None,
                     "points": curve_metrics.GRID_POINTS}
    if roc_series:
        section["roc"] = out.figure("roc", figures.roc_figure(curve_metrics.ROC_GRID, roc_series,
                                                              title="ROC curve" + title_suffix))
    if pr_series:
        base = None
        if binary:
            g = curves.per_class[0]
            base = g.n_pos / max(g.n_pos + g.n_neg, 1)
        section["pr"] = out.figure("pr", figures.pr_figure(curve_metrics.PR_GRID, pr_series, baseline=base,
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
    roc_table = {"fpr": curve_metrics.ROC_GRID}
    pr_table = {"recall": curve_metrics.PR_GRID}
    for r in rows:
        if r["grid"].tpr is not None:
            roc_table[f"tpr {r['label']}"] = r["grid"].tpr
        if r["grid"].precision is not None:
            pr_table[f"precision {r['label']}"] = r["grid"].precision
    if not binary:
        for name, tpr, prec in (("micro", curves.micro.tpr if curves.micro else None,
                                 curves.micro.precision if curves.micro else None),
                                ("macro", curves.macro_tpr, curves.macro_precision)):
            if tpr is not None:
                roc_table[f"tpr {name}-average"] = tpr
            if prec is not None:
                pr_table[f"precision {name}-average"] = prec
    out.table("roc_curve_points", pd.DataFrame(roc_table))
    out.table("pr_curve_points", pd.DataFrame(pr_table))
    return section


def _calibration(scores, out: _Collector) -> dict | None:
    if scores is None:
        return None
    y, probs = scores
    try:
        table = reliability_table(y, probs, N_CALIBRATION_BINS)
    except (DataError, UsageError):  # probabilities that are not probabilities: no diagram
        return None
    accuracy, confidence = table.accuracy(), table.mean_confidence()
    ece = table.ece()
    fig = figures.reliability_diagram(table.edges, table.counts, accuracy, confidence, ece=ece)
    out.table("calibration", pd.DataFrame({
        "lower": table.edges[:-1], "upper": table.edges[1:], "rows": table.counts,
        "accuracy": accuracy, "mean_confidence": confidence}))
    return {"figure": out.figure("calibration", fig), "ece": fmt.num(ece), "bins": N_CALIBRATION_BINS}


def _threshold_figure(section: Mapping | None, out: _Collector) -> dict | None:
    if not section:
        return None
    parts = [section.get(key) for key in ("grid", "curve") if section.get(key)]
    if not parts:
        return None
    merged = {key: [v for part in parts for v in part.get(key, [])] for key in ("threshold", "precision", "recall", "f1")}
    if not merged["threshold"] or any(len(merged[k]) != len(merged["threshold"]) for k in merged):
        return None
    chosen = dict(section.get("chosen") or {})
    if section.get("applied"):
        chosen["applied"] = section["applied"]
    marks = []
    names = {"best_f1": "best F1", "youden_j": "Youden's J", "min_recall": "precision at recall ≥ "
             + fmt.num(section.get("min_recall"), 2), "min_cost": "lowest cost", "applied": "applied"}
    for key, _ in THRESHOLD_RULES:
        row = chosen.get(key)
        if row and not fmt.is_missing(row.get("threshold")):
            marks.append((key, names[key], float(row["threshold"])))
    if section.get("grid"):
        out.table("thresholds_grid", pd.DataFrame(section["grid"]))
    return out.figure("thresholds", figures.threshold_figure(merged["threshold"], merged["precision"],
                                                            merged["recall"], merged["f1"], marks))


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


def _actions(result: Mapping, out: _Collector) -> dict | None:
    actions = result.get("actions")
    if not isinstance(actions, Mapping):
        return None
    rows = []
    for entry in actions.get("per_action") or []:
        rows.append({
            "action": str(entry.get("action", "")),
            "rule": str(entry.get("rule", "")),
            "cells": [_cell(entry.get("count"), fmt.count(entry.get("count"))),
                      _cell(entry.get("share"), fmt.pct(entry.get("share"))),
                      _cell(entry.get("accuracy"), fmt.pct(entry.get("accuracy")))],
        })
    out.table("actions", pd.DataFrame(
        [{k: e.get(k) for k in ("action", "rule", "count", "share", "accuracy")} for e in actions.get("per_action") or []],
        columns=["action", "rule", "count", "share", "accuracy"]))
    return {"file": str(actions.get("file") or ""), "default": str(actions.get("default") or ""), "rows": rows}


def _regression_figures(predictions: pd.DataFrame, out: _Collector) -> dict:
    found: dict = {"scatter": None, "residuals": None, "histogram": None}
    if not {"target", "prediction", "residual"} <= set(predictions.columns):
        return found
    target = predictions["target"].to_numpy(dtype=float)
    prediction = predictions["prediction"].to_numpy(dtype=float)
    residual = predictions["residual"].to_numpy(dtype=float)
    if not np.isfinite(target).any():
        return found
    found["scatter"] = out.figure("regression_predicted_vs_actual", figures.predicted_vs_actual(target, prediction))
    found["residuals"] = out.figure("regression_residuals", figures.residuals_vs_predicted(prediction, residual))
    found["histogram"] = out.figure("regression_residual_histogram", figures.residual_histogram(residual))
    found["binned"] = len(target) > figures.MAX_SCATTER_POINTS
    return found


REGRESSION_NAMES = {
    "mse": ("Mean squared error (MSE)", False),
    "rmse": ("Root mean squared error (RMSE)", False),
    "mae": ("Mean absolute error (MAE)", False),
    "mape": ("Mean absolute percentage error (MAPE, fraction)", False),
    "median_absolute_error": ("Median absolute error", False),
    "r2": ("R² (coefficient of determination)", True),
    "explained_variance": ("Explained variance", True),
    "residual_mean": ("Residual mean (target − prediction; 0 is unbiased)", None),
    "residual_std": ("Residual standard deviation", False),
    "max_error": ("Largest absolute error", False),
}


def _regression_headline(result: Mapping) -> dict:
    metrics = result.get("metrics") or {}
    baselines = result.get("baselines") or {}
    intervals = result.get("confidence_intervals") or {}
    rmse, base_rmse = metrics.get("rmse"), baselines.get("mean_predictor_rmse")
    verdict, kind = "", ""
    if not fmt.is_missing(rmse) and not fmt.is_missing(base_rmse) and float(base_rmse) > 0:
        gain = (1 - float(rmse) / float(base_rmse)) * 100
        if gain > 0:
            verdict = f"RMSE is {gain:.1f}% lower than always predicting the mean ({fmt.num(base_rmse)})."
            kind = "good" if gain >= 10 else "warn"
        else:
            verdict = f"Not better than always predicting the mean (RMSE {fmt.num(base_rmse)})."
            kind = "bad"
    return {
        "r2": fmt.num(metrics.get("r2")), "r2_ci": fmt.interval(intervals.get("r2")),
        "rmse": fmt.num(metrics.get("rmse")), "rmse_ci": fmt.interval(intervals.get("rmse")),
        "mae": fmt.num(metrics.get("mae")), "mae_ci": fmt.interval(intervals.get("mae")),
        "base_rmse": fmt.num(base_rmse), "base_mae": fmt.num(baselines.get("mean_predictor_mae")),
        "mean_value": fmt.num(baselines.get("mean_value")),
        "ci_level": fmt.pct(intervals.get("level"), 0) if intervals.get("level") is not None else "",
        "ci_resamples": fmt.count(intervals.get("n_resamples")) if intervals.get("n_resamples") else "",
        "residual_mean": fmt.num(metrics.get("residual_mean")),
        "residual_std": fmt.num(metrics.get("residual_std")),
        "max_error": fmt.num(metrics.get("max_error")),
        "median_ae": fmt.num(metrics.get("median_absolute_error")),
        "verdict": verdict, "verdict_kind": kind,
    }


def _regression_metrics(result: Mapping) -> list[dict]:
    rows = []
    for key, value in (result.get("metrics") or {}).items():
        name, higher = REGRESSION_NAMES.get(str(key), (fmt.metric_name(str(key)), None))
        direction = "closer to 0 is better" if higher is None else ("higher is better" if higher else
                                                                    "lower is better")
        rows.append({"name": name, "key": str(key), "value": fmt.num(value, 4), "direction": direction})
    return rows


def _largest_errors(errors: pd.DataFrame, run_info: Mapping, cap: int) -> dict:
    id_column = find_id_column(errors, run_info)
    has_text = "text" in errors.columns
    rows = []
    for rank, (_, row) in enumerate(errors.head(max(cap, 0)).iterrows(), start=1):
        rows.append({
            "rank": rank,
            "id": "" if id_column is None else _shorten(row.get(id_column), 60),
            "text": _shorten(row.get("text")) if has_text else "",
            "target": fmt.num(row.get("target"), 4),
            "prediction": fmt.num(row.get("prediction"), 4),
            "residual": fmt.num(row.get("residual"), 4).replace("-", "−"),
            "values": [_sort_value(row.get(k)) for k in ("target", "prediction", "residual")],
        })
    return {"rows": rows, "id_column": None if id_column is None else str(id_column), "has_text": has_text,
            "shown": len(rows), "total": len(errors), "cap": cap, "text_limit": MAX_TEXT_CHARS}


THRESHOLD_RULES = (
    ("best_f1", "Best F1"),
    ("youden_j", "Youden's J (max TPR − FPR)"),
    ("min_recall", "Highest precision with recall ≥ {min_recall}"),
    ("min_cost", "Lowest expected cost ({costs})"),
    ("applied", "Applied (--threshold)"),
)


def threshold_rows(section: Mapping | None) -> list[dict]:
    """The chosen thresholds as display rows (shared by the report and the console)."""
    if not section:
        return []
    chosen = dict(section.get("chosen") or {})
    if section.get("applied"):
        chosen["applied"] = section["applied"]
    costs = section.get("costs") or {}
    rows = []
    for key, title in THRESHOLD_RULES:
        row = chosen.get(key)
        if not row:
            continue
        rows.append({
            "rule": title.format(min_recall=fmt.num(section.get("min_recall"), 2),
                                 costs=", ".join(f"{k}={v:g}" for k, v in costs.items())),
            "threshold": fmt.num(row.get("threshold"), 4),
            "precision": fmt.num(row.get("precision")), "recall": fmt.num(row.get("recall")),
            "f1": fmt.num(row.get("f1")), "specificity": fmt.num(row.get("specificity")),
            "ppr": fmt.pct(row.get("predicted_positive_rate")), "cost": fmt.num(row.get("cost")),
        })
    return rows


def _csp(script: str) -> Markup:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return Markup("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
                  f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'")


def _common(result: Mapping, run_info: Mapping, out: _Collector) -> dict:
    return {
        "title_subject": str(run_info.get("model") or run_info.get("data") or "evaluation"),
        "run": _run_rows(result, run_info),
        "command": str(run_info.get("command") or ""),
        "details": _details(run_info),
        "actions": _actions(result, out),
        "script": Markup(PAGE_SCRIPT),
        "csp": _csp(PAGE_SCRIPT),
    }


def _metrics_table(rows: list[dict], out: _Collector) -> list[dict]:
    out.table("metrics", pd.DataFrame([{"metric": r["key"], "name": r["name"], "value": r["value"],
                                        "better": r["direction"]} for r in rows],
                                      columns=["metric", "name", "value", "better"]))
    return rows


def _render_regression(result, predictions, errors, run_info, max_error_rows, curves, out: _Collector) -> str:
    context = {
        "regression": True,
        **_common(result, run_info, out),
        "rhead": _regression_headline(result),
        "rfigures": _regression_figures(predictions, out),
        "largest": _largest_errors(errors, run_info, max_error_rows),
        "learning": _learning_curves(curves, out),
        "all_metrics": _metrics_table(_regression_metrics(result), out),
    }
    return _template().render(**context)


def render_report(
    result: Mapping,
    predictions: pd.DataFrame,
    errors: pd.DataFrame,
    confusions: pd.DataFrame,
    distribution: pd.DataFrame,
    run_info: Mapping,
    *,
    max_error_rows: int = 50,
    curves: Mapping | None = None,
) -> RenderedReport:
    """The page (see docs/report.md) with its figures as PNG bytes and its tables as DataFrames,
    so a caller can write figures/*.png and tables/*.csv without drawing anything twice.

    ``curves``: the learning curves of the model's training history as plain data (see
    ``_learning_curves``), or None for no learning-curves section.
    """
    out = _Collector()
    if result.get("task") == "regression":
        html = _render_regression(result, predictions, errors, run_info, max_error_rows, curves, out)
        return RenderedReport(html=html, figures=out.pngs, tables=out.tables)
    if "correct" in predictions.columns:
        n_errors = int((~predictions["correct"].fillna(False).astype(bool)).sum())
    else:
        n_errors = len(errors)
    per_class, has_scores = _per_class_rows(result)
    per_class_df = pd.DataFrame.from_dict(result.get("per_class") or {}, orient="index")
    if len(per_class_df):
        out.table("per_class", per_class_df.rename_axis("label").reset_index())
    if len(distribution):
        out.table("distribution", distribution)
    if len(confusions):
        out.table("confused_pairs", confusions)
    thresholds = threshold_rows(result.get("thresholds"))
    if thresholds:
        out.table("thresholds_chosen", pd.DataFrame(thresholds))
    scores = _class_scores(result, predictions)
    context = {
        "regression": False,
        **_common(result, run_info, out),
        "thresholds": thresholds,
        "threshold_figure": _threshold_figure(result.get("thresholds"), out),
        "threshold_applied": result.get("threshold"),
        "positive_label": str(result.get("positive_label") or ""),
        "headline": _headline(result, n_errors),
        "per_class": per_class,
        "has_scores": has_scores,
        "figures": _figures(result, predictions, distribution, out),
        "curves": _roc_pr(result, scores, out),
        "calibration": _calibration(scores, out),
        "learning": _learning_curves(curves, out),
        "n_classes": len(result.get("labels") or []),
        "annotate_limit": figures.MAX_ANNOTATED_CLASSES,
        "compact_limit": figures.COMPACT_CLASSES,
        "weak_margin": WEAK_F1_MARGIN,
        "distribution": _distribution_rows(distribution),
        "errors": _error_table(errors, run_info, max_error_rows),
        "pairs": _confused_pairs(confusions),
        "all_metrics": _metrics_table(_all_metrics(result), out),
    }
    return RenderedReport(html=_template().render(**context), figures=out.pngs, tables=out.tables)


def render_html(
    result: Mapping,
    predictions: pd.DataFrame,
    errors: pd.DataFrame,
    confusions: pd.DataFrame,
    distribution: pd.DataFrame,
    run_info: Mapping,
    *,
    max_error_rows: int = 50,
    curves: Mapping | None = None,
) -> str:
    """Render the evaluation as one self-contained HTML page (see docs/report.md)."""
    return render_report(result, predictions, errors, confusions, distribution, run_info,
                         max_error_rows=max_error_rows, curves=curves).html


COMPACT_MAX_CLASSES = 30
_COMPACT_TEMPLATE = """<div class="modelqa-summary" style="font-family: system-ui, sans-serif; font-size: 13px">
<p style="margin: 0 0 6px"><strong>modelqa evaluation</strong> — {{ subject }}: {{ task }}, {{ n }} rows{% if n_classes %}, {{ n_classes }} classes{% endif %}</p>
<table style="border-collapse: collapse; margin: 0 0 8px">
{% for name, value, note in headline %}<tr><th style="text-align: left; padding: 2px 12px 2px 0">{{ name }}</th><td style="text-align: right; padding: 2px 12px 2px 0">{{ value }}</td><td style="color: #59636e; padding: 2px 0">{{ note }}</td></tr>
{% endfor %}</table>
{% if per_class %}
<table style="border-collapse: collapse">
<thead><tr><th style="text-align: left; padding: 2px 10px 2px 0">Label</th>{% for h in header %}<th style="text-align: right; padding: 2px 10px">{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in per_class %}<tr><td style="text-align: left; padding: 1px 10px 1px 0">{{ row.label }}</td>{% for cell in row.cells %}<td style="text-align: right; padding: 1px 10px">{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table>
{% if hidden %}<p style="color: #59636e; margin: 4px 0 0">{{ hidden }} more classes: see <code>.per_class</code> or report.html.</p>{% endif %}
{% endif %}
</div>"""


def render_compact_html(result: Mapping, *, n_errors: int | None = None, subject: str = "") -> str:
    """A short HTML summary for Jupyter (``Evaluation._repr_html_``): the headline numbers and,
    for classification, the per-class table (at most COMPACT_MAX_CLASSES rows). Escaped, no
    figures, no script."""
    metrics = result.get("metrics") or {}
    intervals = result.get("confidence_intervals") or {}
    baselines = result.get("baselines") or {}
    labels = [str(x) for x in result.get("labels") or []]
    if result.get("task") == "regression":
        headline = [("R²", fmt.num(metrics.get("r2")), _interval_note(intervals.get("r2"))),
                    ("RMSE", fmt.num(metrics.get("rmse")), _interval_note(intervals.get("rmse"))),
                    ("MAE", fmt.num(metrics.get("mae")), _interval_note(intervals.get("mae"))),
                    ("Baseline RMSE", fmt.num(baselines.get("mean_predictor_rmse")), "always predicting the mean")]
        rows, header = [], []
    else:
        acc_ci = _pct_interval(intervals.get("accuracy"))
        headline = [("Accuracy", fmt.pct(metrics.get("accuracy")), f"95% interval {acc_ci}" if acc_ci else ""),
                    ("Macro F1", fmt.num(metrics.get("f1_macro")), _interval_note(intervals.get("f1_macro"))),
                    ("Majority baseline", fmt.pct(baselines.get("majority_accuracy")),
                     "always the most common class"),
                    ("Errors", fmt.count(n_errors), "misclassified rows")]
        per_class, has_scores = _per_class_rows(result)
        header = ["Precision", "Recall", "F1", "Support", "Predicted"] + (["ROC AUC", "AP"] if has_scores else [])
        rows = [{"label": r["label"], "cells": [c["shown"] for c in r["cells"][: len(header)]]}
                for r in per_class[:COMPACT_MAX_CLASSES]]
    env = _environment()
    return env.from_string(_COMPACT_TEMPLATE).render(
        subject=subject or "evaluation", task=str(result.get("task") or ""), n=fmt.count(result.get("n_samples")),
        n_classes=len(labels), headline=headline, per_class=rows, header=header,
        hidden=max(len(labels) - COMPACT_MAX_CLASSES, 0) if rows else 0)


def _interval_note(bounds: object) -> str:
    shown = fmt.interval(bounds)
    return f"95% interval {shown}" if shown else ""


def write_html(path: str | os.PathLike, html: str) -> Path:
    """Write the page atomically (UTF-8). Returns the path written."""
    target = Path(path)
    write_text(target, html)
    return target
