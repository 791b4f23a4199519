"""Check that a table has what a run needs: columns, non-empty texts, known labels.

Row numbers in messages are 1-based data rows (header not counted): for a DataFrame
with an integer index they are ``index + 1`` (so rows keep their file numbers after
filtering with ``.iloc`` / ``.loc``), otherwise the position + 1.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from modelqa.errors import DataError, UsageError, format_rows

_INT = re.compile(r"[+-]?\d+")
_SEPARATORS = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}


@dataclass(frozen=True, eq=False)
class TextColumn:
    """Non-empty texts of one column. ``kept`` are positional indices into the DataFrame
    (use ``df.iloc[kept]``); ``skipped_rows`` are the 1-based row numbers that were empty."""

    texts: list[str]
    kept: np.ndarray
    skipped_rows: list[int]


def row_numbers(obj: pd.DataFrame | pd.Series | Sequence[Any]) -> np.ndarray:
    """1-based row numbers for messages: integer index + 1 for pandas objects, else position + 1."""
    index = getattr(obj, "index", None)
    if index is not None and pd.api.types.is_integer_dtype(index):
        return np.asarray(index, dtype=np.int64) + 1
    return np.arange(1, len(obj) + 1, dtype=np.int64)


def param_for(role: str) -> str:
    """The parameter that chooses the column for a role, in backticks for messages:
    "text" -> "`text_col`" (the CLI shows it as --text-col), "target" -> "`target`"."""
    return "`target`" if role == "target" else f"`{role}_col`"


def require_columns(df: pd.DataFrame, columns: Mapping[str, str | None], *,
                    path: str | os.PathLike) -> dict[str, str]:
    """Check that every named column exists; roles mapped to None are optional and skipped.

    Returns {role: column} for the roles that name a column. One DataError names every
    missing column with its parameter, lists the columns that exist and suggests close matches.
    """
    wanted = {role: col for role, col in columns.items() if col is not None}
    seen: dict[str, str] = {}
    for role, col in wanted.items():
        if col in seen:
            raise UsageError(f"{param_for(seen[col])} and {param_for(role)} both name column {col!r}; "
                             "each role needs its own column")
        seen[col] = role
    present = [str(c) for c in df.columns]
    missing = [(role, col) for role, col in wanted.items() if col not in df.columns]
    if not missing:
        return wanted
    listed = ", ".join(repr(c) for c in present[:30])
    if len(present) > 30:
        listed += f" and {len(present) - 30} more"
    parts = [f"{col!r} ({param_for(role)})" for role, col in missing]
    hints = []
    for role, col in missing:
        close = [c for c in present if c.strip().casefold() == col.strip().casefold()]
        close = close or difflib.get_close_matches(col, present, n=1, cutoff=0.6)
        if close:
            hints.append(f"{param_for(role)} {close[0]!r}?")
    hint = ("did you mean " + " / ".join(hints)) if hints else None
    if len(present) == 1:
        found = [name for sep, name in _SEPARATORS.items() if sep in present[0]]
        if found:
            hint = (f"the file has a single column whose name contains a {found[0]}: it may use another "
                    "separator (.csv is read comma-separated, .tsv/.tab/.txt tab-separated)")
    raise DataError(f"{path}: missing column{'s' if len(parts) > 1 else ''} {', '.join(parts)}; "
                    f"the file has {len(present)} column{'s' if len(present) != 1 else ''}: {listed}", hint=hint)


def as_text(value: Any) -> str | None:
    """A cell as text: None when missing; integral floats without ".0"; other values via str()."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() else str(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def text_values(df: pd.DataFrame, column: str, *, path: str | os.PathLike,
                on_empty: Literal["error", "skip"] = "error") -> TextColumn:
    """Texts of ``column`` as strings (numbers are converted with str()).

    Empty means missing or only white space. ``on_empty="error"`` raises a DataError that
    lists the rows; ``"skip"`` leaves them out (see ``kept`` / ``skipped_rows``).
    """
    if on_empty not in ("error", "skip"):
        raise UsageError(f"`on_empty` must be 'error' or 'skip', not {on_empty!r}")
    require_columns(df, {"text": column}, path=path)
    rows = row_numbers(df)
    texts: list[str] = []
    kept: list[int] = []
    skipped: list[int] = []
    for pos, value in enumerate(df[column].tolist()):
        text = as_text(value)
        if text is None or not text.strip():
            skipped.append(int(rows[pos]))
        else:
            texts.append(text)
            kept.append(pos)
    if skipped and on_empty == "error":
        raise DataError(f"{path}: column {column!r} has empty text in row{'s' if len(skipped) > 1 else ''} "
                        f"{format_rows(skipped)} ({len(skipped)} of {len(df)} rows)",
                        hint="fill them in, or pass `on_empty='skip'` to leave those rows out")
    if not texts:
        raise DataError(f"{path}: column {column!r} has no non-empty text in any of its {len(df)} rows")
    return TextColumn(texts=texts, kept=np.asarray(kept, dtype=np.int64), skipped_rows=skipped)


