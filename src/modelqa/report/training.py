"""Console summary of a training run: data, token lengths, the per-epoch history table,
the restored best epoch, and the test-split evaluation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

HISTORY_COLUMNS = ("train_loss", "val_loss", "val_accuracy", "val_f1_macro", "learning_rate", "seconds")


def history_table(history: Sequence[Mapping], best_epoch: int) -> Table:
    table = Table(title="Training history", title_justify="left")
    table.add_column("epoch", justify="right")
    for col in HISTORY_COLUMNS:
        table.add_column(col, justify="right")
    for row in history:
        cells = [f"{row['epoch']}" + (" *" if row["epoch"] == best_epoch else "")]
        for col in HISTORY_COLUMNS:
            v = row.get(col)
            cells.append("—" if v is None else (f"{v:.2e}" if col == "learning_rate" else
                                                f"{v:.1f}" if col == "seconds" else f"{v:.4f}"))
        table.add_row(*cells, style="bold" if row["epoch"] == best_epoch else None)
    return table


def print_training_summary(*, model_dir: str, labels: Sequence[str], split_sizes: Mapping[str, int],
                           cleaning: Mapping[str, int], length_stats: Mapping, history: Sequence[Mapping],
                           best_epoch: int, notes: Sequence[str], seconds: float,
                           console: Console | None = None, diagnosis: Sequence[str] = ()) -> None:
    """``diagnosis``: sentences about the learning curves (analysis.curves), printed under
    the history table."""
    console = console or Console()
    console.print(Text("Training summary", style="bold underline"))
    console.print(f"Classes ({len(labels)}): {', '.join(map(str, labels))}")
    console.print("Rows: " + ", ".join(f"{k} {v}" for k, v in split_sizes.items())
                  + f"  (dropped {cleaning.get('missing', 0)} with missing text or label, "
                    f"{cleaning.get('duplicates', 0)} duplicate texts)")
    if length_stats:
        console.print(f"Token lengths: median {length_stats['median']:.0f}, p95 {length_stats['p95']:.0f}, "
                      f"p99 {length_stats['p99']:.0f}, max {length_stats['max']}; max_length "
                      f"{length_stats.get('max_length')} ({length_stats.get('truncated_train_rows', 0)} "
                      "training texts truncated)")
    console.print(history_table(history, best_epoch))
    console.print(f"Best epoch: {best_epoch} (marked *), restored and saved to {model_dir}")
    print_diagnosis(console, diagnosis)
    for note in notes:
        console.print(f"Note: {note}")
    console.print(f"Took {seconds:.0f}s")


def print_diagnosis(console: Console, diagnosis: Sequence[str]) -> None:
    """The learning-curve findings (analysis.curves) as a short list under a heading."""
    if diagnosis:
        console.print(Text("Learning curves", style="bold"))
        for line in diagnosis:
            console.print(Text(f"- {line}"))
