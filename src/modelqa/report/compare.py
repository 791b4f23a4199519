"""The console view of ``modelqa compare``: deltas, McNemar's test, per-class deltas, flipped rows.

Reads the compare.json document only; judges nothing (no pass / fail). Data-derived text goes
to rich as ``Text``, never as markup.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Console
from rich.table import Table
from rich.text import Text

from modelqa.report import formatting as fmt

#: shown first, in this order; the rest follow in the document's order
HEADLINE = ("accuracy", "f1_macro", "balanced_accuracy", "precision_macro", "recall_macro", "mcc",
            "cohen_kappa", "precision", "recall", "f1", "log_loss", "brier_score", "roc_auc_ovr_macro")
FLIPS_SHOWN = 10
TEXT_WIDTH = 30
HEADERS = {"true_label": "true", "a_label": "A", "b_label": "B"}


def _signed(value, digits: int = 4) -> str:
    return fmt.MISSING if fmt.is_missing(value) else f"{float(value):+.{digits}f}"


def _p(value) -> str:
    if fmt.is_missing(value):
        return fmt.MISSING
    return f"{float(value):.2e}" if float(value) < 1e-3 else f"{float(value):.3f}"


def _interval(bounds) -> str:
    if not isinstance(bounds, list | tuple) or len(bounds) != 2 or any(fmt.is_missing(b) for b in bounds):
        return ""
    return f"{_signed(bounds[0])}…{_signed(bounds[1])}"


def _cell(key: str, value) -> str:
    text = str(value)
    return text[:TEXT_WIDTH - 1] + "…" if key == "text" and len(text) > TEXT_WIDTH else text


def _ordered(metrics: Mapping) -> list[str]:
    return [m for m in HEADLINE if m in metrics] + [m for m in metrics if m not in HEADLINE]


def print_comparison(doc: Mapping, *, console: Console | None = None, paths: Mapping | None = None) -> None:
    """Print the comparison of run B with run A (deltas B − A) for a person."""
    console = console or Console()
    a, b = doc["run_a"], doc["run_b"]
    level = fmt.pct(doc.get("confidence_level"), 0)
    console.print(Text("Comparison of two runs on the same rows", style="bold underline"))
    console.print(Text(f"A: {a['path']}\nB: {b['path']}\n{fmt.count(doc['n'])} rows, matched by "
                       f"{doc.get('aligned_by')}; Δ = B − A; paired bootstrap over the rows "
                       f"({fmt.count(doc.get('n_resamples'))} resamples, {level} intervals)"))

    table = Table(title=None, caption="↓ lower is better")
    table.add_column("metric", overflow="fold")
    for col in ("A", "B", "Δ B − A", f"{level} interval", "p"):
        table.add_column(col, justify="right", no_wrap=True)
    metrics = doc.get("metrics") or {}
    for name in _ordered(metrics):
        m = metrics[name]
        label = name + (" ↓" if m.get("lower_is_better") else "")
        table.add_row(Text(label), Text(fmt.num(m.get("a"), 4)), Text(fmt.num(m.get("b"), 4)),
                      Text(_signed(m.get("delta"))), Text(_interval(m.get("interval"))), Text(_p(m.get("p_value"))))
    console.print(table)

    mc = doc.get("mcnemar") or {}
    console.print(Text(
        f"McNemar's exact test: {fmt.count(mc.get('b_right_to_wrong'))} rows right in A and wrong in B, "
        f"{fmt.count(mc.get('c_wrong_to_right'))} wrong in A and right in B "
        f"({fmt.count(mc.get('both_right'))} right in both, {fmt.count(mc.get('both_wrong'))} wrong in both); "
        f"two-sided p = {_p(mc.get('p_value'))}"))

    per_class = doc.get("per_class") or {}
    if per_class:
        classes = Table(title=None)
        for col in ("class", "support", "recall A", "recall B", "Δ recall", f"{level} interval", "Δ F1"):
            classes.add_column(col, justify="left" if col == "class" else "right", no_wrap=col != "class")
        for label, row in per_class.items():
            recall, f1 = row.get("recall") or {}, row.get("f1") or {}
            classes.add_row(Text(str(label)), Text(fmt.count(row.get("support"))), Text(fmt.num(recall.get("a"))),
                            Text(fmt.num(recall.get("b"))), Text(_signed(recall.get("delta"), 3)),
                            Text(_interval(recall.get("interval"))), Text(_signed(f1.get("delta"), 3)))
        console.print(Text("Per class", style="bold"))
        console.print(classes)

    flips = doc.get("flips") or {}
    for kind, title in (("right_to_wrong", "right in A, wrong in B"), ("wrong_to_right", "wrong in A, right in B")):
        block = flips.get(kind) or {}
        examples = block.get("examples") or []
        console.print(Text(f"Rows {title}: {fmt.count(block.get('count', 0))}", style="bold"))
        if not examples:
            continue
        rows = Table(title=None)
        keys = [k for k in examples[0] if k not in ("a_confidence", "b_confidence")]
        for key in keys:
            rows.add_column(HEADERS.get(key, key), overflow="ellipsis", no_wrap=True)
        for example in examples[:FLIPS_SHOWN]:
            rows.add_row(*(Text(_cell(k, example.get(k, ""))) for k in keys))
        console.print(rows)
        if block.get("count", 0) > FLIPS_SHOWN:
            console.print(Text(f"… and {fmt.count(block['count'] - FLIPS_SHOWN)} more"
                               + (" (all in tables/flips.csv)" if paths else "")))
    for path in (paths or {}).values():
        console.print(Text(f"Wrote {path}"))
