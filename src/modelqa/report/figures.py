"""Figures for the report, drawn with matplotlib's object API (no pyplot, no global figure state).

Every function returns a :class:`matplotlib.figure.Figure`; turn it into PNG bytes, a
``data:`` URI for HTML, or a file with the helpers at the bottom.

Hangul: the bundled Noto Sans KR (report/fonts.py, from the PyPI package pylopdf-fonts-ko)
is used first; without it an installed CJK font (Noto Sans CJK, NanumGothic, Malgun Gothic,
...), and only then DejaVu Sans, where Hangul would show as empty boxes.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from modelqa._atomic import atomic_path

CJK_FAMILIES = (
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "Source Han Sans KR",
    "NanumGothic",
    "Nanum Gothic",
    "Malgun Gothic",
    "Apple SD Gothic Neo",
    "AppleGothic",
    "Noto Sans CJK JP",
    "Noto Sans CJK SC",
    "Noto Sans CJK TC",
    "Source Han Sans",
    "UnDotum",
    "Baekmuk Gulim",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
)
_CJK_FILE_HINTS = (
    "notosanscjk",
    "notosanskr",
    "sourcehansans",
    "nanum",
    "malgun",
    "applesdgothic",
    "applegothic",
    "undotum",
    "baekmuk",
    "wqy",
    "droidsansfallback",
)
FALLBACK_FAMILY = "DejaVu Sans"
MAX_ANNOTATED_CLASSES = 20
MAX_TICK_LABEL_CHARS = 24
COMPACT_CLASSES = 8
COMPACT_WIDTH_IN = 5.8
WIDE_WIDTH_IN = 11.0

_TRUE_COLOUR = "#4c78a8"
_PRED_COLOUR = "#f58518"
_FLAG_COLOURS = {"over-predicted": "#b35900", "under-predicted": "#0a3069"}


@functools.lru_cache(maxsize=1)
def hangul_font() -> str | None:
    """Family that draws Hangul: the bundled Noto Sans KR (report.fonts), else an installed one, else None."""
    from matplotlib import font_manager

    from modelqa.report.fonts import bundled_hangul_family

    if bundled := bundled_hangul_family():
        return bundled

    def installed() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((family for family in CJK_FAMILIES if family in names), None)

    found = installed()
    if found:
        return found
    # matplotlib's font cache may predate the font package: look at the files themselves.
    for path in font_manager.findSystemFonts():
        if any(hint in os.path.basename(path).lower().replace("-", "").replace("_", "") for hint in _CJK_FILE_HINTS):
            with contextlib.suppress(Exception):
                font_manager.fontManager.addfont(path)
    return installed()


def _font_families() -> list[str]:
    cjk = hangul_font()
    return [cjk, FALLBACK_FAMILY] if cjk else [FALLBACK_FAMILY]


@contextlib.contextmanager
def _style() -> Iterator[None]:
    """Fonts and quiet glyph warnings, for building and for saving a figure."""
    rc = {"font.family": _font_families(), "axes.spines.top": False, "axes.spines.right": False}
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        warnings.filterwarnings("ignore", message=r"findfont:", category=UserWarning)
        yield


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _short(label: object) -> str:
    text = str(label)
    return text if len(text) <= MAX_TICK_LABEL_CHARS else text[: MAX_TICK_LABEL_CHARS - 1] + "…"


def _tick_font_size(k: int) -> float:
    if k <= 20:
        return 9.5
    if k <= 40:
        return 8
    return 7


def confusion_heatmap(labels: Sequence[object], counts, *, normalize: bool) -> Figure:
    """Confusion matrix as a heatmap: rows are true labels, columns predicted labels.

    ``normalize=True`` divides each row by its total (share of each true class; an empty
    row stays 0). Cell values are written in the cells for up to 20 classes; beyond that
    the colour scale carries them. Font and label rotation scale with the class count; the
    figure is 5.8 in wide up to 8 classes (two fit side by side on a page), 11 in beyond.
    """
    matrix = np.asarray(counts, dtype=float)
    k = len(labels)
    if matrix.shape != (k, k):
        raise ValueError(f"counts has shape {matrix.shape}, expected ({k}, {k}) for {k} labels")
    if normalize:
        totals = matrix.sum(axis=1, keepdims=True)
        values = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    else:
        values = matrix
    names = [_short(label) for label in labels]
    longest = max((len(n) for n in names), default=1)
    font = _tick_font_size(k)
    # Sized for the page, not for the class count: a figure about as many inches wide as it
    # is shown (at ~100 px per inch) keeps the point sizes readable on screen. Up to
    # COMPACT_CLASSES two heatmaps sit side by side; beyond that each takes the full width.
    width = COMPACT_WIDTH_IN if k <= COMPACT_CLASSES else WIDE_WIDTH_IN
    height = width * (0.9 if k <= COMPACT_CLASSES else 0.92)

    with _style():
        fig = _new_figure(width, height)
        ax = fig.add_subplot()
        vmax = 1.0 if normalize else max(float(values.max(initial=0)), 1.0)
        image = ax.imshow(values, cmap="Blues", vmin=0, vmax=vmax, interpolation="nearest", aspect="equal")
        colorbar = fig.colorbar(image, ax=ax, shrink=0.8, pad=0.02)
        colorbar.ax.tick_params(labelsize=9)
        if normalize:
            colorbar.ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
        ticks = np.arange(k)
        rotate = 0 if k * longest <= 36 else (45 if k <= 20 else 90)
        ax.set_xticks(ticks, names, fontsize=font, rotation=rotate, ha="right" if rotate == 45 else "center",
                      rotation_mode="anchor" if rotate == 45 else "default")
        ax.set_yticks(ticks, names, fontsize=font)
        ax.set_xlabel("Predicted label", fontsize=10)
        ax.set_ylabel("True label", fontsize=10)
        ax.set_title("Share of each true class (rows sum to 100%)" if normalize else "Counts", fontsize=11)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        if k <= MAX_ANNOTATED_CLASSES:
            _annotate(ax, values, matrix, normalize=normalize, vmax=vmax, font=10 if k <= 5 else (9 if k <= 12 else 8))
    return fig


def _annotate(ax, values: np.ndarray, matrix: np.ndarray, *, normalize: bool, vmax: float, font: float) -> None:
    k = values.shape[0]
    for i in range(k):
        for j in range(k):
            if normalize:
                if matrix[i].sum() == 0:
                    continue
                text = f"{values[i, j]:.0%}" if values[i, j] >= 0.005 or values[i, j] == 0 else "<1%"
            else:
                text = f"{int(matrix[i, j]):,}"
            colour = "white" if values[i, j] > 0.55 * vmax else "#222222"
            ax.text(j, i, text, ha="center", va="center", fontsize=font, color=colour)


def distribution_bars(distribution_df: pd.DataFrame) -> Figure:
    """True vs predicted count per class as grouped bars (horizontal beyond 12 classes).

    Expects columns ``label``, ``true_count``, ``predicted_count``; an optional ``flag``
    column marks over- and under-predicted classes with an arrow after the name.
    """
    df = distribution_df.reset_index(drop=True)
    k = len(df)
    names = [_short(label) for label in df["label"]]
    flags = [str(f) for f in df["flag"]] if "flag" in df.columns else [""] * k
    marks = {"over-predicted": " ▲", "under-predicted": " ▼"}
    names = [name + marks.get(flag, "") for name, flag in zip(names, flags, strict=True)]
    true_counts = df["true_count"].to_numpy(dtype=float)
    pred_counts = df["predicted_count"].to_numpy(dtype=float)
    positions = np.arange(k)
    width = 0.4
    font = _tick_font_size(k)

    with _style():
        if k > 12:
            fig = _new_figure(9.0, float(np.clip(0.2 * k + 1.5, 4.0, 20.0)))
            ax = fig.add_subplot()
            ax.barh(positions - width / 2, true_counts, height=width, label="true", color=_TRUE_COLOUR)
            ax.barh(positions + width / 2, pred_counts, height=width, label="predicted", color=_PRED_COLOUR)
            ax.set_yticks(positions, names, fontsize=font)
            ax.set_ylim(k - 0.5, -0.5)
            ax.set_xlabel("rows", fontsize=10)
            ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        else:
            fig = _new_figure(float(np.clip(0.9 * k + 3.0, 5.0, 12.0)), 4.2)
            ax = fig.add_subplot()
            ax.bar(positions - width / 2, true_counts, width=width, label="true", color=_TRUE_COLOUR)
            ax.bar(positions + width / 2, pred_counts, width=width, label="predicted", color=_PRED_COLOUR)
            longest = max((len(n) for n in names), default=1)
            rotate = 0 if longest * k <= 60 else 45
            ax.set_xticks(positions, names, fontsize=font, rotation=rotate, ha="right" if rotate else "center",
                          rotation_mode="anchor" if rotate else "default")
            ax.set_ylabel("rows", fontsize=10)
            ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.tick_params(length=0)
        tick_labels = ax.get_yticklabels() if k > 12 else ax.get_xticklabels()
        for tick, flag in zip(tick_labels, flags, strict=True):
            tick.set_color(_FLAG_COLOURS.get(flag, "#222222"))
        if k > 12:  # a tall chart: legend above the plot, where the eye starts
            ax.legend(frameon=False, fontsize=9, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2)
            ax.set_title("True vs predicted count per class (▲ over-, ▼ under-predicted)", fontsize=11, loc="left")
        else:
            ax.legend(frameon=False, fontsize=9, loc="best")
            ax.set_title("True vs predicted count per class (▲ over-, ▼ under-predicted)", fontsize=11)
    return fig


def confidence_histogram(confidence=None, correct=None, *, edges=None, correct_counts=None,
                         wrong_counts=None) -> Figure:
    """Histogram of the model's confidence, split into correct and wrong predictions: from rows
    per bin counted before drawing (``edges``: K + 1 bin edges, ``correct_counts``, ``wrong_counts``;
    what the report passes), or from the raw ``confidence`` and ``correct`` arrays (20 bins)."""
    if edges is None:
        conf = np.asarray(confidence, dtype=float)
        right = np.asarray(correct, dtype=bool)
        keep = np.isfinite(conf)
        conf, right = conf[keep], right[keep]
        edges = np.linspace(0.0, 1.0, 21)
        correct_counts = np.histogram(conf[right], bins=edges)[0]
        wrong_counts = np.histogram(conf[~right], bins=edges)[0]
    edges = np.asarray(edges, dtype=float)
    ok = np.asarray(correct_counts, dtype=float)
    bad = np.asarray(wrong_counts, dtype=float)
    widths = np.diff(edges)
    with _style():
        fig = _new_figure(7.0, 3.4)
        ax = fig.add_subplot()
        ax.bar(edges[:-1], ok, width=widths, align="edge", label="correct", color=_TRUE_COLOUR,
               edgecolor="white", linewidth=0.5)
        ax.bar(edges[:-1], bad, width=widths, bottom=ok, align="edge", label="wrong", color="#e45756",
               edgecolor="white", linewidth=0.5)
        ax.set_xlim(0, 1)
        ax.set_xlabel("confidence (probability of the predicted label)", fontsize=10)
        ax.set_ylabel("rows", fontsize=10)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(frameon=False, fontsize=9, loc="best")
        ax.set_title("How sure the model was, right and wrong", fontsize=11)
    return fig


_CURVE_COLOURS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d",
                  "#bab0ac", "#eeca3b")
_AVERAGE_STYLES = {"micro": ("#222222", ":"), "macro": ("#222222", "--")}


#: Curve legends with more entries than this go under the plot instead of inside it.
_INSIDE_LEGEND_ENTRIES = 4


def _curve_legend(fig, ax, n_entries: int, *, kind: str) -> None:
    # Short legends sit inside the plot, in the corner curves rarely reach; longer ones go
    # under it in two columns, never over the curves and never shrinking the plot sideways.
    if n_entries <= _INSIDE_LEGEND_ENTRIES:
        ax.legend(frameon=True, framealpha=0.9, edgecolor="#dddddd", fontsize=9,
                  loc="lower right" if kind == "roc" else "lower left")
    else:
        fig.legend(*ax.get_legend_handles_labels(), frameon=False, fontsize=9, loc="outside lower center",
                   ncols=2)


def _curve_figure(x, series: Sequence[tuple[str, np.ndarray, str]], *, kind: str, title: str,
                  baseline: float | None = None) -> Figure:
    """``series``: (legend text, y values on ``x``, role) with role "class", "micro" or "macro"."""
    n = len(series)
    legend_rows = 0 if n + 1 <= _INSIDE_LEGEND_ENTRIES else -(-(n + 1) // 2)
    with _style():
        fig = _new_figure(5.6, 4.4 + 0.2 * legend_rows)
        ax = fig.add_subplot()
        if kind == "roc":
            ax.plot([0, 1], [0, 1], color="#bbbbbb", linewidth=1, linestyle="--", label="random (AUC 0.5)")
        elif baseline is not None:
            ax.axhline(baseline, color="#bbbbbb", linewidth=1, linestyle="--", label=f"random (AP {baseline:.3f})")
        colour = 0
        for text, y, role in series:
            if role in _AVERAGE_STYLES:
                c, style = _AVERAGE_STYLES[role]
                ax.plot(x, y, color=c, linestyle=style, linewidth=2.0, label=text, zorder=4)
            else:
                ax.plot(x, y, color=_CURVE_COLOURS[colour % len(_CURVE_COLOURS)], linewidth=1.6, label=text)
                colour += 1
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        if kind == "roc":
            ax.set_xlabel("false positive rate (share of negatives flagged)", fontsize=10)
            ax.set_ylabel("true positive rate (recall)", fontsize=10)
        else:
            ax.set_xlabel("recall", fontsize=10)
            ax.set_ylabel("precision", fontsize=10)
        ax.grid(color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.set_title(title, fontsize=11)
        _curve_legend(fig, ax, n + 1, kind=kind)
    return fig


def roc_figure(fpr, series: Sequence[tuple[str, np.ndarray, str]], *, title: str = "ROC curves") -> Figure:
    """ROC curves: ``fpr`` is the common grid, ``series`` (legend text, TPR on the grid, role) with
    role "class", "micro" or "macro" (averages are drawn black, dotted / dashed)."""
    return _curve_figure(np.asarray(fpr), series, kind="roc", title=title)


def pr_figure(recall, series: Sequence[tuple[str, np.ndarray, str]], *, title: str = "Precision-recall curves",
              baseline: float | None = None) -> Figure:
    """Precision-recall curves on a common recall grid; ``baseline`` (the positive share, binary
    only) is drawn as the precision of a random ranking."""
    return _curve_figure(np.asarray(recall), series, kind="pr", title=title, baseline=baseline)


def _compact_count(value: float, _pos=None) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    if abs(value) >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def figure_to_png_bytes(fig: Figure, *, dpi: int = 100) -> bytes:
    """Render ``fig`` to PNG bytes."""
    buffer = io.BytesIO()
    with _style():
        fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def figure_to_data_uri(fig: Figure, *, dpi: int = 100) -> str:
    """``data:image/png;base64,...`` for embedding ``fig`` in a self-contained HTML page."""
    return "data:image/png;base64," + base64.b64encode(figure_to_png_bytes(fig, dpi=dpi)).decode("ascii")


def save_png(fig: Figure, path: str | os.PathLike, *, dpi: int = 120) -> Path:
    """Write ``fig`` as a PNG file, atomically. Returns the path written."""
    data = figure_to_png_bytes(fig, dpi=dpi)
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target
