"""What the report draws, computed before rendering from the full data (layer L1, pure numpy):
ROC / PR curve points, the reliability table and the confidence histogram of a classification
run, each as a table (a dict of equal-length columns).

In memory they come from every row (exact scores, ``from_scores``); a streamed run computes them
from the ``ClassificationState`` histograms over every row (``from_state``). The api stores them
with the run (tables/ of the run folder) and report/ only draws them, so ``modelqa report RUN_DIR``
re-renders from those files without recomputing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from modelqa.metrics import curves as curve_metrics
from modelqa.metrics.calibration import N_BINS as CALIBRATION_BINS
from modelqa.metrics.calibration import ReliabilityTable, reliability_table

Table = dict  # column name -> values (equal lengths)

#: Bins of the confidence histogram (in memory); a streamed run uses the calibration bins.
CONFIDENCE_BINS = 20
#: The report-data tables, by file stem under tables/.
TABLES = ("roc_curve_points", "pr_curve_points", "curve_summary", "calibration", "confidence_histogram")


def from_scores(y_true, probs, labels: Sequence[str], result: Mapping) -> dict[str, Table] | None:
    """The report tables of an in-memory classification run (None without probabilities)."""
    if probs is None:
        return None
    y = np.asarray(y_true)
    p = np.asarray(probs, dtype=np.float64)
    names = [str(x) for x in labels]
    curves = curve_metrics.one_vs_rest_curves(y, p, names, pos_id=_pos_id(result, names))
    top = p.argmax(axis=1)
    confidence = p[np.arange(y.size), top]
    edges = np.linspace(0.0, 1.0, CONFIDENCE_BINS + 1)
    bins = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, CONFIDENCE_BINS - 1)
    right = np.bincount(bins[top == y], minlength=CONFIDENCE_BINS)
    total = np.bincount(bins, minlength=CONFIDENCE_BINS)
    return {**curve_tables(curves, result), "calibration": calibration_table(reliability_table(y, p, CALIBRATION_BINS)),
            "confidence_histogram": _histogram(edges, right, total - right)}


def from_state(state, labels: Sequence[str], result: Mapping) -> dict[str, Table]:
    """The same tables from a ``metrics.streaming.ClassificationState`` (every row, binned)."""
    names = [str(x) for x in labels]
    curves = curve_metrics.one_vs_rest_from_histograms(state.hist_pos, state.hist_all, names,
                                                        pos_id=_pos_id(result, names))
    table = state.reliability()
    return {**curve_tables(curves, result), "calibration": calibration_table(table),
            "confidence_histogram": _histogram(table.edges, table.correct, table.counts - table.correct)}


def _pos_id(result: Mapping, names: list[str]) -> int | None:
    pos = result.get("positive_label")
    return names.index(str(pos)) if pos is not None and str(pos) in names else None


def _histogram(edges, correct, wrong) -> Table:
    return {"lower": edges[:-1], "upper": edges[1:], "correct": np.asarray(correct, dtype=np.int64),
            "wrong": np.asarray(wrong, dtype=np.int64)}


def calibration_table(table: ReliabilityTable) -> Table:
    return {"lower": table.edges[:-1], "upper": table.edges[1:], "rows": table.counts,
            "correct": table.correct, "confidence_sum": table.confidence_sum,
            "accuracy": table.accuracy(), "mean_confidence": table.mean_confidence()}


def reliability_from_table(df: Mapping) -> ReliabilityTable:
    """The ``ReliabilityTable`` a calibration table was made from (for ECE and the diagram)."""
    lower, upper = np.asarray(df["lower"], dtype=np.float64), np.asarray(df["upper"], dtype=np.float64)
    return ReliabilityTable(edges=np.r_[lower, upper[-1:]], counts=np.asarray(df["rows"], dtype=np.int64),
                            correct=np.asarray(df["correct"], dtype=np.int64),
                            confidence_sum=np.asarray(df["confidence_sum"], dtype=np.float64))


def curve_tables(curves: curve_metrics.ClassCurves, result: Mapping) -> dict[str, Table]:
    """ROC and PR points on the fixed grids (one column per class, and the averages) and the
    per-class AUC / AP (exact from metrics.json where it has them, else from the curve),
    positives and negatives of each curve."""
    per_class = result.get("per_class") or {}
    roc = {"fpr": curve_metrics.ROC_GRID}
    pr = {"recall": curve_metrics.PR_GRID}
    rows = []
    for label, grid in zip(curves.labels, curves.per_class, strict=True):
        stats = per_class.get(label) or {}
        auc = stats.get("roc_auc") if "roc_auc" in stats else grid.roc_auc
        ap = stats.get("average_precision") if "average_precision" in stats else grid.average_precision
        rows.append({"label": label, "kind": "class", "roc_auc": auc, "average_precision": ap,
                     "n_pos": grid.n_pos, "n_neg": grid.n_neg})
        if grid.tpr is not None:
            roc[f"tpr {label}"] = grid.tpr
        if grid.precision is not None:
            pr[f"precision {label}"] = grid.precision
    averages = []
    if curves.micro is not None:
        averages.append(("micro", curves.micro.tpr, curves.micro.precision, curves.micro.roc_auc,
                         curves.micro.average_precision))
    if curves.macro_tpr is not None or curves.macro_precision is not None:
        averages.append(("macro", curves.macro_tpr, curves.macro_precision, curves.macro_roc_auc,
                         curves.macro_average_precision))
    for name, tpr, precision, auc, ap in averages:
        rows.append({"label": f"{name}-average", "kind": name, "roc_auc": auc, "average_precision": ap,
                     "n_pos": None, "n_neg": None})
        if tpr is not None:
            roc[f"tpr {name}-average"] = tpr
        if precision is not None:
            pr[f"precision {name}-average"] = precision
    summary = {key: [r[key] for r in rows] for key in ("label", "kind", "roc_auc", "average_precision", "n_pos",
                                                        "n_neg")}
    summary["note"] = ["; ".join(curves.notes)] * len(rows)
    return {"roc_curve_points": roc, "pr_curve_points": pr, "curve_summary": summary}
