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
from importlib import resources
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup

from modelqa._atomic import write_text
from modelqa.report import figures
from modelqa.report import formatting as fmt

MAX_TEXT_CHARS = 280
MAX_CONFUSED_PAIRS = 20
SHOWN_PX_PER_INCH = 100
FIGURE_DPI = 130  # drawn with more pixels than shown, so figures stay sharp on HiDPI screens
ID_COLUMN_NAMES = ("id", "row_id", "sample_id", "example_id", "uid", "guid", "doc_id", "index")
KNOWN_COLUMNS = {"text", "true_label", "predicted_label", "confidence", "correct"}

# Sorts the per-class table on header click; without JavaScript the table is unchanged.
SORT_SCRIPT = """
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
"""


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


def _details(run_info: Mapping) -> dict:
    versions = run_info.get("versions") or {}
    timing = run_info.get("timing") or {}
    truncated = run_info.get("truncated")
    return {
        "sha256": str(run_info.get("data_sha256") or ""),
        "versions": [(str(k), str(v)) for k, v in versions.items()] if isinstance(versions, Mapping) else [],
        "timing": [
            (str(k).replace("_", " "), fmt.seconds(v)) for k, v in timing.items()
        ] if isinstance(timing, Mapping) else [],
        "truncated": int(truncated) if isinstance(truncated, int | float) and not fmt.is_missing(truncated) else 0,
    }


def _embed(fig) -> dict:
    """A figure as an inline image, shown at 100 px per inch so its fonts keep their size."""
    width_in, height_in = fig.get_size_inches()
    return {
        "src": figures.figure_to_data_uri(fig, dpi=FIGURE_DPI),
        "width": int(round(width_in * SHOWN_PX_PER_INCH)),
        "height": int(round(height_in * SHOWN_PX_PER_INCH)),
    }


def _figures(result: Mapping, predictions: pd.DataFrame, distribution: pd.DataFrame) -> dict:
    matrix = result.get("confusion_matrix") or {}
    labels = matrix.get("labels") or result.get("labels") or []
    counts = matrix.get("counts")
    out: dict = {"counts": None, "normalised": None, "distribution": None, "confidence": None}
    if labels and counts is not None:
        for key, normalize in (("counts", False), ("normalised", True)):
            out[key] = _embed(figures.confusion_heatmap(labels, counts, normalize=normalize))
    if len(distribution):
        out["distribution"] = _embed(figures.distribution_bars(distribution))
    if {"confidence", "correct"} <= set(predictions.columns):
        confidence = pd.to_numeric(predictions["confidence"], errors="coerce")
        if confidence.notna().any():
            correct = predictions["correct"].fillna(False).to_numpy(bool)
            out["confidence"] = _embed(figures.confidence_histogram(confidence.to_numpy(), correct))
    return out


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


def _render_regression(result, errors, run_info, max_error_rows, script, script_hash) -> str:
    context = {
        "regression": True,
        "title_subject": str(run_info.get("model") or run_info.get("data") or "evaluation"),
        "run": _run_rows(result, run_info),
        "command": str(run_info.get("command") or ""),
        "rhead": _regression_headline(result),
        "largest": _largest_errors(errors, run_info, max_error_rows),
        "all_metrics": _regression_metrics(result),
        "details": _details(run_info),
        "script": Markup(script),
        "csp": Markup(
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
            f"script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'"
        ),
    }
    return _template().render(**context)


def render_html(
    result: Mapping,
    predictions: pd.DataFrame,
    errors: pd.DataFrame,
    confusions: pd.DataFrame,
    distribution: pd.DataFrame,
    run_info: Mapping,
    *,
    max_error_rows: int = 50,
) -> str:
    """Render the evaluation as one self-contained HTML page (see docs/report.md)."""
    if result.get("task") == "regression":
        script = SORT_SCRIPT
        script_hash = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
        return _render_regression(result, errors, run_info, max_error_rows, script, script_hash)
    if "correct" in predictions.columns:
        n_errors = int((~predictions["correct"].fillna(False).astype(bool)).sum())
    else:
        n_errors = len(errors)
    per_class, has_scores = _per_class_rows(result)
    script = SORT_SCRIPT
    script_hash = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    context = {
        "regression": False,
        "thresholds": threshold_rows(result.get("thresholds")),
        "threshold_applied": result.get("threshold"),
        "positive_label": str(result.get("positive_label") or ""),
        "title_subject": str(run_info.get("model") or run_info.get("data") or "evaluation"),
        "run": _run_rows(result, run_info),
        "command": str(run_info.get("command") or ""),
        "headline": _headline(result, n_errors),
        "per_class": per_class,
        "has_scores": has_scores,
        "figures": _figures(result, predictions, distribution),
        "n_classes": len(result.get("labels") or []),
        "annotate_limit": figures.MAX_ANNOTATED_CLASSES,
        "compact_limit": figures.COMPACT_CLASSES,
        "weak_margin": WEAK_F1_MARGIN,
        "distribution": _distribution_rows(distribution),
        "errors": _error_table(errors, run_info, max_error_rows),
        "pairs": _confused_pairs(confusions),
        "all_metrics": _all_metrics(result),
        "details": _details(run_info),
        "script": Markup(script),
        "csp": Markup(
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
            f"script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'"
        ),
    }
    return _template().render(**context)


def write_html(path: str | os.PathLike, html: str) -> Path:
    """Write the page atomically (UTF-8). Returns the path written."""
    target = Path(path)
    write_text(target, html)
    return target
