"""Terminal output: a human summary, machine-readable JSON, and a rich progress bar.

Data-derived text (labels, paths) is passed to rich as ``Text`` objects, never as markup,
so a label like ``[bold]`` prints as it is.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from typing import IO

import pandas as pd
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from modelqa._types import NullProgress
from modelqa._types import Progress as ProgressProtocol
from modelqa.report import formatting as fmt

MAX_FLAGGED_SHOWN = 8


def _flagged(distribution: pd.DataFrame | None, flag: str) -> list[str]:
    if distribution is None or not len(distribution) or "flag" not in distribution.columns:
        return []
    rows = distribution[distribution["flag"].astype(str) == flag]
    out = []
    for _, row in rows.iterrows():
        out.append(f"{row['label']} ({fmt.count(row.get('predicted_count'))} predicted, {fmt.count(row.get('true_count'))} true)")
    return out


def _listing(items: list[str]) -> str:
    shown = "; ".join(items[:MAX_FLAGGED_SHOWN])
    if len(items) > MAX_FLAGGED_SHOWN:
        shown += f"; and {len(items) - MAX_FLAGGED_SHOWN} more"
    return shown


def regression_summary_lines(result: Mapping) -> list[tuple[str, str]]:
    """(name, sentence) pairs of a regression run's summary."""
    metrics = result.get("metrics") or {}
    baselines = result.get("baselines") or {}
    intervals = result.get("confidence_intervals") or {}
    level = fmt.pct(intervals.get("level"), 0) if intervals.get("level") is not None else "95%"

    def with_ci(key: str) -> str:
        ci = fmt.interval(intervals.get(key))
        return fmt.num(metrics.get(key)) + (f"  ({level} interval {ci})" if ci else "")

    return [
        ("Rows", f"{fmt.count(result.get('n_samples'))} (regression)"),
        ("R²", with_ci("r2")),
        ("RMSE", with_ci("rmse")),
        ("MAE", with_ci("mae")),
        ("Baseline", f"always predicting the mean ({fmt.num(baselines.get('mean_value'))}): "
                     f"RMSE {fmt.num(baselines.get('mean_predictor_rmse'))}, "
                     f"MAE {fmt.num(baselines.get('mean_predictor_mae'))}"),
        ("Residuals", f"mean {fmt.num(metrics.get('residual_mean'))} (target − prediction), "
                      f"std {fmt.num(metrics.get('residual_std'))}, "
                      f"largest |error| {fmt.num(metrics.get('max_error'))}"),
    ]


def threshold_summary_line(result: Mapping) -> tuple[str, str] | None:
    section = result.get("thresholds")
    if not section:
        return None
    chosen = section.get("chosen") or {}
    parts = []
    for key, name in (("best_f1", "best F1"), ("youden_j", "Youden's J"), ("min_recall", "recall ≥ "),
                      ("min_cost", "lowest cost")):
        row = chosen.get(key)
        if row:
            label = name + (fmt.num(section.get("min_recall"), 2) if key == "min_recall" else "")
            parts.append(f"{label} at {fmt.num(row.get('threshold'), 3)}")
    applied = "" if result.get("threshold") is None else f"applied {result['threshold']:g}; "
    return ("Thresholds", applied + ", ".join(parts) + " (modelqa thresholds RUN_DIR for more)")


