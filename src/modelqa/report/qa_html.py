"""The QA page of ``modelqa check`` (report.html of a check run), drawn from check.json only.

Status table first (worst first), then one section per category: its checks' figure
(values against thresholds, intervals, windows over time) and the examples of results that
have them. The page is self-contained, escapes every value from the data, and stays small:
at most ``MAX_TABLE_ROWS`` rows in the status table and 20 examples per result.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import jinja2
from markupsafe import Markup

from modelqa._atomic import write_text
from modelqa.report.figures import figure_to_data_uri
from modelqa.report.qa_figures import check_bars, window_series

MAX_TABLE_ROWS = 500
MAX_EXAMPLE_RESULTS = 40
CSP = Markup("default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")
CATEGORY_TITLES = {
    "integrity": "Data integrity", "leakage": "Leakage", "drift": "Drift", "label_issues": "Label issues",
    "slices": "Weak slices", "performance": "Performance conditions", "regression": "Regression against the baseline",
    "windows": "Monitoring windows", "behaviour": "Behaviour tests",
}


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("modelqa.report", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = _fmt
    return env


def _sections(results: list[Mapping]) -> list[dict]:
    by_category: dict[str, list[Mapping]] = {}
    for r in results:
        by_category.setdefault(r["category"], []).append(r)
    sections = []
    shown_examples = 0
    for category, rows in by_category.items():
        figures = []
        by_check: dict[str, list[Mapping]] = {}
        for r in rows:
            by_check.setdefault(r["check"], []).append(r)
        for check, check_rows in by_check.items():
            fig = window_series(check_rows, title=check) if category == "windows" else None
            fig = fig or check_bars(check_rows, title=check)
            if fig is not None:
                figures.append({"title": check, "src": figure_to_data_uri(fig, dpi=90)})
        examples = []
        for r in rows:
            if r.get("examples") and shown_examples < MAX_EXAMPLE_RESULTS and r["status"] in ("fail", "warn", "pass"):
                keys = list(dict.fromkeys(k for ex in r["examples"] for k in ex))
                examples.append({"id": r["id"], "status": r["status"], "keys": keys,
                                 "rows": [[ex.get(k) for k in keys] for ex in r["examples"][:20]]})
                shown_examples += 1
        counts = {s: sum(r["status"] == s for r in rows) for s in ("fail", "error", "warn", "pass", "skipped")}
        sections.append({"id": category, "title": CATEGORY_TITLES.get(category, category), "rows": rows,
                         "figures": figures, "examples": examples, "counts": counts})
    return sections


def render_qa_report(doc: Mapping) -> str:
    results = list(doc["results"])
    inputs = doc.get("inputs") or {}
    context = {
        "doc": doc, "csp": CSP, "status": doc["status"], "summary": doc["summary"],
        "table": results[:MAX_TABLE_ROWS], "more": max(0, len(results) - MAX_TABLE_ROWS),
        "sections": _sections(results),
        "inputs": [(name, (inputs.get(name) or {}).get("path") or "(a DataFrame)", (inputs.get(name) or {}).get("rows"))
                   for name in ("reference", "current") if inputs.get(name)],
        "model": inputs.get("model"), "baseline": inputs.get("baseline"),
    }
    return _environment().get_template("qa.html").render(**context)


def write_qa_report(doc: Mapping, path: str | Path) -> Path:
    write_text(path, render_qa_report(doc))
    return Path(path)
