"""Write tables for people and spreadsheets: CSV (UTF-8 with BOM), Parquet, Excel.

Text from data is untrusted. In CSV and Excel output, a text cell that a spreadsheet
would read as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return) gets a leading single quote, as OWASP advises against CSV injection. Numeric
columns are left alone: a negative number is a number, not a formula. Parquet is a data
format, not a spreadsheet, so it keeps values exactly.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd

from modelqa._atomic import atomic_path
from modelqa.errors import UsageError

SUPPORTED_SUFFIXES = (".csv", ".parquet", ".xlsx")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXCEL_MAX_ROWS = 1_048_576


def neutralise_cell(value):
    """Return ``value`` with a leading ``'`` if it is text a spreadsheet would run as a formula.

    Anything that is not a ``str`` (numbers, None, NaN, booleans) is returned unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with text cells and text column names neutralised (see module doc)."""
    out = df.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype):
            out[column] = series.map(neutralise_cell, na_action="ignore")
    out.columns = [neutralise_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def read_csv_back(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV this module wrote (BOM, neutralised cells) back to the values it held."""
    df = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=True)

    def restore(value):
        if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
            return value[1:]
        return value

    for column in df.columns:
        if pd.api.types.is_object_dtype(df[column].dtype) or pd.api.types.is_string_dtype(df[column].dtype):
            df[column] = df[column].map(restore, na_action="ignore")
    df.columns = [restore(c) for c in df.columns]
    return df


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``df`` (without its index) to ``path``; the format follows the suffix.

    ``.csv``: UTF-8 with BOM so Excel opens Hangul correctly, formulas neutralised.
    ``.xlsx``: one sheet, formulas neutralised. ``.parquet``: values kept exactly.
    The write is atomic. Returns the path written.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UsageError(
            f"Cannot write a table to {target}: unknown file type {suffix or '(none)'!r}.",
            hint=f"Use one of: {', '.join(SUPPORTED_SUFFIXES)}.",
        )
    if suffix == ".csv":
        safe = neutralise_frame(df)
        with atomic_path(target) as tmp:
            safe.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\n")
    elif suffix == ".xlsx":
        _write_xlsx(df, target)
    else:
        frame = df.copy()
        frame.columns = [str(c) for c in frame.columns]
        with atomic_path(target) as tmp:
            frame.to_parquet(tmp, index=False)
    return target


def _write_xlsx(df: pd.DataFrame, target: Path) -> None:
    if len(df) + 1 > EXCEL_MAX_ROWS:
        raise UsageError(
            f"Cannot write {len(df):,} rows to {target}: Excel sheets hold at most {EXCEL_MAX_ROWS - 1:,} rows.",
            hint="Write .csv or .parquet instead.",
        )
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def clean(value):
        # openpyxl refuses control characters (other than tab/CR/LF) in cells.
        if isinstance(value, str):
            return ILLEGAL_CHARACTERS_RE.sub("", value)
        return value

    safe = neutralise_frame(df)
    for column in safe.columns:
        if pd.api.types.is_object_dtype(safe[column].dtype) or pd.api.types.is_string_dtype(safe[column].dtype):
            safe[column] = safe[column].map(clean, na_action="ignore")
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        safe.to_excel(writer, index=False, sheet_name="data")
    with atomic_path(target) as tmp:
        tmp.write_bytes(buffer.getvalue())
