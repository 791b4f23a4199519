"""``render_report`` / ``render_html``: the page with its figures and tables; ``write_html``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from modelqa._atomic import write_text
from modelqa.report import figures
from modelqa.report.html._page import RenderedReport, _Collector, _template
from modelqa.report.html.classification import (
    WEAK_F1_MARGIN,
    _all_metrics,
    _common,
    _confused_pairs,
    _distribution_rows,
    _error_table,
    _headline,
    _metrics_table,
    _per_class_rows,
    _threshold_figure,
    threshold_rows,
)
from modelqa.report.html.curves import (
    _calibration,
    _figures,
    _learning_curves,
    _roc_pr,
    report_data_from_predictions,
)
from modelqa.report.html.regression import _render_regression


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
    report_data: Mapping[str, pd.DataFrame] | None = None,
) -> RenderedReport:
    """The page (see docs/report.md) with its figures as PNG bytes and its tables as DataFrames,
    so a caller can write figures/*.png and tables/*.csv without drawing anything twice.

    ``curves``: the learning curves of the model's training history as plain data (see
    ``_learning_curves``), or None for no learning-curves section. ``report_data``: the curve
    points, reliability table and confidence histogram computed before rendering (api; the run
    folder's tables/); without it they are derived from ``predictions``
    (``report_data_from_predictions``). The page only draws them.
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
    data = report_data if report_data is not None else report_data_from_predictions(result, predictions)
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
        "figures": _figures(result, distribution, data, out),
        "curves": _roc_pr(result, data, out),
        "calibration": _calibration(data, out),
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


def render_html(*args, **kwargs) -> str:
    """Render the evaluation as one self-contained HTML page (see docs/report.md); the arguments
    of ``render_report``."""
    return render_report(*args, **kwargs).html


def write_html(path: str | os.PathLike, html: str) -> Path:
    """Write the page atomically (UTF-8). Returns the path written."""
    target = Path(path)
    write_text(target, html)
    return target
