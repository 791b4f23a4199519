"""Console tables for ``modelqa profile`` and the tabular parts of ``train tabular``'s summary.

Data-derived text (column names, values) goes to rich as ``Text``, never as markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from modelqa.report import formatting as fmt
from modelqa.report.training import print_diagnosis

MAX_VALUES_SHOWN = 6


def _values(entry: Mapping) -> str:
    values = entry.get("values") or []
    shown = ", ".join(f"{v['value']} ({v['count']})" for v in values[:MAX_VALUES_SHOWN])
    more = len(values) - MAX_VALUES_SHOWN + int(entry.get("more_values") or 0)
    return shown + (f", +{more} more" if more > 0 else "")


def _summary(entry: Mapping) -> str:
    s = entry.get("summary")
    if not s or not s.get("count"):
        return ""
    return (f"min {fmt.num(s['min'])}, median {fmt.num(s['median'])}, mean {fmt.num(s['mean'])}, "
            f"max {fmt.num(s['max'])}")


def columns_table(doc: Mapping) -> Table:
    table = Table(title="Columns", title_justify="left")
    for name, justify in (("column", "left"), ("as read", "left"), ("inferred", "left"), ("missing", "right"),
                          ("unique", "right"), ("values / summary", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for c in doc["column_profiles"]:
        name = c["name"] + (" (target)" if c.get("is_target") else "")
        missing = f"{c['missing']} ({fmt.pct(c['missing_share'])})" if c["missing"] else "0"
        detail = _values(c) if c.get("values") else _summary(c)
        table.add_row(Text(name), Text(c["dtype_read"]), Text(c["kind"]), Text(missing), Text(str(c["unique"])),
                      Text(detail))
    return table


def target_table(dist: Mapping, target: str) -> Table:
    table = Table(title=f"Target {target!r}: {dist['task']} ({dist['reason']})", title_justify="left")
    if dist.get("classes") is not None:
        table.add_column("class")
        table.add_column("rows", justify="right")
        table.add_column("share", justify="right")
        for c in dist["classes"]:
            table.add_row(Text(c["label"]), Text(str(c["count"])), Text(fmt.pct(c["share"])))
    else:
        table.add_column("statistic")
        table.add_column("value", justify="right")
        for key, value in (dist.get("summary") or {}).items():
            table.add_row(Text(key), Text(fmt.num(value)))
    return table


def print_profile(doc: Mapping, *, console: Console | None = None, out_path: str | None = None) -> None:
    console = console or Console()
    console.print(Text(f"Profile of {doc['path']}", style="bold underline"))
    console.print(Text(f"{doc['rows']} rows, {doc['columns']} columns, {doc['missing_total']} missing cells "
                       "(blank strings count as missing)"))
    console.print(columns_table(doc))
    if doc.get("target_distribution"):
        console.print(target_table(doc["target_distribution"], doc["target"]))
        if doc["target_distribution"].get("missing"):
            console.print(Text(f"{doc['target_distribution']['missing']} row(s) have no target value; training "
                               "leaves them out"))
    for ident in doc.get("id_columns") or []:
        console.print(Text(f"Likely ID column: {ident['name']} ({ident['reason']}); training drops it"))
    for col in doc.get("numeric_as_text") or []:
        examples = ", ".join(f"row {e['row']}: {e['value']}" for e in col["examples"])
        console.print(Text(f"Numbers stored as text: {col['name']} ({col['reason']}"
                           + (f"; e.g. {examples}" if examples else "") + "); training reads them as numbers"))
    if out_path:
        console.print(Text(f"Written: {out_path}"))


def history_table(history: Sequence[Mapping], best_epoch: int, task: str) -> Table:
    cols = (("train_loss", "val_loss", "val_rmse") if task == "regression"
            else ("train_loss", "val_loss", "val_accuracy", "val_f1_macro"))
    table = Table(title="Training history", title_justify="left")
    table.add_column("epoch", justify="right")
    for col in (*cols, "seconds"):
        table.add_column(col, justify="right")
    for row in history:
        best = row["epoch"] == best_epoch
        cells = [f"{row['epoch']}" + (" *" if best else "")]
        cells += ["—" if row.get(c) is None else f"{row[c]:.4f}" for c in cols]
        cells.append(f"{row.get('seconds', 0):.2f}")
        table.add_row(*cells, style="bold" if best else None)
    return table


MAX_HISTORY_ROWS = 30


def print_tabular_training(result, *, console: Console | None = None, diagnosis: Sequence[str] = ()) -> None:
    """Summary of ``train_tabular``: task, rows, dropped columns, history, best epoch, test metrics."""
    console = console or Console()
    console.print(Text("Training summary", style="bold underline"))
    labels = f": {', '.join(map(str, result.labels))}" if result.labels else ""
    console.print(Text(f"Task: {result.task} ({result.task_reason}){labels}"))
    console.print(Text("Rows: " + ", ".join(f"{k} {v}" for k, v in result.split_sizes.items())
                       + f"; {len(result.feature_columns)} input columns → {result.n_features} features"))
    for role, rows in result.dropped_rows.items():
        if rows:
            console.print(Text(f"Left out {len(rows)} row(s) of --{'data' if role == 'data' else role} with no target"))
    for d in result.dropped_columns:
        console.print(Text(f"Dropped column {d['name']}: {d['kind']} ({d['reason']})"))
    history = list(result.history)
    if len(history) > MAX_HISTORY_ROWS:  # the first epochs, the best one and the last ones
        keep = {h["epoch"] for h in history[:5] + history[-10:]} | {result.best_epoch}
        history = [h for h in history if h["epoch"] in keep]
    console.print(history_table(history, result.best_epoch, result.task))
    console.print(Text(f"Best epoch: {result.best_epoch} (marked *), restored and saved to {result.model_dir}"))
    for note in result.notes:
        console.print(Text(f"Note: {note}"))
    print_diagnosis(console, diagnosis)
    m = (result.test_metrics or {}).get("metrics")
    if m:
        keys = (("rmse", "mae", "r2") if result.task == "regression"
                else ("accuracy", "roc_auc", "recall", "f1", "f1_macro") if result.task == "binary"
                else ("accuracy", "f1_macro", "roc_auc_ovr_macro"))
        shown = ", ".join(f"{k} {fmt.num(m.get(k))}" for k in keys if k in m)
        console.print(Text(f"Test split: {shown}  ({result.evaluation_dir})"))
    console.print(Text(f"Took {result.seconds:.1f}s"))
