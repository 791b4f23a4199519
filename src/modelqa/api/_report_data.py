"""The report data of a run as DataFrames: what report/ draws, computed before rendering from the
full data by metrics.report_data (exact from the rows in memory, from the ``ClassificationState``
histograms when streamed). ``Evaluation.save`` writes them into tables/ (``REPORT_TABLES``) and
``Evaluation.load`` reads them back, so ``modelqa report RUN_DIR`` re-renders without recomputing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from modelqa.metrics import report_data as rd

#: The report-data tables, by file stem under tables/.
REPORT_TABLES = ("roc_curve_points", "pr_curve_points", "curve_summary", "calibration", "confidence_histogram")


def _frames(tables: Mapping | None) -> dict[str, pd.DataFrame] | None:
    return None if tables is None else {name: pd.DataFrame(cols) for name, cols in tables.items()}


def report_data(y_true, probs, labels: Sequence[str], result: Mapping) -> dict[str, pd.DataFrame] | None:
    """The report tables of an in-memory classification run (None without probabilities)."""
    return _frames(rd.from_scores(y_true, probs, labels, result))


def streamed_report_data(state, labels: Sequence[str], result: Mapping) -> dict[str, pd.DataFrame]:
    """The same tables from a streamed run's ``metrics.streaming.ClassificationState``."""
    return _frames(rd.from_state(state, labels, result))
