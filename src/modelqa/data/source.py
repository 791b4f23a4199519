"""Where a table comes from: a data file (any format ``read_table`` reads) or a pandas DataFrame
handed over by a notebook user. Either way the caller gets the same ``Source``: the frame with a
0-based RangeIndex (row N of a message is position N-1), the name messages use, and a SHA-256 that
fingerprints run.json and resumable runs."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from modelqa.data.load import check_unique_columns, file_sha256, read_table
from modelqa.errors import DataError, UsageError

#: What messages call a table that came as a DataFrame ("the DataFrame: column 'label' ...").
DATAFRAME = "the DataFrame"


@dataclass(frozen=True)
class Source:
    name: str                  # the file path as given, or DATAFRAME
    path: Path | None          # None for a DataFrame
    sha256: str
    frame: pd.DataFrame

    @property
    def is_frame(self) -> bool:
        return self.path is None


def source_name(data) -> str:
    """The name a message uses for ``data`` (a path or a DataFrame)."""
    return DATAFRAME if isinstance(data, pd.DataFrame) else str(data)


def frame_sha256(df: pd.DataFrame) -> str:
    """Hex SHA-256 of a DataFrame's column names and cell values (not its index)."""
    digest = hashlib.sha256("\0".join(map(str, df.columns)).encode())
    try:
        hashed = pd.util.hash_pandas_object(df, index=False).to_numpy()
        digest.update(hashed.tobytes())
    except TypeError:  # unhashable cells (lists, dicts): hash their text
        digest.update(df.to_csv(index=False).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def read_source(data, *, encoding: str | None = None, sheet: str | int | None = None, what: str = "data") -> Source:
    """``data`` (a path or a DataFrame) as a ``Source``. A DataFrame is checked as a file is:
    duplicated column names and an empty table are DataErrors, ``encoding`` / ``sheet`` do not
    apply to it (UsageError naming ``what``)."""
    if isinstance(data, pd.DataFrame):
        given = [name for name, value in (("encoding", encoding), ("sheet", sheet)) if value is not None]
        if given:
            raise UsageError(f"{' and '.join(given)} apply to a data file; {what} is a DataFrame")
        check_unique_columns(data.columns, source=DATAFRAME)
        if len(data) == 0:
            raise DataError(f"{DATAFRAME} ({what}) has no rows")
        frame = data.reset_index(drop=True)
        frame.attrs["source"] = {"path": None, "format": "dataframe", "encoding": None, "sheet": None}
        return Source(name=DATAFRAME, path=None, sha256=frame_sha256(frame), frame=frame)
    if not isinstance(data, str | os.PathLike):
        raise UsageError(f"{what} must be a file path or a pandas DataFrame, not {type(data).__name__}")
    path = Path(data)
    frame = read_table(path, encoding=encoding, sheet=sheet)
    return Source(name=str(path), path=path, sha256=file_sha256(path), frame=frame)


def source_sha256(data) -> str:
    """SHA-256 of a data file or a DataFrame (run.json, sweep and training fingerprints)."""
    return frame_sha256(data) if isinstance(data, pd.DataFrame) else file_sha256(data)
