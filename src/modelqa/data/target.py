"""The target of a tabular model: which task its values ask for (``infer_task``), and
``TargetEncoder``: classification labels as names in natural order (Yes/No gives ``["No", "Yes"]``:
No → 0, Yes → 1); regression targets as floats, standardised for training with the training
mean / standard deviation (``regression_values`` reads them, naming rows that are not numbers).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelqa.data.schema import as_text, encode_labels, infer_classes, normalize_label, row_numbers
from modelqa.errors import DataError, UsageError, format_rows

TASKS = ("binary", "multiclass", "regression")
REGRESSION_MIN_DISTINCT = 20
REGRESSION_MIN_UNIQUE_SHARE = 0.05


def parse_numbers(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(values float64 with NaN for missing or unparsable cells, mask of cells that are present
    but do not parse — a blank " " counts as present in text, missing otherwise)."""
    if pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, copy=True)
        return values, np.zeros(len(series), dtype=bool)
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, copy=True)
        values[~np.isfinite(values)] = np.nan
        return values, np.zeros(len(series), dtype=bool)
    raw = series.tolist()
    present = np.array([as_text(v) is not None for v in raw], dtype=bool)
    text = pd.Series([as_text(v).strip() if p else None for v, p in zip(raw, present, strict=True)], dtype=object)
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, copy=True)
    values[~np.isfinite(values)] = np.nan
    bad = present & np.isnan(values)
    return values, bad


def infer_task(values: Any) -> tuple[str, str]:
    """(task, reason) from the target's non-missing values:
    2 distinct values → binary; numbers with more than 20 distinct values that are either more
    than 5% of the rows or not all integers → regression; otherwise multiclass."""
    cells = [c for c in (normalize_label(v) for v in list(values)) if c is not None]
    distinct = set(cells)
    if len(distinct) < 2:
        return "constant", f"{len(distinct)} distinct value(s)"
    if len(distinct) == 2:
        return "binary", "two distinct values"
    nums = pd.to_numeric(pd.Series(cells, dtype=object), errors="coerce").to_numpy(dtype=np.float64)
    if np.isfinite(nums).all():
        share = len(distinct) / len(cells)
        integral = bool(np.all(np.mod(nums, 1) == 0))
        if len(distinct) > REGRESSION_MIN_DISTINCT and (share > REGRESSION_MIN_UNIQUE_SHARE or not integral):
            return "regression", (f"numbers with {len(distinct)} distinct values "
                                  f"({share:.0%} of rows{'' if integral else ', not all integers'})")
        return "multiclass", f"numbers with {len(distinct)} distinct values (few: read as classes)"
    return "multiclass", f"{len(distinct)} distinct values"


@dataclass
class TargetEncoder:
    """Target column → training target. ``labels``: class names (classification);
    ``mean`` / ``std``: standardisation of a regression target."""

    column: str
    task: str
    labels: list[str] | None = None
    mean: float = 0.0
    std: float = 1.0

    @classmethod
    def fit(cls, values: Any, *, column: str, task: str | None = None, labels: Sequence[str] | None = None,
            path: str | os.PathLike = "data") -> TargetEncoder:
        if task is None:
            task, why = infer_task(values)
            if task == "constant":
                raise DataError(f"{path}: target column {column!r} has a single value "
                                f"({_first_value(values)!r}) in every row; there is nothing to learn",
                                hint="check `target`, or add rows of the other classes")
        if task not in TASKS:
            raise UsageError(f"`task` must be one of {', '.join(TASKS)}, not {task!r}")
        if task == "regression":
            y = regression_values(values, path=path, column=column)
            std = float(np.std(y))
            return cls(column=column, task=task, mean=float(np.mean(y)), std=std if std > 0 else 1.0)
        classes = list(labels) if labels is not None else infer_classes(values, path=path, column=column)
        if len(classes) < 2:
            raise DataError(f"{path}: target column {column!r} has a single value ({classes[0]!r}) in every "
                            "row; a classifier needs at least two classes")
        if task == "binary" and len(classes) != 2:
            raise UsageError(f"`task='binary'` needs a target with two values; {column!r} has {len(classes)}: "
                             + ", ".join(repr(c) for c in classes[:10]))
        return cls(column=column, task=task, labels=classes)

    def encode(self, values: Any, *, path: str | os.PathLike = "data", rows: Any = None) -> np.ndarray:
        """Class ids (int64) or standardised floats (float32)."""
        if self.task == "regression":
            y = regression_values(values, path=path, column=self.column, rows=rows)
            return ((y - self.mean) / self.std).astype(np.float32)
        return encode_labels(values, label2id={c: i for i, c in enumerate(self.labels or [])}, path=path,
                             column=self.column, rows=rows)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Standardised predictions back to target units (regression)."""
        return np.asarray(z, dtype=np.float64) * self.std + self.mean

    def to_dict(self) -> dict:
        return {"column": self.column, "task": self.task, "labels": self.labels, "mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, d: dict) -> TargetEncoder:
        return cls(column=d["column"], task=d["task"], labels=d.get("labels"), mean=float(d.get("mean", 0.0)),
                   std=float(d.get("std", 1.0)))


def _first_value(values: Any) -> Any:
    for v in list(values):
        label = normalize_label(v)
        if label is not None:
            return label
    return None


def regression_values(values: Any, *, path: str | os.PathLike, column: str, rows: Any = None) -> np.ndarray:
    """Floats of a regression target; a DataError that shows a few non-numbers with their rows."""
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    nums, bad = parse_numbers(series)
    numbers = row_numbers(series) if rows is None else np.asarray(rows)
    missing = np.isnan(nums) & ~bad
    if bad.any():
        idx = np.flatnonzero(bad)
        shown = ", ".join(f"row {int(numbers[i])}: {series.iloc[i]!r}" for i in idx[:5])
        more = f" and {len(idx) - 5} more" if len(idx) > 5 else ""
        raise DataError(f"{path}: regression target {column!r} has {len(idx)} value(s) that are not numbers: "
                        f"{shown}{more}", hint="fix or remove those rows, or pass `task='binary'` / `task='multiclass'` "
                                              "if the target is a class")
    if missing.any():
        raise DataError(f"{path}: regression target {column!r} is missing in rows "
                        f"{format_rows(numbers[missing].tolist())}")
    return nums


