"""Read a labelled (or unlabelled) text table the way every command does: from a data file or a
pandas DataFrame (data.source)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from modelqa.data.schema import require_columns, text_values
from modelqa.data.source import read_source


@dataclass(frozen=True)
class TextTable:
    path: Path | None            # None for a DataFrame
    sha256: str
    frame: pd.DataFrame          # rows kept (empty texts dropped with on_empty="skip")
    texts: list[str] | None
    label_values: pd.Series | None
    ids: tuple[str, list] | None
    skipped_rows: list[int]      # 1-based data rows dropped for empty text
    name: str = ""               # what messages call the table: the path, or "the DataFrame"


def load_text_table(data, *, text_col: str | None, label_col: str | None = None, id_col: str | None = None,
                    encoding: str | None = None, sheet=None, on_empty: str = "error") -> TextTable:
    src = read_source(data, encoding=encoding, sheet=sheet)
    df = src.frame
    require_columns(df, {"text": text_col, "label": label_col, "id": id_col}, path=src.name)
    skipped: list[int] = []
    texts = None
    if text_col is not None:
        col = text_values(df, text_col, path=src.name, on_empty=on_empty)
        texts, skipped = col.texts, list(col.skipped_rows)
        df = df.iloc[np.asarray(col.kept, dtype=np.int64)]
    labels = df[label_col] if label_col is not None else None
    ids = (id_col, df[id_col].tolist()) if id_col is not None else None
    return TextTable(path=src.path, sha256=src.sha256, frame=df, texts=texts, label_values=labels,
                     ids=ids, skipped_rows=skipped, name=src.name)
