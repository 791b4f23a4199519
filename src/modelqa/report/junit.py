"""JUnit XML for ``modelqa check``: what CI systems read to show and fail a job.

One ``testsuite`` per check category, one ``testcase`` per result (check × column / slice /
window / test) with ``classname="modelqa.<category>.<check>"`` and the check's real seconds.
fail → ``<failure>``, error → ``<error>``, skipped → ``<skipped>``; warn is a passing case
unless ``fail_on`` is "warn". Metric values are ``<property>`` elements of the suite (the
common JUnit schema allows properties only there), named ``<result id>.<field>``. The file
validates against the Apache Ant JUnit schema (tests/data/junit/JUnit.xsd).
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from modelqa._atomic import atomic_path

PROPERTY_FIELDS = ("status", "metric", "value", "threshold", "bad_when", "p_value", "q_value", "n", "test")


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def _message(r: Mapping) -> str:
    parts = [r.get("reason") or r.get("status", "")]
    if r.get("value") is not None:
        parts.append(f"{r.get('metric') or 'value'}={_fmt(r.get('value'))}")
    if r.get("threshold") is not None:
        parts.append(f"threshold={_fmt(r.get('threshold'))}")
    if r.get("q_value") is not None:
        parts.append(f"q={_fmt(r.get('q_value'))}")
    if r.get("n") is not None:
        parts.append(f"n={r.get('n')}")
    return "; ".join(p for p in parts if p)


def _detail(r: Mapping) -> str:
    lines = [_message(r)]
    if r.get("interval"):
        lo, hi = r["interval"]
        lines.append(f"interval: [{_fmt(lo)}, {_fmt(hi)}]")
    for ex in (r.get("examples") or [])[:20]:
        lines.append("example: " + ", ".join(f"{k}={_fmt(v)}" for k, v in ex.items()))
    return "\n".join(lines)


def junit_tree(results: Sequence[Mapping], *, fail_on: str = "fail", timestamp: datetime | None = None,
               hostname: str | None = None) -> ET.ElementTree:
    """The JUnit document for result dicts (``CheckResult.to_dict()``, with ``seconds``)."""
    stamp = (timestamp or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S")
    host = hostname or socket.gethostname() or "localhost"
    root = ET.Element("testsuites")
    categories: dict[str, list[Mapping]] = {}
    for r in results:
        categories.setdefault(r["category"], []).append(r)
    for i, (category, rows) in enumerate(sorted(categories.items())):
        failing = {"fail"} | ({"warn"} if fail_on == "warn" else set())
        suite = ET.SubElement(root, "testsuite", {
            "name": f"modelqa.{category}", "package": "modelqa", "id": str(i), "timestamp": stamp,
            "hostname": host, "tests": str(len(rows)),
            "failures": str(sum(r["status"] in failing for r in rows)),
            "errors": str(sum(r["status"] == "error" for r in rows)),
            "skipped": str(sum(r["status"] == "skipped" for r in rows)),
            "time": f"{sum(float(r.get('seconds') or 0.0) for r in rows):.3f}",
        })
        props = ET.SubElement(suite, "properties")
        for r in rows:
            for key in PROPERTY_FIELDS:
                if r.get(key) is not None:
                    ET.SubElement(props, "property", {"name": f"{r['id']}.{key}", "value": _fmt(r[key])})
        for r in rows:
            check = r["check"].split(".", 1)[-1]
            case = ET.SubElement(suite, "testcase", {
                "name": str(r.get("target") or r["check"]), "classname": f"modelqa.{category}.{check}",
                "time": f"{float(r.get('seconds') or 0.0):.3f}"})
            status = r["status"]
            if status in failing:
                ET.SubElement(case, "failure", {"message": _message(r), "type": status}).text = _detail(r)
            elif status == "error":
                ET.SubElement(case, "error", {"message": r.get("reason") or "error", "type": "error"}).text = \
                    r.get("reason") or ""
            elif status == "skipped":
                ET.SubElement(case, "skipped", {"message": r.get("reason") or "skipped"})
        ET.SubElement(suite, "system-out").text = "\n".join(f"{r['status']}: {r['id']}: {_message(r)}" for r in rows)
        ET.SubElement(suite, "system-err").text = ""
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(run, path: Path) -> Path:
    """Write the JUnit file of a ``CheckRun`` atomically."""
    results = [r.to_dict() for r in run.ordered]
    tree = junit_tree(results, fail_on=run.fail_on)
    with atomic_path(path) as tmp:
        tree.write(tmp, encoding="utf-8", xml_declaration=True)
    return Path(path)
