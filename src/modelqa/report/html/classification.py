"""The classification sections of the page: headline, per-class table, errors, distribution,
confused pairs, thresholds and actions."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
from markupsafe import Markup

from modelqa.metrics.registry import REGISTRY
from modelqa.report import figures_more
from modelqa.report import formatting as fmt
from modelqa.report.html._page import (
    MAX_CONFUSED_PAIRS,
    MAX_TEXT_CHARS,
    PAGE_SCRIPT,
    _cell,
    _Collector,
    _csp,
    _details,
    _pct_interval,
    _run_rows,
    _shorten,
    _sort_value,
    find_id_column,
)

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
        "uniform": fmt.pct(baselines.get("uniform_accuracy")),
        "n_classes": len(result.get("labels") or []),
        "majority": fmt.pct(majority),
        "majority_label": "" if baselines.get("majority_label") is None else str(baselines["majority_label"]),
        "errors": fmt.count(n_errors),
        "error_share": fmt.pct(n_errors / n) if n else fmt.MISSING,
        "verdict": verdict,
        "verdict_kind": verdict_kind,
        "simple": _simple_baseline(baselines.get("simple")),
        "compare_fp32": _compare_fp32(result.get("compare_fp32")),
    }


def _compare_fp32(section) -> dict | None:
    """``compare_fp32`` of metrics.json (api/_compare_fp32.py: a speed lever vs the fp32 torch model), for its card."""
    if not isinstance(section, Mapping):
        return None
    agree, acc = section.get("agreement") or {}, section.get("accuracy_difference") or {}
    ref = section.get("reference_metrics") or {}
    return {"variant": str(section.get("variant") or "variant"), "agreement": fmt.pct(agree.get("fraction")),
            "rows_differ": fmt.count(agree.get("rows_differ")), "n_rows": fmt.count(section.get("n_rows")),
            "accuracy_delta": fmt.MISSING if fmt.is_missing(acc.get("delta")) else f"{float(acc['delta']):+.4f}",
            "accuracy_ci": fmt.interval(acc.get("interval"), 4),
            "reference_accuracy": fmt.pct(ref.get("accuracy")), "reference_f1": fmt.num(ref.get("f1_macro")),
            "p_value": fmt.num((section.get("mcnemar") or {}).get("p_value")),
            "summary": str(section.get("summary") or "")}


def _simple_baseline(simple) -> dict | None:
    """The trained character n-gram baseline of metrics.json (``baselines.simple``), for the card."""
    if not isinstance(simple, Mapping):
        return None
    if simple.get("status") != "done":
        return {"skipped": str(simple.get("reason") or "not computed")}
    metrics, ci = simple.get("metrics") or {}, simple.get("confidence_intervals") or {}
    return {"name": str(simple.get("name") or "simple baseline"), "accuracy": fmt.pct(metrics.get("accuracy")),
            "accuracy_ci": _pct_interval(ci.get("accuracy")), "f1_macro": fmt.num(metrics.get("f1_macro")),
            "summary": str((simple.get("comparison") or {}).get("summary") or "")}


def _all_metrics(result: Mapping) -> list[dict]:
    rows = []
    for key, value in (result.get("metrics") or {}).items():
        rows.append(
            {
                "name": fmt.metric_name(str(key)),
                "key": str(key),
                "value": fmt.num(value),
                "direction": REGISTRY[key].direction_text if key in REGISTRY else "",
            }
        )
    return rows


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
    return out.figure("thresholds", figures_more.threshold_figure(merged["threshold"], merged["precision"],
                                                            merged["recall"], merged["f1"], marks))


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