def normalize_label(value: Any) -> str | None:
    """The label as a string: stripped; integral numbers without ".0"; None when missing or blank."""
    text = as_text(value)
    if text is None:
        return None
    text = text.strip()
    return text or None


def _natural_key(label: str) -> tuple[int, int, str]:
    return (0, int(label), label) if _INT.fullmatch(label) else (1, 0, label)


def _labels(values: Any, *, path: str | os.PathLike, column: str, rows: Any) -> list[str]:
    items = values.tolist() if hasattr(values, "tolist") else list(values)
    numbers = row_numbers(values) if rows is None else np.asarray(rows)
    keys = [normalize_label(v) for v in items]
    missing = [int(numbers[i]) for i, k in enumerate(keys) if k is None]
    if missing:
        raise DataError(f"{path}: column {column!r} has no label in row{'s' if len(missing) > 1 else ''} "
                        f"{format_rows(missing)} ({len(missing)} of {len(keys)} rows)",
                        hint="fill them in or remove those rows")
    return keys  # type: ignore[return-value]


def infer_classes(values: Any, *, path: str | os.PathLike, column: str, rows: Any = None) -> list[str]:
    """The distinct labels in natural order: integer-looking labels first, by value
    ("2" before "10"), then the others in code-point order. Missing labels raise."""
    return sorted(set(_labels(values, path=path, column=column, rows=rows)), key=_natural_key)


def encode_labels(values: Any, *, label2id: Mapping[str, int] | None, path: str | os.PathLike,
                  column: str, rows: Any = None) -> np.ndarray:
    """Label ids (int64) for label names or integer ids.

    With ``label2id`` (e.g. a model's): values that match names map to their ids; when no
    value matches a name and all are integers that are ids of ``label2id``, they are used
    as ids. Anything else raises a DataError listing the unknown labels with counts.
    With ``label2id=None`` the classes are ``infer_classes(values)`` and ids index that list.
    ``rows``: 1-based row numbers for messages (default: see ``row_numbers``).
    """
    keys = _labels(values, path=path, column=column, rows=rows)
    if label2id is None:
        label2id = {c: i for i, c in enumerate(sorted(set(keys), key=_natural_key))}
    by_name = {normalize_label(name): int(i) for name, i in label2id.items()}
    counts = Counter(keys)
    if all(k in by_name for k in counts):
        return np.fromiter((by_name[k] for k in keys), dtype=np.int64, count=len(keys))
    valid_ids = set(by_name.values())
    as_ids = not any(k in by_name for k in counts) and all(_INT.fullmatch(k) for k in counts)
    if as_ids and all(int(k) in valid_ids for k in counts):
        return np.fromiter((int(k) for k in keys), dtype=np.int64, count=len(keys))
    if as_ids:
        unknown = {k: n for k, n in counts.items() if int(k) not in valid_ids}
    else:
        unknown = {k: n for k, n in counts.items() if k not in by_name}
    numbers = row_numbers(values) if rows is None else np.asarray(rows)
    first_row = {}
    for i, k in enumerate(keys):
        first_row.setdefault(k, int(numbers[i]))
    shown = sorted(unknown.items(), key=lambda kv: (-kv[1], kv[0]))
    listed = ", ".join(f"{k!r} ({n} row{'s' if n > 1 else ''}, first row {first_row[k]})" for k, n in shown[:10])
    if len(shown) > 10:
        listed += f" and {len(shown) - 10} more"
    names = sorted(by_name, key=lambda n: by_name[n])
    known = ", ".join(repr(n) for n in names[:30]) + (f" and {len(names) - 30} more" if len(names) > 30 else "")
    id_range = f"ids {min(valid_ids)}..{max(valid_ids)}" if valid_ids else "no ids"
    hint = "labels may be the model's names or its integer ids, but not a mix of both"
    close = {k: difflib.get_close_matches(k, names, n=1, cutoff=0.6) for k, _ in shown[:10]}
    close = {k: m[0] for k, m in close.items() if m}
    if close:
        hint = "did you mean " + ", ".join(f"{m!r} for {k!r}" for k, m in close.items()) + "?"
    if as_ids:
        hint = f"integer labels are read as ids; this model has {id_range}"
    raise DataError(f"{path}: column {column!r} has {len(unknown)} label{'s' if len(unknown) > 1 else ''} "
                    f"the model does not know: {listed}. The model knows: {known} ({id_range})", hint=hint)


def check_same_length(*, path: str | os.PathLike | None = None, **arrays: Any) -> int:
    """The common length of the named arrays; a DataError naming each length otherwise."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        where = f"{path}: " if path is not None else ""
        detail = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise DataError(f"{where}lengths differ: {detail}")
    return next(iter(lengths.values()), 0)