def summary_lines(result: Mapping, distribution: pd.DataFrame | None) -> list[tuple[str, str]]:
    """(name, sentence) pairs of the summary, without styling."""
    if result.get("task") == "regression":
        return regression_summary_lines(result)
    metrics = result.get("metrics") or {}
    baselines = result.get("baselines") or {}
    intervals = result.get("confidence_intervals") or {}
    n = int(result.get("n_samples") or 0)
    labels = result.get("labels") or []
    level = fmt.pct(intervals.get("level"), 0) if intervals.get("level") is not None else "95%"

    accuracy = fmt.num(metrics.get("accuracy"))
    acc_ci = fmt.interval(intervals.get("accuracy"))
    f1 = fmt.num(metrics.get("f1_macro"))
    f1_ci = fmt.interval(intervals.get("f1_macro"))
    correct = None
    if not fmt.is_missing(metrics.get("accuracy")) and n:
        correct = int(round(float(metrics["accuracy"]) * n))
    lines = [
        ("Rows", f"{fmt.count(n)} ({result.get('task') or '—'}, {len(labels)} classes)"),
        ("Accuracy", accuracy + (f"  ({level} interval {acc_ci})" if acc_ci else "")),
        ("Macro F1", f1 + (f"  ({level} interval {f1_ci})" if f1_ci else "")),
    ]
    majority_label = baselines.get("majority_label")
    majority = fmt.num(baselines.get("majority_accuracy"))
    if majority_label is not None:
        majority += f" (always “{majority_label}”)"
    lines.append(("Baselines", f"chance {fmt.num(baselines.get('chance_accuracy'))} (by class frequency), "
                               f"uniform {fmt.num(baselines.get('uniform_accuracy'))} (1/{len(labels) or '?'}), "
                               f"majority {majority}"))
    if isinstance(baselines.get("simple"), Mapping):
        lines.append(("Simple baseline", simple_baseline_line(baselines["simple"])))
    if correct is not None:
        errors = n - correct
        lines.append(("Errors", f"{fmt.count(errors)} of {fmt.count(n)} ({fmt.pct(errors / n)})"))
    over = _flagged(distribution, "over-predicted")
    under = _flagged(distribution, "under-predicted")
    if over:
        lines.append(("Over-predicted", _listing(over)))
    if under:
        lines.append(("Under-predicted", _listing(under)))
    threshold_line = threshold_summary_line(result)
    if threshold_line:
        lines.append(threshold_line)
    return lines


def simple_baseline_line(simple: Mapping) -> str:
    """``baselines.simple`` of metrics.json (analysis/simple_baseline.py) in one sentence."""
    if simple.get("status") != "done":
        return f"{simple.get('name', 'simple baseline')}: skipped ({simple.get('reason', 'no reason given')})"
    m, ci = simple.get("metrics") or {}, simple.get("confidence_intervals") or {}
    return (f"{simple.get('name')}: accuracy {fmt.num(m.get('accuracy'))} ({fmt.interval(ci.get('accuracy'))}), "
            f"macro F1 {fmt.num(m.get('f1_macro'))} ({fmt.interval(ci.get('f1_macro'))}); "
            f"{(simple.get('comparison') or {}).get('summary', '')}")


def print_summary(
    result: Mapping,
    *,
    distribution: pd.DataFrame | None,
    paths: Mapping[str, str],
    console: Console | None = None,
    extra: Mapping[str, str] | None = None,
) -> None:
    """Print what a person would write after an evaluation: scores, baselines, errors,
    classes the model leans towards or away from, and where the output files are."""
    console = console or Console()
    table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for name, sentence in summary_lines(result, distribution):
        table.add_row(Text(name), Text(sentence))
    for name, value in (extra or {}).items():
        table.add_row(Text(str(name)), Text(str(value)))
    console.print(Text("Evaluation summary", style="bold underline"))
    console.print(table)
    if paths:
        files = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 0))
        files.add_column(style="bold", no_wrap=True)
        files.add_column(overflow="fold")
        for name, path in paths.items():
            files.add_row(Text(str(name)), Text(str(path)))
        console.print(Text("Files", style="bold underline"))
        console.print(files)


