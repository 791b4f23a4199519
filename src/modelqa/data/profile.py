"""``profile``: what a person checks in a table before training on it (a JSON-safe dict).

Rows, columns, each column's dtype as read and kind as inferred (the rules of
``modelqa.data.tabular.infer_kind``), missing values (blank strings count), categories,
numeric summaries, the target's distribution, likely ID columns, and numbers stored as text
with a few offending values and their rows. See docs/tabular.md.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from modelqa.data.schema import normalize_label, require_columns
from modelqa.data.tabular import _cells, _is_text_source, infer_kind, infer_task, parse_numbers

SCHEMA_VERSION = 1
MAX_VALUES = 20  # categories listed per column


def _num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def numeric_summary(values: np.ndarray) -> dict:
    v = values[np.isfinite(values)]
    if not len(v):
        return {"count": 0, "mean": None, "std": None, "min": None, "p25": None, "median": None, "p75": None,
                "max": None}
    q = np.percentile(v, [25, 50, 75])
    return {"count": int(len(v)), "mean": _num(v.mean()), "std": _num(v.std(ddof=1)) if len(v) > 1 else None,
            "min": _num(v.min()), "p25": _num(q[0]), "median": _num(q[1]), "p75": _num(q[2]), "max": _num(v.max())}


def _top_values(series: pd.Series, limit: int = MAX_VALUES) -> tuple[list[dict], int]:
    counts = Counter(c for c in _cells(series) if c is not None)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [{"value": v, "count": int(n)} for v, n in ordered[:limit]], max(0, len(ordered) - limit)


def profile_table(df: pd.DataFrame, *, target: str | None = None, path: str | os.PathLike | None = None,
                  id_cols: list[str] | None = None) -> dict:
    """The profile document (schema_version 1)."""
    source = df.attrs.get("source") or {}
    where = path if path is not None else source.get("path", "data")
    if target is not None:
        require_columns(df, {"target": target}, path=where)
    text_source = _is_text_source(df)
    n = len(df)
    columns: list[dict] = []
    ids: list[dict] = []
    as_text: list[dict] = []
    for col in df.columns:
        series = df[col]
        info = infer_kind(series, name=str(col), text_source=text_source, forced_id=col in (id_cols or []))
        entry: dict[str, Any] = {
            "name": str(col), "dtype_read": info.dtype_read, "kind": info.kind, "reason": info.reason,
            "missing": info.n_missing, "missing_share": _num(info.n_missing / n) if n else None,
            "unique": info.n_unique, "is_target": col == target,
        }
        if info.kind in ("numeric", "numeric_text"):
            values, _ = parse_numbers(series)
            entry["summary"] = numeric_summary(values)
        if info.kind in ("categorical", "boolean", "constant") or col == target:
            entry["values"], entry["more_values"] = _top_values(series)
        if info.kind == "numeric_text":
            bad = [{"row": r, "value": v} for r, v in info.bad_numbers]
            entry["not_numbers"] = {"count": info.n_bad_numbers, "examples": bad}
            as_text.append({"name": str(col), "not_numbers": info.n_bad_numbers, "examples": bad,
                            "reason": info.reason})
        if info.kind == "id" and col != target:
            ids.append({"name": str(col), "reason": info.reason})
        columns.append(entry)
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "path": str(where), "format": source.get("format"),
        "rows": n, "columns": len(df.columns), "target": target, "column_profiles": columns,
        "id_columns": ids, "numeric_as_text": as_text,
        "missing_total": int(sum(c["missing"] for c in columns)),
    }
    if target is not None:
        doc["target_distribution"] = target_distribution(df[target])
    return doc


def target_distribution(series: pd.Series) -> dict:
    """The inferred task and the share per class, or a numeric summary for a regression target."""
    labels = [normalize_label(v) for v in series.tolist()]
    present = [x for x in labels if x is not None]
    task, reason = infer_task(present)
    out: dict[str, Any] = {"task": task, "reason": reason, "missing": len(labels) - len(present)}
    if task == "regression":
        values, _ = parse_numbers(pd.Series(present, dtype=object))
        out["summary"] = numeric_summary(values)
        return out
    counts = Counter(present)
    from modelqa.data.schema import _natural_key

    out["classes"] = [{"label": k, "count": int(counts[k]), "share": _num(counts[k] / len(present))}
                      for k in sorted(counts, key=_natural_key)]
    return out
