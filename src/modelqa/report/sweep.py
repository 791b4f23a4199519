"""Console table of a hyper-parameter sweep (the summary.json document), best first."""

from __future__ import annotations

from collections.abc import Mapping

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

# short column headers for swept options (the full names are in summary.csv)
HEADERS = {"batch_size": "batch", "epochs": "ep", "max_length": "max_len", "warmup_ratio": "warmup",
           "weight_decay": "decay", "class_weight": "cw"}


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


def _param(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def sweep_table(summary: Mapping) -> Table:
    monitor = summary["monitor"]
    configs = summary["configs"]
    keys = list(configs[0]["params"]) if configs else []
    arrow = "↓" if summary.get("mode") == "min" else "↑"
    table = Table(title=f"Sweep: {len(configs)} configurations ranked by best {monitor} {arrow}",
                  title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True)
    table.add_column("#", justify="right", no_wrap=True)
    for key in keys:
        table.add_column(HEADERS.get(key, key), justify="right", no_wrap=True)
    for col in (monitor, "epoch", "test acc", "seconds", "status"):
        table.add_column(col, justify="right" if col != "status" else "left", no_wrap=True)
    best_name = (summary.get("best") or {}).get("name")
    rank = 0
    for row in configs:
        ok = row["status"] == "ok"
        rank += ok
        cells = [str(rank) if ok else ""]
        cells += [_param(row["params"].get(k)) for k in keys]
        cells += [_fmt(row.get("best_value")), _fmt(row.get("best_epoch")), _fmt(row.get("test_accuracy")),
                  _fmt(row.get("seconds"), 1), Text(row["status"], style={"failed": "red", "pending": "dim"}
                                                    .get(row["status"], ""))]
        table.add_row(*cells, style="bold" if row["name"] == best_name else None)
    return table


def print_sweep_summary(summary: Mapping, *, paths: Mapping[str, str] | None = None,
                        console: Console | None = None) -> None:
    console = console or Console()
    console.print(sweep_table(summary))
    best = summary.get("best")
    if best:
        console.print(Text(f"Best: {best['name']} ({summary['monitor']} {_fmt(best['best_value'])} at epoch "
                           f"{best['best_epoch']}) → {best['run_dir']}", style="bold"))
    else:
        console.print(Text("No configuration finished.", style="red"))
    failures: dict[str, list[str]] = {}
    for row in summary["configs"]:
        if row["status"] == "failed":
            failures.setdefault(row.get("error") or "unknown error", []).append(row["name"])
    for error, names in failures.items():
        console.print(Text(f"Failed ({len(names)}): {', '.join(names)}: {error}", style="red"))
    for name, path in (paths or {}).items():
        console.print(f"{name}: {path}")
