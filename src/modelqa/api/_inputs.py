"""Read a labelled (or unlabelled) text table the way every command does."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from modelqa.data.load import file_sha256, read_table
from modelqa.data.schema import require_columns, text_values


@dataclass(frozen=True)
class TextTable:
    path: Path
    sha256: str
    frame: pd.DataFrame          # rows kept (empty texts dropped with on_empty="skip")
    texts: list[str] | None
    label_values: pd.Series | None
    ids: tuple[str, list] | None
    skipped_rows: list[int]      # 1-based data rows dropped for empty text


def load_text_table(path, *, text_col: str | None, label_col: str | None = None, id_col: str | None = None,
                    encoding: str | None = None, sheet=None, on_empty: str = "error") -> TextTable:
    path = Path(path)
    df = read_table(path, encoding=encoding, sheet=sheet)
    require_columns(df, {"text": text_col, "label": label_col, "id": id_col}, path=path)
    skipped: list[int] = []
    texts = None
    if text_col is not None:
        col = text_values(df, text_col, path=path, on_empty=on_empty)
        texts, skipped = col.texts, list(col.skipped_rows)
        df = df.iloc[np.asarray(col.kept, dtype=np.int64)]
    labels = df[label_col] if label_col is not None else None
    ids = (id_col, df[id_col].tolist()) if id_col is not None else None
    return TextTable(path=path, sha256=file_sha256(path), frame=df, texts=texts, label_values=labels,
                     ids=ids, skipped_rows=skipped)
