"""Read a labelled table from CSV, TSV, Parquet, JSON lines, JSON or Excel.

Every problem a user can cause is a DataError that names the file and, where there is
one, the line or row and the value. Row numbers count data rows from 1 (header not
counted); parse errors in text files name the physical line of the file instead.
Fully empty rows are skipped (not counted) in every format. See docs/file-formats.md.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import hashlib
import io
import os
import zipfile
from pathlib import Path
from typing import Any

import charset_normalizer
import pandas as pd

from modelqa.data._json_table import _short
from modelqa.data._json_table import parse_json as _parse_json
from modelqa.errors import DataError, UsageError

FORMATS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "tsv",
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
}
TEXT_FORMATS = frozenset({"csv", "tsv", "jsonl", "json"})
_KOREAN = {"cp949", "euc_kr", "johab", "iso2022_kr"}
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_MAX_SHOWN = 10


def read_table(path: str | os.PathLike, *, encoding: str | None = None,
               sheet: str | int | None = None) -> pd.DataFrame:
    """Read a data file into a DataFrame with a 0-based RangeIndex (row N of messages is index N-1).

    CSV / TSV cells are read as strings ("007" stays "007"), empty cells become missing.
    JSON keeps its values' types, Parquet and Excel their cell types. ``df.attrs["source"]``
    holds ``{"path", "format", "encoding", "sheet"}``.
    """
    path = Path(path)
    fmt = _format_of(path)
    if sheet is not None and fmt != "xlsx":
        raise UsageError(f"`sheet` applies only to Excel files (.xlsx), not to {path}")
    if encoding is not None and fmt not in TEXT_FORMATS:
        raise UsageError(f"`encoding` applies only to text files (CSV, TSV, JSON), not to {path}")
    _check_file(path)
    used_encoding = sheet_name = None
    if fmt in TEXT_FORMATS:
        data = _read_bytes(path)
        text, used_encoding = _decode(data, path, encoding)
        if not text.strip():
            raise DataError(f"{path}: the file has no data (only {len(data)} bytes of white space)")
        if fmt in ("csv", "tsv"):
            df = _parse_delimited(text, path, "," if fmt == "csv" else "\t")
        else:
            df = _parse_json(text, path, lines=fmt == "jsonl")
    elif fmt == "parquet":
        df = _read_parquet(path)
    else:
        df, sheet_name = _read_excel(path, sheet)
    check_unique_columns(df.columns, source=str(path))
    if len(df) == 0:
        where = f" (sheet {sheet_name!r})" if sheet_name is not None else ""
        raise DataError(f"{path}{where}: has a header ({_names(df.columns)}) but no data rows")
    df.attrs["source"] = {"path": str(path), "format": fmt, "encoding": used_encoding, "sheet": sheet_name}
    return df


def check_unique_columns(columns, *, source: str) -> None:
    """DataError naming the first column name that appears more than once (``source``: the file,
    or "the DataFrame"); a duplicated name would otherwise be renamed or dropped silently."""
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(columns):
        seen.setdefault(str(name), []).append(i + 1)
    dups = {name: where for name, where in seen.items() if len(where) > 1}
    if dups:
        name, where = next(iter(dups.items()))
        more = f"; also duplicated: {', '.join(repr(n) for n in list(dups)[1:])}" if len(dups) > 1 else ""
        raise DataError(f"{source}: column {name!r} appears {len(where)} times (columns "
                        f"{', '.join(map(str, where))} of the header){more}",
                        hint="give every column its own name, so it is clear which one to read")


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------- file checks


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    supported = ", ".join(FORMATS)
    hint = "save it as .xlsx or CSV" if suffix == ".xls" else "rename the file if its content is one of these"
    raise DataError(f"{path}: unsupported file type {suffix or '(no suffix)'!r}; supported: {supported}", hint=hint)


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a data file")
    if not path.exists():
        hint = None
        if path.parent.is_dir():
            stems = {p.stem: p.name for p in path.parent.iterdir() if p.is_file()}
            close = [stems[s] for s in difflib.get_close_matches(path.stem, list(stems), n=3, cutoff=0.7)]
            if close:
                hint = "did you mean " + " or ".join(repr(str(path.parent / c)) for c in close) + "?"
        raise DataError(f"{path}: file not found", hint=hint)
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes)")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file: {exc.strerror or exc}") from None


def _names(columns: Any) -> str:
    return "columns: " + ", ".join(repr(str(c)) for c in columns) if len(columns) else "no columns"




# ---------------------------------------------------------------- encodings


def _codec(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise UsageError(f"unknown encoding {encoding!r}",
                         hint="e.g. `encoding='utf-8'`, or `encoding='cp949'` for Korean Windows / Excel files") from None


def _where(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    return f"byte offset {offset}, line {line} of the file (bytes {data[offset:offset + 4]!r})"


def _is_korean(data: bytes) -> bool:
    """Decodes strictly as CP949 and most non-ASCII characters are Hangul."""
    try:
        text = data.decode("cp949")
    except UnicodeDecodeError:
        return False
    wide = [c for c in text if ord(c) > 127]
    hangul = sum(1 for c in wide if "\uac00" <= c <= "\ud7a3" or "\u3131" <= c <= "\u318e")
    return bool(wide) and hangul >= 0.6 * len(wide)


def _decode(data: bytes, path: Path, encoding: str | None) -> tuple[str, str]:
    """(text, encoding used). BOMs are stripped; without ``encoding`` the encoding is detected."""
    if encoding is not None:
        name = _codec(encoding)
        try:
            return data.decode("utf-8-sig" if name == "utf-8" else name), encoding
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: cannot decode as {encoding!r} at {_where(data, exc.start)}",
                            hint=_suggest(data, name)) from None
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(name), name.removesuffix("-sig")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}: starts with a {name} byte-order mark but cannot be decoded "
                                f"at {_where(data, exc.start)}") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    if _is_korean(data):
        return data.decode("cp949"), "cp949"
    matches = charset_normalizer.from_bytes(data)
    candidates = ["cp949"] if any(m.encoding in _KOREAN for m in matches) else []
    candidates += [m.encoding for m in matches][:1]
    for name in candidates:
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            continue
    raise DataError(f"{path}: cannot detect the text encoding; it is not UTF-8 (first bad byte at "
                    f"{_where(data, first_bad)})",
                    hint="pass `encoding`, e.g. `encoding='cp949'` for Korean Windows / Excel files")


def _suggest(data: bytes, tried: str) -> str:
    works = []
    for name in ("utf-8", "cp949", "utf-16"):
        if name == tried:
            continue
        try:
            data.decode("utf-8-sig" if name == "utf-8" else name)
        except UnicodeDecodeError:
            continue
        if (name != "cp949" or _is_korean(data)) and (name != "utf-16" or b"\x00" in data[:1000]):
            works.append(name)
    if works:
        return f"the file decodes as {' or '.join(works)}: try `encoding='{works[0]}'`, or leave `encoding` out"
    return "try `encoding='cp949'` (Korean Windows / Excel) or `encoding='utf-8'`, or leave `encoding` out to detect it"


# ---------------------------------------------------------------- CSV / TSV


class _ParseError(Exception):
    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def _parse_delimited(text: str, path: Path, delimiter: str) -> pd.DataFrame:
    try:
        header, rows = _records(text, delimiter, csv.QUOTE_MINIMAL)
    except _ParseError as quoted_error:
        if delimiter != "\t":
            raise DataError(f"{path}: {quoted_error.message}", hint=quoted_error.hint) from None
        try:  # plain TSV (no quoting, e.g. NSMC): quotes are ordinary characters
            header, rows = _records(text, delimiter, csv.QUOTE_NONE)
        except _ParseError:
            raise DataError(f"{path}: {quoted_error.message}", hint=quoted_error.hint) from None
    columns = _column_names(header)
    data = {name: [(row[i] if row[i] != "" else None) for row in rows] for i, name in enumerate(columns)}
    return pd.DataFrame(data, columns=columns) if rows else pd.DataFrame(columns=columns)


def _records(text: str, delimiter: str, quoting: int) -> tuple[list[str], list[list[str]]]:
    csv.field_size_limit(2**31 - 1)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting, strict=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    bad: list[str] = []
    n_bad = n_records = 0
    line_end = 0
    try:
        for record in reader:
            start, line_end = line_end + 1, reader.line_num
            if all(not field.strip() for field in record):
                continue
            if header is None:
                header = record
                continue
            n_records += 1
            while len(record) > len(header) and record[-1] == "":
                record.pop()  # trailing empty fields carry no data
            if len(record) != len(header):
                n_bad += 1
                if len(bad) < _MAX_SHOWN:
                    bad.append(f"line {start} (data row {n_records}) has {len(record)} field"
                               f"{'s' if len(record) != 1 else ''}: "
                               f"{_short(delimiter.join(record))}")
                continue
            rows.append(record)
    except csv.Error as exc:
        start = line_end + 1
        if "unexpected end of data" in str(exc):
            raise _ParseError(f"a quoted field starting on line {start} is never closed (unterminated quote); "
                              "the file may be truncated",
                              hint="a field that contains a quote must be quoted with the quote doubled: \"a \"\"b\"\"\"") from None
        raise _ParseError(f"cannot parse line {reader.line_num} of the file: {exc}",
                          hint="fields that contain the delimiter, quotes or line breaks must be in double quotes") from None
    if n_bad:
        more = f" and {n_bad - len(bad)} more" if n_bad > len(bad) else ""
        raise _ParseError(f"{n_bad} line(s) have a different number of fields than the header ({len(header or [])}): "
                          + "; ".join(bad) + more,
                          hint="fields that contain the delimiter, quotes or line breaks must be in double quotes")
    return header or [], rows


def _column_names(header: list[Any]) -> list[str]:
    """Header cells as names (an empty cell is ``Unnamed: i``); duplicates are kept, and refused by
    ``check_unique_columns``."""
    return [str(raw) if raw is not None and str(raw) != "" else f"Unnamed: {i}" for i, raw in enumerate(header)]


# ---------------------------------------------------------------- JSON: data/_json_table.py










# ---------------------------------------------------------------- Parquet, Excel


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = pq.ParquetFile(path).schema_arrow.names
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable Parquet file (corrupt or truncated?): {exc}") from None
    check_unique_columns(names, source=str(path))
    try:
        df = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable Parquet file (corrupt or truncated?): {exc}") from None
    if not isinstance(df.index, pd.RangeIndex) or df.index.start != 0:
        df = df.reset_index(drop=all(n is None for n in df.index.names))
    return df


def _read_excel(path: Path, sheet: str | int | None) -> tuple[pd.DataFrame, str]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .xlsx file (corrupt, truncated, or another format?): {exc}") from None
    try:
        ws = book[_sheet_name(book.sheetnames, sheet, path)]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        title = ws.title
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the sheet (corrupt or truncated file?): {exc}") from None
    finally:
        book.close()
    rows = [[None if (isinstance(v, str) and v == "") else v for v in r] for r in rows]
    rows = [r for r in rows if any(v is not None and str(v).strip() for v in r)]
    if not rows:
        raise DataError(f"{path}: sheet {title!r} is empty")
    width = max(len(r) for r in rows)
    rows = [r + [None] * (width - len(r)) for r in rows]
    header, body = rows[0], rows[1:]
    keep = [i for i in range(width) if header[i] is not None or any(r[i] is not None for r in body)]
    columns = _column_names([header[i] for i in keep])
    data = {name: [r[i] for r in body] for name, i in zip(columns, keep, strict=True)}
    return pd.DataFrame(data, columns=columns, dtype=object), title


def _sheet_name(names: list[str], sheet: str | int | None, path: Path) -> str:
    listed = ", ".join(repr(n) for n in names)
    if sheet is None:
        return names[0]
    if isinstance(sheet, str) and sheet not in names and sheet.strip().isdigit():
        sheet = int(sheet)
    if isinstance(sheet, int):
        if 0 <= sheet < len(names):
            return names[sheet]
        raise DataError(f"{path}: no sheet number {sheet} (0-based); the workbook has {len(names)}: {listed}")
    if sheet in names:
        return sheet
    close = difflib.get_close_matches(sheet, names, n=1)
    raise DataError(f"{path}: no sheet named {sheet!r}; sheets: {listed}",
                    hint=f"did you mean {close[0]!r}?" if close else None)
