"""The reliability diagram, the binary threshold figure and the regression figures (predicted vs actual, residuals vs
predicted, residual histogram; binned as a 2-D histogram above MAX_SCATTER_POINTS points, so the
page stays small). The shared style and helpers are report.figures'."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from modelqa.report.figures import _PRED_COLOUR, _TRUE_COLOUR, _compact_count, _new_figure, _style  # noqa: F401

_THRESHOLD_MARKS = {"best_f1": "#54a24b", "youden_j": "#b279a2", "min_recall": "#e45756", "min_cost": "#9d755d",
                    "applied": "#222222"}


def reliability_diagram(edges, counts, accuracy, mean_confidence, *, ece: float) -> Figure:
    """Reliability diagram: accuracy per confidence bin against the diagonal (perfect
    calibration), with the rows per bin in a panel underneath. ``accuracy`` /
    ``mean_confidence`` hold None for empty bins."""
    e = np.asarray(edges, dtype=float)
    n = np.asarray(counts, dtype=float)
    acc = np.array([np.nan if a is None else a for a in accuracy], dtype=float)
    conf = np.array([np.nan if c is None else c for c in mean_confidence], dtype=float)
    centres, widths = (e[:-1] + e[1:]) / 2, np.diff(e)
    with _style():
        fig = _new_figure(6.4, 5.4)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
        top.plot([0, 1], [0, 1], color="#bbbbbb", linestyle="--", linewidth=1, label="perfect calibration")
        filled = ~np.isnan(acc)
        top.bar(centres[filled], acc[filled], width=widths[filled] * 0.92, color=_TRUE_COLOUR, alpha=0.85,
                label="accuracy in the bin")
        top.plot(conf[filled], acc[filled], marker="o", markersize=3.5, color="#222222", linewidth=1.1,
                 label="accuracy at the bin's mean confidence")
        top.set_xlim(0, 1)
        top.set_ylim(0, 1.02)
        top.set_ylabel("accuracy", fontsize=10)
        top.grid(color="#eeeeee", linewidth=0.6)
        top.set_axisbelow(True)
        top.legend(frameon=True, framealpha=0.9, edgecolor="#dddddd", fontsize=8.5, loc="upper left")
        top.set_title(f"Reliability diagram, {len(centres)} bins (ECE {ece:.3f})", fontsize=11)
        bottom.bar(centres, n, width=widths * 0.92, color="#9aa5b1")
        bottom.set_ylabel("rows", fontsize=10)
        bottom.set_xlabel("confidence (probability of the predicted label)", fontsize=10)
        bottom.grid(axis="y", color="#eeeeee", linewidth=0.6)
        bottom.set_axisbelow(True)
        bottom.yaxis.set_major_formatter(FuncFormatter(_compact_count))
        bottom.yaxis.set_major_locator(MaxNLocator(3))
    return fig


def threshold_figure(thresholds, precision, recall, f1, marks: Sequence[tuple[str, str, float]] = ()) -> Figure:
    """Precision, recall and F1 against the threshold; ``marks`` (key, legend text, threshold)
    are the chosen thresholds, drawn as vertical lines."""
    t = np.asarray(thresholds, dtype=float)
    order = np.argsort(t, kind="stable")

    def col(values) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in values], dtype=float)[order]

    t = t[order]
    with _style():
        fig = _new_figure(8.2, 4.0)
        ax = fig.add_subplot()
        ax.plot(t, col(precision), color=_TRUE_COLOUR, linewidth=1.8, label="precision")
        ax.plot(t, col(recall), color=_PRED_COLOUR, linewidth=1.8, label="recall")
        ax.plot(t, col(f1), color="#222222", linewidth=1.8, label="F1")
        # Rules that chose the same threshold share one line (one colour would hide the other).
        grouped: dict[float, list[tuple[str, str]]] = {}
        for key, text, value in marks:
            grouped.setdefault(float(value), []).append((key, text))
        for value, rules in grouped.items():
            ax.axvline(value, color=_THRESHOLD_MARKS.get(rules[0][0], "#888888"), linestyle="--", linewidth=1.1,
                       label=f"{', '.join(text for _, text in rules)}: {value:.3f}")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("threshold (positive when probability ≥ threshold)", fontsize=10)
        ax.set_ylabel("value", fontsize=10)
        ax.grid(color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(frameon=False, fontsize=8.5, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
        ax.set_title("Precision, recall and F1 by threshold", fontsize=11)
    return fig

#: Scatter plots draw each point up to this many rows; beyond it they bin the points (hexbin).
MAX_SCATTER_POINTS = 5000


def _xy_panel(ax, x: np.ndarray, y: np.ndarray) -> str:
    if x.size <= MAX_SCATTER_POINTS:
        ax.scatter(x, y, s=9, alpha=0.5 if x.size > 500 else 0.8, color=_TRUE_COLOUR, edgecolors="none")
        return ""
    hb = ax.hexbin(x, y, gridsize=70, bins="log", cmap="Blues", mincnt=1, linewidths=0)
    bar = ax.figure.colorbar(hb, ax=ax, shrink=0.8, pad=0.02)
    bar.set_label("rows per cell (log scale)", fontsize=9)
    bar.ax.tick_params(labelsize=8)
    return f" ({x.size:,} rows, binned)"


def predicted_vs_actual(target, prediction) -> Figure:
    """Prediction against target with the y = x line (points on it are exact)."""
    t, p = np.asarray(target, dtype=float), np.asarray(prediction, dtype=float)
    keep = np.isfinite(t) & np.isfinite(p)
    t, p = t[keep], p[keep]
    with _style():
        fig = _new_figure(5.6, 4.8)
        ax = fig.add_subplot()
        note = _xy_panel(ax, t, p)
        lo, hi = (float(min(t.min(), p.min())), float(max(t.max(), p.max()))) if t.size else (0.0, 1.0)
        ax.plot([lo, hi], [lo, hi], color="#e45756", linestyle="--", linewidth=1.2, label="prediction = target")
        ax.set_xlabel("target (true value)", fontsize=10)
        ax.set_ylabel("prediction", fontsize=10)
        ax.grid(color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(frameon=True, framealpha=0.9, edgecolor="#dddddd", fontsize=8.5, loc="upper left")
        ax.set_title("Predicted vs actual" + note, fontsize=11)
    return fig


def residuals_vs_predicted(prediction, residual) -> Figure:
    """Residual (target − prediction) against the prediction, with the zero line."""
    p, r = np.asarray(prediction, dtype=float), np.asarray(residual, dtype=float)
    keep = np.isfinite(p) & np.isfinite(r)
    p, r = p[keep], r[keep]
    with _style():
        fig = _new_figure(5.6, 4.8)
        ax = fig.add_subplot()
        note = _xy_panel(ax, p, r)
        ax.axhline(0, color="#e45756", linestyle="--", linewidth=1.2, label="residual 0")
        ax.set_xlabel("prediction", fontsize=10)
        ax.set_ylabel("residual (target − prediction)", fontsize=10)
        ax.grid(color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(frameon=True, framealpha=0.9, edgecolor="#dddddd", fontsize=8.5, loc="upper left")
        ax.set_title("Residuals vs prediction" + note, fontsize=11)
    return fig


def residual_histogram(residual) -> Figure:
    """Histogram of the residuals with the zero line."""
    r = np.asarray(residual, dtype=float)
    r = r[np.isfinite(r)]
    with _style():
        fig = _new_figure(5.6, 4.8)  # the size of the residual scatter it sits beside
        ax = fig.add_subplot()
        ax.hist(r, bins=50, color=_TRUE_COLOUR, edgecolor="white", linewidth=0.5)
        ax.axvline(0, color="#e45756", linestyle="--", linewidth=1.2)
        ax.set_xlabel("residual (target − prediction)", fontsize=10)
        ax.set_ylabel("rows", fontsize=10)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.yaxis.set_major_formatter(FuncFormatter(_compact_count))
        ax.set_title("Residuals (left of 0: predicted too high)", fontsize=11)
    return fig
