"""Deterministic stratified splits into parts such as train / validation / test.

Rules (also in docs/file-formats.md):
- part sizes follow the fractions (largest-remainder rounding), each class is divided in
  the same proportions, rounded so that the part totals stay on target;
- a class with at least as many examples as there are parts gets at least one example
  in every part, even where its share would round to zero (this may move a part size by a row);
- a class with fewer examples than parts cannot be in every part: a DataError by default,
  or with ``small_classes="first"`` its examples go one each to the first parts (training first);
- when every class is that small (e.g. every label unique) the split is not stratified;
- a part that would be empty is a DataError.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from modelqa.errors import DataError, UsageError, format_rows


def _apportion(total: int, fractions: np.ndarray) -> np.ndarray:
    """Integers summing to ``total`` close to ``total * fractions`` (largest remainder, ties to lower index)."""
    ideal = total * fractions
    counts = np.floor(ideal).astype(np.int64)
    order = np.argsort(-(ideal - counts), kind="stable")
    counts[order[: total - int(counts.sum())]] += 1
    return counts


def _class_counts(counts: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Matrix classes x parts: row sums are the class counts, each cell >= 1, column sums near target."""
    n_parts = len(fractions)
    ideal = counts[:, None] * fractions[None, :]
    alloc = np.maximum(np.floor(ideal).astype(np.int64), 1)
    for c in range(len(counts)):
        while alloc[c].sum() > counts[c]:
            alloc[c, int(np.argmax(alloc[c]))] -= 1
    need = _apportion(int(counts.sum()), fractions) - alloc.sum(axis=0)
    left = counts - alloc.sum(axis=1)
    remainder = ideal - alloc
    pairs = sorted(((c, k) for c in range(len(counts)) for k in range(n_parts)),
                   key=lambda ck: (-remainder[ck], ck))
    for c, k in pairs:
        if left[c] > 0 and need[k] > 0:
            alloc[c, k] += 1
            left[c] -= 1
            need[k] -= 1
    for c in np.flatnonzero(left):
        for _ in range(int(left[c])):
            k = int(np.argmax(need))
            alloc[c, k] += 1
            need[k] -= 1
    # the one-per-part minimum may overfill a part: move rows of classes that have spare ones back
    while (need < 0).any() and (need > 0).any():
        over, under = int(np.argmin(need)), int(np.argmax(need))
        spare = np.flatnonzero(alloc[:, over] > 1)
        if len(spare) == 0:
            break
        c = int(spare[np.argmax((alloc - ideal)[spare, over])])
        alloc[c, over] -= 1
        alloc[c, under] += 1
        need[over] += 1
        need[under] -= 1
    return alloc


def stratified_split(labels: Any, fractions: Sequence[float], *, seed: int,
                     small_classes: Literal["error", "first"] = "error",
                     class_names: Sequence[str] | None = None) -> list[np.ndarray]:
    """Positional index arrays (sorted), one per fraction; every row is in exactly one.

    ``labels``: one label per row (ids or names). Same labels, fractions and seed give
    the same split. ``class_names`` names integer labels in messages.
    """
    frac = np.asarray(fractions, dtype=float)
    if frac.ndim != 1 or len(frac) == 0 or (frac <= 0).any() or not math.isclose(frac.sum(), 1.0, abs_tol=1e-6):
        raise UsageError(f"split fractions must be positive and add up to 1, not {list(fractions)}")
    if small_classes not in ("error", "first"):
        raise UsageError(f"small_classes must be 'error' or 'first', not {small_classes!r}")
    frac = frac / frac.sum()
    values = pd.Series(np.asarray(labels, dtype=object))
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:
        codes, uniques = pd.factorize(values, sort=False)
    if (codes < 0).any():
        raise DataError(f"labels are missing in rows {format_rows(np.flatnonzero(codes < 0) + 1)}")
    n, n_parts = len(codes), len(frac)
    shown = ", ".join(f"{f:g}" for f in frac)
    totals = _apportion(n, frac)
    if (totals == 0).any():
        part = int(np.argmin(totals)) + 1
        raise DataError(f"{n} rows cannot be split into parts of ({shown}): part {part} would be empty",
                        hint="use more rows or a larger fraction, or give a separate validation file with `val_data`")
    counts = np.bincount(codes, minlength=len(uniques))
    small = counts < n_parts
    if small.all():  # nothing can be stratified: one random split
        codes, counts, small = np.zeros(n, dtype=np.int64), np.array([n]), np.array([False])
    elif small.any() and small_classes == "error":
        def name(c: int) -> str:
            value = uniques[c]
            if class_names is not None and isinstance(value, int | np.integer) and 0 <= value < len(class_names):
                return repr(class_names[value])
            return repr(value)
        few = [f"{name(c)} ({counts[c]} example{'s' if counts[c] > 1 else ''})" for c in np.flatnonzero(small)]
        more = f" and {len(few) - 10} more" if len(few) > 10 else ""
        raise DataError(f"{len(few)} class{'es' if len(few) > 1 else ''} cannot be in every one of the "
                        f"{n_parts} parts ({shown}): {', '.join(few[:10])}{more}",
                        hint="add examples of these classes, remove their rows, or give a separate "
                             "validation file with `val_data`")
    alloc = np.zeros((len(counts), n_parts), dtype=np.int64)
    big = np.flatnonzero(~small)
    alloc[big] = _class_counts(counts[big], frac)
    for c in np.flatnonzero(small):
        alloc[c, : counts[c]] = 1
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in range(n_parts)]
    by_class = np.split(np.argsort(codes, kind="stable"), np.cumsum(counts)[:-1])
    for c, members in enumerate(by_class):
        members = rng.permutation(members)
        for k, chunk in enumerate(np.split(members, np.cumsum(alloc[c])[:-1])):
            parts[k].append(chunk)
    return [np.sort(np.concatenate(p)).astype(np.int64) for p in parts]
