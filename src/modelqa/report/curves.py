"""Learning curves: loss.png and metric.png (train vs validation per epoch), the per-epoch
table and the diagnosis on the console.

This module takes plain sequences and the ``to_dict()`` of a curves result (report does not
import analysis); values may be None (the epoch has no value) or NaN / infinity (a diverged
run), both left out of the lines.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from rich.console import Console
from rich.table import Table
from rich.text import Text

from modelqa.report.figures import _new_figure, _style

TRAIN_COLOUR = "#4c78a8"
VAL_COLOUR = "#f58518"
BEST_COLOUR = "#54a24b"
# Beyond this many epochs the console table shows the first and last ones and the best.
MAX_TABLE_EPOCHS = 30
_EDGE_ROWS = 10
_LOG_SCALE_RATIO = 1e3


def _values(series: Sequence[float | None] | None) -> np.ndarray | None:
    if series is None:
        return None
    arr = np.array([math.nan if v is None else float(v) for v in series], dtype=float)
    arr[~np.isfinite(arr)] = math.nan
    return arr


def _line(ax, x: np.ndarray, y: np.ndarray, *, label: str, colour: str) -> None:
    keep = ~np.isnan(y)
    if not keep.any():
        return
    # Joined over missing epochs (an evaluation every other epoch is still one line).
    ax.plot(x[keep], y[keep], marker="o", markersize=3.5 if len(x) <= 40 else 0, linewidth=1.8,
            color=colour, label=label)


def _mark_best(ax, x: np.ndarray, y: np.ndarray | None, best_epoch: int | None, what: str) -> None:
    if best_epoch is None:
        return
    ax.axvline(best_epoch, color=BEST_COLOUR, linestyle="--", linewidth=1.1, label=f"best epoch ({best_epoch})")
    if y is not None:
        hits = np.nonzero(x == best_epoch)[0]
        if len(hits) and not np.isnan(y[hits[0]]):
            ax.plot([best_epoch], [y[hits[0]]], marker="*", markersize=13, color=BEST_COLOUR, zorder=5)
            at_end = best_epoch >= np.nanmax(x)  # keep the label inside the axes
            ax.annotate(f"{what} {y[hits[0]]:.4g}", (best_epoch, y[hits[0]]), textcoords="offset points",
                        xytext=(-8, -14) if at_end else (6, 8), ha="right" if at_end else "left",
                        fontsize=8.5, color=BEST_COLOUR)


def _axes_common(ax, x: np.ndarray, ylabel: str, ys: Sequence[np.ndarray | None]) -> None:
    ax.set_xlabel("epoch", fontsize=10)
    ax.set_ylabel(ylabel, fontsize=10)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(x):
        ax.set_xlim(x.min() - 0.3, x.max() + 0.3)
    finite = np.concatenate([y[~np.isnan(y)] for y in ys if y is not None] or [np.array([])])
    positive = finite[finite > 0]
    if len(positive) == len(finite) and len(positive) and positive.max() / positive.min() > _LOG_SCALE_RATIO:
        ax.set_yscale("log")  # an exploding loss would flatten everything else
    ax.margins(y=0.08)
    ax.grid(color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(frameon=False, fontsize=9, loc="best")


def loss_figure(epochs: Sequence[int], train_loss: Sequence[float | None] | None,
                val_loss: Sequence[float | None] | None, *, best_epoch: int | None = None,
                title: str = "Loss per epoch") -> Figure:
    """Training vs validation loss per epoch, the best epoch marked with a dashed line and a star.
    Either series may be None (not logged)."""
    x = np.asarray(epochs, dtype=float)
    train, val = _values(train_loss), _values(val_loss)
    with _style():
        fig = _new_figure(7.0, 4.0)
        ax = fig.add_subplot()
        if train is not None:
            _line(ax, x, train, label="training loss", colour=TRAIN_COLOUR)
        if val is not None:
            _line(ax, x, val, label="validation loss", colour=VAL_COLOUR)
        _mark_best(ax, x, val, best_epoch, "val loss")
        _axes_common(ax, x, "loss", [train, val])
        ax.set_title(title, fontsize=11)
    return fig


def metric_figure(epochs: Sequence[int], train: Sequence[float | None] | None,
                  val: Sequence[float | None] | None, *, name: str, best_epoch: int | None = None) -> Figure:
    """Training vs validation ``name`` per epoch; with ``train=None`` the validation curve alone."""
    x = np.asarray(epochs, dtype=float)
    tr, va = _values(train), _values(val)
    with _style():
        fig = _new_figure(7.0, 4.0)
        ax = fig.add_subplot()
        if tr is not None:
            _line(ax, x, tr, label=f"training {name}", colour=TRAIN_COLOUR)
        if va is not None:
            _line(ax, x, va, label=f"validation {name}", colour=VAL_COLOUR)
        _mark_best(ax, x, va, best_epoch, f"val {name}")
        _axes_common(ax, x, name, [tr, va])
        only = " (validation only: no training value was logged)" if tr is None else ""
        ax.set_title(f"{name[:1].upper()}{name[1:]} per epoch{only}", fontsize=11)
    return fig


# --------------------------------------------------------------------------- console


def _cell(column: str, value) -> str:
    if value is None:
        return "—"
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.2e}" if column == "learning_rate" else f"{v:.4f}"


def curves_table(rows: Sequence[Mapping], *, best_epoch: int | None, findings: Sequence[Mapping] = (),
                 max_epochs: int = MAX_TABLE_EPOCHS) -> Table:
    """Per-epoch table (epoch, losses, metrics, learning rate). The best epoch is bold and
    marked *; an epoch with a warning finding is marked !. Long histories show the first and
    last epochs and the best one."""
    columns = [c for c in (rows[0].keys() if rows else ()) if c != "epoch"]
    flagged = {f.get("epoch") for f in findings if f.get("severity") == "warning"}
    table = Table(title="Per epoch (* best epoch, ! a warning below)", title_justify="left")
    table.add_column("epoch", justify="right")
    for col in columns:
        table.add_column(col, justify="right")
    shown = list(range(len(rows)))
    if len(rows) > max_epochs:
        best_i = next((i for i, r in enumerate(rows) if r["epoch"] == best_epoch), None)
        keep = set(range(_EDGE_ROWS)) | set(range(len(rows) - _EDGE_ROWS, len(rows)))
        if best_i is not None:
            keep.add(best_i)
        shown = sorted(keep)
    previous = -1
    for i in shown:
        if i != previous + 1:
            table.add_row("…", *["" for _ in columns])
        previous = i
        row = rows[i]
        epoch = row["epoch"]
        mark = (" *" if epoch == best_epoch else "") + (" !" if epoch in flagged else "")
        table.add_row(f"{epoch}{mark}", *[_cell(c, row.get(c)) for c in columns],
                      style="bold" if epoch == best_epoch else None)
    return table


def diagnosis_lines(findings: Sequence[Mapping]) -> list[Text]:
    out = []
    for f in findings:
        warn = f.get("severity") == "warning"
        line = Text("! " if warn else "· ", style="bold yellow" if warn else "dim")
        line.append(str(f.get("message", "")))
        out.append(line)
    return out


def print_curves(result: Mapping, *, console: Console | None = None) -> None:
    """Print a curves result (``CurvesResult.to_dict()``): source, the per-epoch table,
    the diagnosis and the files written."""
    console = console or Console()
    history = result.get("history") or {}
    diagnosis = result.get("diagnosis") or {}
    findings = diagnosis.get("findings") or []
    console.print(Text("Learning curves", style="bold underline"))
    console.print(Text(f"{history.get('source')} ({history.get('format')} format, "
                       f"{history.get('n_epochs')} epochs, epochs numbered from 1)"))
    console.print(curves_table(history.get("epochs") or [], best_epoch=diagnosis.get("best_epoch"),
                               findings=findings))
    console.print(Text("Diagnosis", style="bold underline"))
    for line in diagnosis_lines(findings):
        console.print(line)
    paths = result.get("paths") or {}
    if paths:
        files = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 0))
        files.add_column(style="bold", no_wrap=True)
        files.add_column(overflow="fold")
        for name, path in paths.items():
            files.add_row(Text(str(name)), Text(str(path)))
        console.print(Text("Files", style="bold underline"))
        console.print(files)
    for note in result.get("notes") or []:
        console.print(Text(f"Note: {note}"))