def print_thresholds(doc: Mapping, *, console: Console | None = None, path: str | None = None) -> None:
    """The ``modelqa thresholds`` table: a 0.1 grid plus the chosen thresholds, marked."""
    console = console or Console()
    section = doc.get("thresholds") or doc
    grid = section.get("grid") or {}
    rows: list[tuple[float, str, dict]] = []
    thresholds = grid.get("threshold") or []
    for i, t in enumerate(thresholds):
        if i % 10 == 0:
            rows.append((float(t), "", {k: (v[i] if isinstance(v, list) else None) for k, v in grid.items()}))
    chosen = dict(section.get("chosen") or {})
    if section.get("applied"):
        chosen["applied"] = section["applied"]
    names = {"best_f1": "best F1", "youden_j": "Youden's J",
             "min_recall": f"recall ≥ {fmt.num(section.get('min_recall'), 2)}, best precision",
             "min_cost": "lowest cost", "applied": "applied"}
    for key, row in chosen.items():
        if row:
            rows.append((float(row["threshold"]), names.get(key, key), row))
    rows.sort(key=lambda r: (r[0], r[1] == ""))
    costs = section.get("costs") or {}
    table = Table(title=None, show_lines=False)
    # short headers so the table fits 80 columns with the "chosen" names readable
    for col in ("p ≥", "chosen", "prec.", "recall", "F1", "spec.", "pred. +", "cost"):
        table.add_column(col, justify="left" if col == "chosen" else "right", no_wrap=col != "chosen",
                         min_width=12 if col == "chosen" else None)
    for t, name, row in rows:
        style = "bold" if name else None
        table.add_row(Text(f"{t:.4f}" if name else f"{t:.2f}"), Text(name), Text(fmt.num(row.get("precision"))),
                      Text(fmt.num(row.get("recall"))), Text(fmt.num(row.get("f1"))),
                      Text(fmt.num(row.get("specificity"))), Text(fmt.pct(row.get("predicted_positive_rate"))),
                      Text(fmt.num(row.get("cost"))), style=style)
    pos = section.get("positive_label")
    head = (f"Positive class “{pos}”: " if pos else "") + (
        f"{fmt.count(section.get('n_positive'))} of {fmt.count(section.get('n_samples'))} rows; "
        f"predicted positive when p ≥ threshold (p ≥: the threshold, prec. = precision, spec. = specificity, "
        f"pred. + = share predicted positive, cost per row); cost "
        + ", ".join(f"{k}={v:g}" for k, v in costs.items()))
    console.print(Text("Decision thresholds", style="bold underline"))
    console.print(Text(head))
    console.print(table)
    min_cost = chosen.get("min_cost") or {}
    neg = min_cost.get("cost_all_negative")
    if neg is not None and min_cost.get("cost") is not None and neg < min_cost["cost"]:
        console.print(Text(f"Note: predicting no row positive costs {fmt.num(neg)} per row, less than any "
                           "threshold."))
    if path:
        console.print(Text(f"Wrote {path}"))


def _plain(value):
    """JSON-safe copy: numpy scalars to Python, NaN / inf to None."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def print_json(result: Mapping, *, file: IO[str] | None = None) -> None:
    """Write ``result`` as plain JSON (no colours, UTF-8 text, NaN as null) to stdout."""
    out = file or sys.stdout
    out.write(json.dumps(_plain(result), indent=2, ensure_ascii=False, allow_nan=False, default=str) + "\n")
    out.flush()


class _RateColumn(ProgressColumn):
    """'1,234 rows/s' from rich's own speed estimate."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text("— rows/s", style="progress.data.speed")
        return Text(f"{speed:,.0f} rows/s", style="progress.data.speed")


class RichProgress:
    """The progress protocol (modelqa._types.Progress) drawn as a rich bar on stderr."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._progress: Progress | None = None
        self._task = None

    def start(self, total: int, description: str) -> None:
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                _RateColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            )
            self._progress.start()
        elif self._task is not None:
            self._progress.stop_task(self._task)
        self._task = self._progress.add_task(str(description), total=max(int(total), 0))

    def advance(self, n: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
        self._progress = None
        self._task = None

    def log(self, message: str) -> None:
        target = self._progress.console if self._progress is not None else self.console
        target.print(Text(str(message)))


def make_progress(quiet: bool) -> ProgressProtocol:
    """RichProgress, or NullProgress when ``quiet``."""
    return NullProgress() if quiet else RichProgress()
