"""Figures of the QA page: one per check with two or more judged values (drift per column,
slices with their intervals, behaviour failure rates), and series over windows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from modelqa.report.figures import _new_figure, _short, _style

COLORS = {"fail": "#cf222e", "warn": "#bf8700", "pass": "#1a7f37", "error": "#8250df", "skipped": "#8c959f"}
MAX_BARS = 30


def check_bars(rows: Sequence[Mapping], *, title: str) -> Figure | None:
    """Horizontal bars of each result's value, coloured by status, with its threshold marked
    and its interval drawn when it has one; the ``MAX_BARS`` furthest past their threshold."""
    rows = [r for r in rows if r.get("value") is not None and np.isfinite(r["value"])]
    if len(rows) < 2:
        return None

    def badness(r):
        t = r.get("threshold")
        if t is None:
            return 0.0
        return (r["value"] - t) if r.get("bad_when", "above") == "above" else (t - r["value"])

    rows = sorted(rows, key=badness, reverse=True)[:MAX_BARS]
    rows = rows[::-1]
    with _style():
        fig = _new_figure(7.2, 0.8 + 0.28 * len(rows))
        ax = fig.add_subplot(1, 1, 1)
        y = np.arange(len(rows))
        values = np.array([r["value"] for r in rows], dtype=float)
        ax.barh(y, values, color=[COLORS.get(r.get("status"), "#57606a") for r in rows], height=0.62)
        for i, r in enumerate(rows):
            if r.get("interval"):
                lo, hi = r["interval"]
                if lo is not None and hi is not None:
                    ax.plot([lo, hi], [i, i], color="#24292f", linewidth=1.2)
            if r.get("threshold") is not None:
                ax.plot([r["threshold"]] * 2, [i - 0.42, i + 0.42], color="#24292f", linewidth=1.6)
        ax.set_yticks(y, [_short(r.get("target") or r["check"]) for r in rows], fontsize=8.5)
        metric = rows[-1].get("metric") or "value"
        ax.set_xlabel(f"{metric} (black tick: threshold)", fontsize=9)
        ax.set_title(title, fontsize=11)
        ax.tick_params(axis="x", labelsize=8.5)
    return fig


def window_series(rows: Sequence[Mapping], *, title: str) -> Figure | None:
    """One line per target over windows (``details.window`` orders them), threshold dashed."""
    series: dict[str, list[tuple[str, float, str]]] = {}
    threshold = None
    for r in rows:
        d = r.get("details") or {}
        if d.get("window") is None or r.get("value") is None:
            continue
        series.setdefault(str(d.get("series") or r.get("metric") or r["check"]), []).append(
            (str(d["window"]), float(r["value"]), r.get("status") or "pass"))
        threshold = r.get("threshold", threshold)
    if not series:
        return None
    with _style():
        fig = _new_figure(7.2, 3.2)
        ax = fig.add_subplot(1, 1, 1)
        for name, points in list(series.items())[:8]:
            points.sort()
            xs = np.arange(len(points))
            ax.plot(xs, [p[1] for p in points], marker="o", markersize=3, label=_short(name))
            for x, p in zip(xs, points, strict=True):
                if p[2] in ("fail", "warn"):
                    ax.plot([x], [p[1]], marker="o", color=COLORS[p[2]], markersize=7)
            ax.set_xticks(xs, [_short(p[0]) for p in points], rotation=45, ha="right", fontsize=7.5)
        if threshold is not None:
            ax.axhline(threshold, color="#24292f", linestyle="--", linewidth=1)
        ax.legend(fontsize=8, frameon=False)
        ax.set_title(title, fontsize=11)
    return fig
