"""Tabular preprocessing learned on the training split and saved as JSON with the model.

Column kinds (``infer_kind``; the same rules the profile reports, see docs/tabular.md):

- ``numeric``: a number column (numeric dtype, or text cells that all parse as numbers in a
  CSV / TSV / JSON file, which are read as text);
- ``numeric_text``: numbers stored as text: at least 90% of the non-missing cells parse as
  numbers but some do not (a blank ``" "``, ``"n/a"``) or the file has types (Parquet, Excel)
  and stored them as strings. Cells that do not parse become missing;
- ``boolean``: a bool column, or two values that are a yes/no pair (Yes/No, Y/N, True/False, T/F);
- ``id``: one value per row (no repeats, none missing) with an id-like name (``id``, ``*_id``,
  ``customerID``, ``uuid``, ``key``, ``index``), or short unique strings without spaces, or
  consecutive integers; also any column passed as ``id_cols``. Dropped, and reported;
- ``text``: free text (over half the values distinct and long or multi-word). Dropped;
- ``categorical``: everything else; ``constant`` / ``empty`` columns are dropped.

Missing means None / NaN or a string of only white space.

Learned on the training rows: numeric medians (imputation) then mean / standard deviation
(scaling); the most frequent value of boolean and categorical columns (imputation); the
categories (the ``max_categories`` most frequent) for one-hot encoding. A category not seen in
training becomes all zeros in its one-hot block, and is counted per column in the report.

The target (``TargetEncoder``, ``infer_task``, ``regression_values``) and the number parser
lives in data.target and is re-exported here.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelqa.data.schema import (
    as_text,
    require_columns,
    row_numbers,
)
from modelqa.data.target import (  # noqa: F401  (re-exported: the target half of tabular preprocessing)
    REGRESSION_MIN_DISTINCT,
    REGRESSION_MIN_UNIQUE_SHARE,
    TASKS,
    TargetEncoder,
    infer_task,
    parse_numbers,
    regression_values,
)
from modelqa.errors import DataError, UsageError

SCHEMA_VERSION = 1
YES_NO = ({"yes", "no"}, {"y", "n"}, {"true", "false"}, {"t", "f"})
TRUE_WORDS = frozenset({"yes", "y", "true", "t"})
NUMERIC_SHARE = 0.9  # share of non-missing cells that must parse for a text column to be numeric
MAX_CATEGORIES = 50
DROPPED_KINDS = frozenset({"id", "text", "constant", "empty"})
_ID_SUFFIX = re.compile(r"(ID|Id)$")


def id_like_name(name: str) -> bool:
    """``id``, ``user_id``, ``customerID``, ``CustomerId``, ``uuid``, ``key``, ``index``, ``row_id``."""
    name = str(name).strip()
    if re.fullmatch(r"(id|uuid|guid|key|index|row_?id|row_?num(ber)?|record_?id)", name, re.IGNORECASE):
        return True
    return bool(re.search(r"[_\s.-]id$", name, re.IGNORECASE) or _ID_SUFFIX.search(name))


def is_missing(value: Any) -> bool:
    """None, NaN / NA, or a string of only white space."""
    text = as_text(value)
    return text is None or not text.strip()


def _cells(series: pd.Series) -> list[str | None]:
    """Each cell as stripped text; None when missing or blank."""
    out = []
    for v in series.tolist():
        t = as_text(v)
        out.append(t.strip() if t is not None and t.strip() else None)
    return out


@dataclass(frozen=True)
class ColumnInfo:
    """What one column looks like: the kind it will be treated as, and why."""

    name: str
    dtype_read: str
    kind: str
    n_rows: int
    n_missing: int
    n_unique: int
    reason: str = ""
    bad_numbers: list[tuple[int, str]] = field(default_factory=list)  # (row, value), first few
    n_bad_numbers: int = 0


def _is_text_source(df: pd.DataFrame) -> bool:
    fmt = (df.attrs.get("source") or {}).get("format")
    return fmt in (None, "csv", "tsv", "jsonl", "json")


def infer_kind(series: pd.Series, *, name: str | None = None, text_source: bool = True,
               forced_id: bool = False) -> ColumnInfo:
    """The kind of one column (module doc). ``text_source``: the file stores every cell as text
    (CSV / TSV), so numbers read as strings are ordinary numbers there."""
    name = str(series.name if name is None else name)
    n = len(series)
    rows = row_numbers(series)
    cells = _cells(series)
    present = [c for c in cells if c is not None]
    n_missing = n - len(present)
    n_unique = len(set(present))
    info = dict(name=name, dtype_read=str(series.dtype), n_rows=n, n_missing=n_missing, n_unique=n_unique)
    unique_per_row = n >= 2 and n_missing == 0 and n_unique == n
    if forced_id:
        return ColumnInfo(kind="id", reason="named with --id-col", **info)
    if not present:
        return ColumnInfo(kind="empty", reason="every value is missing", **info)
    if pd.api.types.is_bool_dtype(series.dtype):
        kind = "boolean" if n_unique > 1 else "constant"
        return ColumnInfo(kind=kind, reason="true/false values" if n_unique > 1 else "a single value", **info)
    if n_unique == 1:
        return ColumnInfo(kind="constant", reason=f"a single value ({present[0]!r})", **info)
    lowered = {c.casefold() for c in present}
    if len(lowered) == 2 and any(lowered == pair for pair in YES_NO):
        return ColumnInfo(kind="boolean", reason="a yes/no pair: " + " / ".join(sorted(set(present))), **info)
    values, bad = parse_numbers(series)
    n_parsed = int(np.isfinite(values).sum())
    numeric_dtype = pd.api.types.is_numeric_dtype(series.dtype)
    n_bad = int(bad.sum())
    if numeric_dtype or (n_parsed and n_parsed >= NUMERIC_SHARE * (n_parsed + n_bad)):
        integral = bool(np.all(np.mod(values[np.isfinite(values)], 1) == 0))
        if unique_per_row and (id_like_name(name) or (integral and _consecutive(values))):
            why = "unique per row, id-like name" if id_like_name(name) else "unique consecutive integers"
            return ColumnInfo(kind="id", reason=why, **info)
        if numeric_dtype or (not n_bad and text_source):
            return ColumnInfo(kind="numeric", reason="numbers", **info)
        bad_rows = [(int(rows[i]), repr(series.iloc[i])) for i in np.flatnonzero(bad)[:5]]
        why = (f"{n_bad} value(s) are not numbers and become missing" if n_bad
               else "numbers stored as text in a typed file")
        return ColumnInfo(kind="numeric_text", reason=why, bad_numbers=bad_rows, n_bad_numbers=n_bad, **info)
    if unique_per_row or (id_like_name(name) and n_unique >= 0.95 * n):
        no_spaces = all(" " not in c for c in present[:1000])
        if id_like_name(name) or (no_spaces and max(len(c) for c in present) <= 40):
            why = "unique per row, id-like name" if id_like_name(name) else "unique short codes, one per row"
            return ColumnInfo(kind="id", reason=why, **info)
    if n_unique > 0.5 * len(present) and n_unique > 20:
        mean_len = float(np.mean([len(c) for c in present]))
        spaced = float(np.mean([" " in c for c in present]))
        if mean_len > 30 or spaced > 0.5:
            return ColumnInfo(kind="text", reason=f"free text ({n_unique} distinct values, mean length "
                                                  f"{mean_len:.0f})", **info)
    return ColumnInfo(kind="categorical", reason=f"{n_unique} categories", **info)


def _consecutive(values: np.ndarray) -> bool:
    v = values[np.isfinite(values)]
    return len(v) >= 2 and float(v.max() - v.min() + 1) == float(len(v))


# ------------------------------------------------------------------ preprocessor


@dataclass
class TransformReport:
    """What ``Preprocessor.transform`` had to do to the rows."""

    n_rows: int
    imputed: dict[str, int] = field(default_factory=dict)
    unseen_categories: dict[str, int] = field(default_factory=dict)
    unseen_examples: dict[str, list[str]] = field(default_factory=dict)
    not_numbers: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"n_rows": self.n_rows, "imputed": dict(self.imputed),
                "unseen_categories": dict(self.unseen_categories),
                "unseen_examples": {k: list(v) for k, v in self.unseen_examples.items()},
                "not_numbers": dict(self.not_numbers)}


class Preprocessor:
    """Feature columns → a float32 matrix (module doc). ``fit`` on the training rows only."""

    def __init__(self, *, id_cols: Sequence[str] | None = None, max_categories: int = MAX_CATEGORIES) -> None:
        self.id_cols = list(id_cols or [])
        self.max_categories = int(max_categories)
        self.columns: list[dict] = []
        self.dropped: list[dict] = []
        self.target: TargetEncoder | None = None
        self.fit_report: dict = {}

    # -------------------------------------------------------------- fitting
    def fit(self, df: pd.DataFrame, target: str | None = None, *, task: str | None = None,
            labels: Sequence[str] | None = None, path: str | os.PathLike = "data") -> Preprocessor:
        if target is not None:
            require_columns(df, {"target": target}, path=path)
        missing_ids = [c for c in self.id_cols if c not in df.columns]
        if missing_ids:
            raise DataError(f"{path}: `id_cols` names column(s) the file does not have: "
                            + ", ".join(repr(c) for c in missing_ids))
        text_source = _is_text_source(df)
        self.columns, self.dropped = [], []
        for col in df.columns:
            if col == target:
                continue
            info = infer_kind(df[col], name=str(col), text_source=text_source, forced_id=col in self.id_cols)
            if info.kind in DROPPED_KINDS:
                self.dropped.append({"name": str(col), "kind": info.kind, "reason": info.reason})
                continue
            self.columns.append(self._fit_column(df[col], info))
        if not self.columns:
            raise DataError(f"{path}: no feature columns left after dropping "
                            + ", ".join(f"{d['name']!r} ({d['kind']})" for d in self.dropped),
                            hint="a tabular model needs at least one numeric, yes/no or categorical column")
        if target is not None:
            self.target = TargetEncoder.fit(df[target], column=target, task=task, labels=labels, path=path)
        return self

    def _fit_column(self, series: pd.Series, info: ColumnInfo) -> dict:
        name = info.name
        if info.kind in ("numeric", "numeric_text"):
            values, bad = parse_numbers(series)
            finite = values[np.isfinite(values)]
            median = float(np.median(finite))
            filled = np.where(np.isfinite(values), values, median)
            std = float(filled.std())
            return {"name": name, "kind": info.kind, "median": median, "mean": float(filled.mean()),
                    "std": std if std > 0 else 1.0, "not_numbers": int(bad.sum())}
        cells = _cells(series)
        counts = Counter(c for c in cells if c is not None)
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if info.kind == "boolean":
            if pd.api.types.is_bool_dtype(series.dtype):
                true_values = ["True"]
            else:
                true_values = sorted({c for c in counts if c.casefold() in TRUE_WORDS})
            return {"name": name, "kind": "boolean", "true_values": true_values,
                    "values": sorted(counts), "most_frequent": ordered[0][0]}
        kept = [c for c, _ in ordered[: self.max_categories]]
        return {"name": name, "kind": "categorical", "categories": sorted(kept), "most_frequent": ordered[0][0],
                "n_categories_seen": len(counts), "n_rows_other": int(sum(n for _, n in ordered[self.max_categories:]))}

    # -------------------------------------------------------------- transforming
    @property
    def feature_columns(self) -> list[str]:
        """The input columns the matrix is built from (what a table must have at predict time)."""
        return [c["name"] for c in self.columns]

    @property
    def feature_names(self) -> list[str]:
        """One name per matrix column: the column, or ``column=category`` for one-hot blocks."""
        names: list[str] = []
        for c in self.columns:
            if c["kind"] == "categorical":
                names.extend(f"{c['name']}={cat}" for cat in c["categories"])
            else:
                names.append(c["name"])
        return names

    def check_columns(self, df: pd.DataFrame, *, path: str | os.PathLike = "data") -> None:
        """A DataError naming every feature column the table lacks."""
        missing = [c for c in self.feature_columns if c not in df.columns]
        if missing:
            present = ", ".join(repr(str(c)) for c in list(df.columns)[:30])
            raise DataError(f"{path}: missing {len(missing)} column{'s' if len(missing) > 1 else ''} the model was "
                            f"trained on: {', '.join(repr(c) for c in missing)}; the file has: {present}",
                            hint="predict with a table that has the training columns (extra columns are ignored)")

    def transform(self, df: pd.DataFrame, *, path: str | os.PathLike = "data") -> tuple[np.ndarray, TransformReport]:
        if not self.columns:
            raise UsageError("Preprocessor.transform() before fit()")
        self.check_columns(df, path=path)
        report = TransformReport(n_rows=len(df))
        blocks: list[np.ndarray] = []
        for c in self.columns:
            series = df[c["name"]]
            kind = c["kind"]
            if kind in ("numeric", "numeric_text"):
                values, bad = parse_numbers(series)
                miss = ~np.isfinite(values)
                if bad.any():
                    report.not_numbers[c["name"]] = int(bad.sum())
                if miss.any():
                    report.imputed[c["name"]] = int(miss.sum())
                values = np.where(miss, c["median"], values)
                blocks.append(((values - c["mean"]) / c["std"])[:, None])
                continue
            cells = _cells(series)
            n_miss = sum(v is None for v in cells)
            if n_miss:
                report.imputed[c["name"]] = n_miss
            cells = [c["most_frequent"] if v is None else v for v in cells]
            if kind == "boolean":
                true_values = set(c["true_values"])
                known = set(c["values"])
                unseen = [v for v in cells if v not in known]
                if unseen:
                    self._count_unseen(report, c["name"], unseen)
                blocks.append(np.array([v in true_values for v in cells], dtype=np.float64)[:, None])
                continue
            index = {cat: j for j, cat in enumerate(c["categories"])}
            block = np.zeros((len(cells), len(index)), dtype=np.float64)
            unseen = []
            for i, v in enumerate(cells):
                j = index.get(v)
                if j is None:
                    unseen.append(v)
                else:
                    block[i, j] = 1.0
            if unseen:
                self._count_unseen(report, c["name"], unseen)
            blocks.append(block)
        matrix = np.hstack(blocks).astype(np.float32) if blocks else np.zeros((len(df), 0), np.float32)
        return matrix, report

    @staticmethod
    def _count_unseen(report: TransformReport, name: str, values: list[str]) -> None:
        report.unseen_categories[name] = len(values)
        report.unseen_examples[name] = [v for v, _ in Counter(values).most_common(5)]

    def encode_target(self, df: pd.DataFrame, *, path: str | os.PathLike = "data") -> np.ndarray:
        if self.target is None:
            raise UsageError("this preprocessor was fitted without a target")
        require_columns(df, {"target": self.target.column}, path=path)
        return self.target.encode(df[self.target.column], path=path)

    # -------------------------------------------------------------- JSON
    def to_dict(self) -> dict:
        return {"schema_version": SCHEMA_VERSION, "id_cols": list(self.id_cols),
                "max_categories": self.max_categories, "columns": [dict(c) for c in self.columns],
                "dropped": [dict(d) for d in self.dropped], "feature_names": self.feature_names,
                "target": self.target.to_dict() if self.target is not None else None}

    @classmethod
    def from_dict(cls, d: dict) -> Preprocessor:
        if int(d.get("schema_version", 0)) != SCHEMA_VERSION:
            raise DataError(f"preprocessing schema_version {d.get('schema_version')!r} is not supported "
                            f"(this modelqa reads {SCHEMA_VERSION})")
        pre = cls(id_cols=d.get("id_cols") or [], max_categories=int(d.get("max_categories", MAX_CATEGORIES)))
        pre.columns = [dict(c) for c in d["columns"]]
        pre.dropped = [dict(x) for x in d.get("dropped", [])]
        pre.target = TargetEncoder.from_dict(d["target"]) if d.get("target") else None
        return pre


def drop_missing_target(df: pd.DataFrame, target: str) -> tuple[pd.DataFrame, list[int]]:
    """Rows whose target is missing or blank are left out; returns (kept rows, their 1-based numbers)."""
    rows = row_numbers(df)
    miss = np.array([is_missing(v) for v in df[target].tolist()], dtype=bool)
    return df.iloc[np.flatnonzero(~miss)], rows[miss].tolist()
