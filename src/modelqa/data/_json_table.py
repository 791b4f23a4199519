"""JSON and JSON-lines tables for data.load.read_table: a list of records, or one record a line.
A key given twice in one record is a DataError (json.loads would keep the last silently)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from modelqa.errors import DataError, format_rows


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _pairs(pairs: list[tuple[str, Any]]) -> dict:
    """A JSON object that refuses a key given twice (json.loads would keep the last silently)."""
    obj: dict = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def error(self, path: Path, where: str = "") -> DataError:
        return DataError(f"{path}: {where}column {self.key!r} appears twice in one record",
                         hint="give every column its own name, so it is clear which one to read")


def parse_json(text: str, path: Path, *, lines: bool) -> pd.DataFrame:
    if lines:
        records = _json_lines(text, path)
    else:
        try:
            try:
                loaded = json.loads(text, object_pairs_hook=_pairs)
            except _DuplicateKey as dup:
                raise dup.error(path) from None
        except json.JSONDecodeError as exc:
            if exc.msg == "Extra data":  # JSON lines in a .json file
                records = _json_lines(text, path)
            else:
                raise DataError(f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                                hint="a .json file must hold a list of records: [{\"text\": ..., \"label\": ...}, ...]") from None
        else:
            if not isinstance(loaded, list):
                raise DataError(f"{path}: holds a JSON {type(loaded).__name__}, not a list of records",
                                hint="write [{\"text\": ..., \"label\": ...}, ...] or one record per line (.jsonl)")
            bad = [i + 1 for i, r in enumerate(loaded) if not isinstance(r, dict)]
            if bad:
                raise DataError(f"{path}: rows {format_rows(bad)} are not JSON objects "
                                f"(row {bad[0]}: {_short(loaded[bad[0] - 1])})")
            records = loaded
    if not records:
        raise DataError(f"{path}: has no records")
    columns = list(dict.fromkeys(key for record in records for key in record))
    data = {name: [record.get(name) for record in records] for name in columns}
    return pd.DataFrame(data, columns=columns, dtype=object)


def _json_lines(text: str, path: Path) -> list[dict]:
    records = []
    lines = text.split("\n")
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, object_pairs_hook=_pairs)
        except _DuplicateKey as dup:
            raise dup.error(path, f"line {lineno}: ") from None
        except json.JSONDecodeError as exc:
            last = all(not rest.strip() for rest in lines[lineno:])
            raise DataError(f"{path}: line {lineno} is not valid JSON ({exc.msg}, column {exc.colno}): {_short(line)}",
                            hint="the file may be truncated" if last else "each line must be one JSON object") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path}: line {lineno} is a JSON {type(obj).__name__}, not an object: {_short(line)}")
        records.append(obj)
    return records
