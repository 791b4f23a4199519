"""``modelqa.profile``: what a table looks like before training on it (data.profile)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from modelqa import _atomic
from modelqa.data.source import read_source


def profile(data: str | Path | pd.DataFrame, *, target: str | None = None, out: str | Path | None = None,
            id_cols: list[str] | None = None, encoding: str | None = None,
            sheet: str | int | None = None) -> dict:
    """The profile document of a table (a data file or a DataFrame; see modelqa.data.profile);
    with ``out`` also written as JSON."""
    from modelqa.data.profile import profile_table

    src = read_source(data, encoding=encoding, sheet=sheet)
    doc = profile_table(src.frame, target=target, path=src.name, id_cols=id_cols)
    doc["sha256"] = src.sha256
    if out is not None:
        _atomic.write_json(out, doc)
    return doc
