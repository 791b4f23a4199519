"""The regression page: headline, metrics with their directions, residual figures, largest errors."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from modelqa.metrics.registry import REGISTRY
from modelqa.report import figures_more
from modelqa.report import formatting as fmt
from modelqa.report.html._page import (
    MAX_TEXT_CHARS,
    _Collector,
    _shorten,
    _sort_value,
    _template,
    find_id_column,
)
from modelqa.report.html.classification import _common, _metrics_table
from modelqa.report.html.curves import _learning_curves


def _regression_figures(predictions: pd.DataFrame, out: _Collector) -> dict:
    found: dict = {"scatter": None, "residuals": None, "histogram": None}
    if not {"target", "prediction", "residual"} <= set(predictions.columns):
        return found
    target = predictions["target"].to_numpy(dtype=float)
    prediction = predictions["prediction"].to_numpy(dtype=float)
    residual = predictions["residual"].to_numpy(dtype=float)
    if not np.isfinite(target).any():
        return found
    found["scatter"] = out.figure("regression_predicted_vs_actual", figures_more.predicted_vs_actual(target, prediction))
    found["residuals"] = out.figure("regression_residuals", figures_more.residuals_vs_predicted(prediction, residual))
    found["histogram"] = out.figure("regression_residual_histogram", figures_more.residual_histogram(residual))
    found["binned"] = len(target) > figures_more.MAX_SCATTER_POINTS
    return found


REGRESSION_NAMES = {name: (info.display, {"higher": True, "lower": False}.get(info.direction))
                    for name, info in REGISTRY.items() if info.kind == "regression"}  # (display, higher is better)


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
