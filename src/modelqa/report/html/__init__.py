"""The self-contained HTML report: one file, no network, readable without JavaScript.

``render_html`` turns the evaluation outputs (plain dicts and DataFrames) into a page;
``write_html`` writes it atomically. All data-derived text goes through jinja2 with
autoescape on, and a Content-Security-Policy lets only the page's own script run and
forbids every network load (images are inline ``data:`` URIs, CSS is inline).

The package is split by section: ``_page`` (template, collector, shared blocks),
``classification`` (headline, tables, thresholds, actions), ``curves`` (the figures, drawn from
the run's report data), ``regression``, ``compact`` (Jupyter) and ``render`` (the page).
"""

from modelqa.report.html._page import (
    FIGURE_DPI,
    ID_COLUMN_NAMES,
    KNOWN_COLUMNS,
    MAX_CONFUSED_PAIRS,
    MAX_CURVE_CLASSES,
    MAX_TEXT_CHARS,
    PAGE_SCRIPT,
    SHOWN_EXTREMES,
    SORT_SCRIPT,
    RenderedReport,
    find_id_column,
)
from modelqa.report.html.classification import THRESHOLD_RULES, _all_metrics, threshold_rows
from modelqa.report.html.compact import COMPACT_MAX_CLASSES, render_compact_html
from modelqa.report.html.curves import report_data_from_predictions
from modelqa.report.html.regression import REGRESSION_NAMES
from modelqa.report.html.render import render_html, render_report, write_html

__all__ = [
    "COMPACT_MAX_CLASSES", "FIGURE_DPI", "ID_COLUMN_NAMES", "KNOWN_COLUMNS", "MAX_CONFUSED_PAIRS",
    "MAX_CURVE_CLASSES", "MAX_TEXT_CHARS", "PAGE_SCRIPT", "REGRESSION_NAMES", "SHOWN_EXTREMES", "SORT_SCRIPT",
    "THRESHOLD_RULES", "RenderedReport", "_all_metrics", "find_id_column", "render_compact_html", "render_html",
    "render_report", "report_data_from_predictions", "threshold_rows", "write_html",
]
