"""The console table of ``modelqa check``: every result, worst first (from check.json)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import IO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

STYLE = {"fail": "bold red", "error": "bold magenta", "warn": "yellow", "pass": "green", "skipped": "dim"}
MAX_ROWS = 60
WIDE = 150


def _num(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def print_check_table(doc: Mapping, *, file: IO[str] | None = None, paths: Mapping[str, str] | None = None,
                      show_passed: bool = True) -> None:
    """Status table (worst first; at most ``MAX_ROWS`` rows, the rest counted) and the summary line."""
    console = Console(file=file or sys.stdout, soft_wrap=False)
    if not console.is_terminal:  # CI logs and files: wide enough for the table, never squeezed to 80
        console.width = WIDE
    results = [r for r in doc["results"] if show_passed or r["status"] not in ("pass",)]
    table = Table(title=f"modelqa check: {doc['status'].upper()}", title_style=STYLE.get(doc["status"], ""),
                  show_lines=False, header_style="bold")
    for col, kw in (("status", {"no_wrap": True}), ("check", {"no_wrap": True}),
                    ("target", {"overflow": "fold", "max_width": 24}), ("metric", {"overflow": "fold", "max_width": 22}),
                    ("value", {"justify": "right", "no_wrap": True}), ("threshold", {"justify": "right", "no_wrap": True}),
                    ("q", {"justify": "right", "no_wrap": True}), ("n", {"justify": "right", "no_wrap": True}),
                    ("why", {"overflow": "fold", "min_width": 30})):
        table.add_column(col, **kw)
    for r in results[:MAX_ROWS]:
        table.add_row(f"[{STYLE.get(r['status'], '')}]{r['status']}[/]", escape(r["check"]),
                      escape(str(r.get("target") or "")), escape(str(r.get("metric") or "")), _num(r.get("value")),
                      _num(r.get("threshold")), _num(r.get("q_value")), _num(r.get("n")),
                      escape(r.get("reason") or "" if r["status"] != "fail" else ""))
    console.print(table)
    if len(results) > MAX_ROWS:
        console.print(f"… and {len(results) - MAX_ROWS} more results (check.json has them all)")
    counts = doc["summary"]
    console.print(", ".join(f"{counts[s]} {s}" for s in ("fail", "error", "warn", "pass", "skipped") if counts.get(s)))
    for name, path in (paths or {}).items():
        console.print(f"{escape(name)}: {escape(str(path))}")
