"""The compact summary shown in Jupyter (``Evaluation._repr_html_``)."""

from __future__ import annotations

from collections.abc import Mapping

from modelqa.report import formatting as fmt
from modelqa.report.html._page import _environment, _pct_interval
from modelqa.report.html.classification import _per_class_rows

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
