"""Text normalisation and vectorised row keys, shared by the duplicate and leakage checks.

``normalize_text`` is the one definition of "the same text up to form": Unicode NFKC
(full-width letters and digits, compatibility jamo and ligatures become their plain forms),
invisible format characters removed (soft hyphen, zero-width space / joiners, word joiner,
byte-order mark), case folded (``str.casefold``: "Straße" and "STRASSE" agree) and every run
of whitespace collapsed to one space, trimmed. A text that is empty after this is missing.

``row_keys`` turns the rows of a frame (one column or several) into 64-bit hashes
(``pandas.util.hash_array`` per column, mixed across columns), so that duplicates and cross-file matches are found by hashing, never by comparing
rows pairwise: a million rows take seconds. Text columns are normalised on their distinct
values only (``pandas.factorize``), so a categorical column with a million rows costs as much
as its few categories. Two different rows share a 64-bit key with probability about
n² / 2⁶⁵ (3·10⁻⁸ for a million rows).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from pandas.util import hash_array

_INVISIBLE_CHARS = "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"
_INVISIBLE = re.compile(f"[{_INVISIBLE_CHARS}]")


def normalize_text(text: str) -> str:
    """NFKC, invisible characters removed, case folded, whitespace runs collapsed, trimmed."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    return " ".join(text.casefold().split())


def normalize_many(texts: Sequence[str]) -> list[str]:
    """``[normalize_text(t) for t in texts]``, about four times faster on a million texts:
    the invisible-character pass runs only when one occurs somewhere in ``texts``."""
    out = [unicodedata.normalize("NFKC", t) for t in texts]
    joined = "\x00".join(out)
    if any(c in joined for c in _INVISIBLE_CHARS):
        out = [t if t.isascii() else _INVISIBLE.sub("", t) for t in out]
    return [" ".join(t.casefold().split()) for t in out]


def is_text_column(series: pd.Series) -> bool:
    """Whether a column holds text-like values (anything but numbers, booleans and datetimes)."""
    dtype = series.dtype
    return not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
                or pd.api.types.is_datetime64_any_dtype(dtype))


def _as_strings(uniques) -> list[str]:
    values = list(uniques.tolist()) if hasattr(uniques, "tolist") else list(uniques)
    if all(type(v) is str for v in values):
        return values
    return [v if isinstance(v, str) else str(v) for v in values]


def normalize_series(series: pd.Series) -> pd.Series:
    """``normalize_text`` of every cell, computed once per distinct value; missing cells and
    cells that normalise to "" become None. Non-string cells are normalised as ``str(cell)``."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    normalised = normalize_many(_as_strings(uniques))
    table = np.array([v if v else None for v in normalised] + [None], dtype=object)
    return pd.Series(table[codes], index=series.index, dtype=object)   # code -1 -> the last (None)


#: what ``str.split()`` splits on (Python's whitespace), spelled out so that pandas' Arrow
#: strings (RE2, whose ``\\s`` is ASCII only) and object strings (``re``) agree
_WHITESPACE = "\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_BLANK = f"[{_WHITESPACE}{_INVISIBLE_CHARS}]*"


def missing_mask(series: pd.Series) -> np.ndarray:
    """True where a cell is missing, or (text columns) empty or only whitespace / invisible
    characters: exactly where ``normalize_series`` gives None, one regex per distinct value."""
    if not is_text_column(series):
        return series.isna().to_numpy()
    if isinstance(series.dtype, pd.StringDtype):          # one vectorised regex pass (Arrow / C)
        return series.isna().to_numpy() | series.str.fullmatch(_BLANK).to_numpy(dtype=bool, na_value=True)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return _blank_uniques(uniques)[codes]


def _blank_uniques(uniques) -> np.ndarray:
    """Whether each distinct value is blank, plus a last True for the missing code (-1)."""
    text = pd.Series(_as_strings(uniques), dtype="str")
    blank = text.str.fullmatch(_BLANK).to_numpy(dtype=bool, na_value=True)
    return np.append(blank, True)


def distinct_values(series: pd.Series, missing: np.ndarray) -> tuple[int, object]:
    """(0, 1 or 2 for "more than one"; the first present value) of a column, ``missing`` its
    ``missing_mask``. Numbers compare as numbers."""
    if not is_text_column(series):
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        present = values[np.isfinite(values)]
        if present.size == 0:
            return 0, None
        return (1 if present.min() == present.max() else 2), float(present[0])
    present = series[~missing]
    if present.empty:
        return 0, None
    first = present.iloc[0]
    return (2 if bool((present != first).any()) else 1), first


def column_hash(series: pd.Series, *, normalized: bool = False, as_text: bool = False) -> np.ndarray:
    """``(n,)`` uint64: equal cells get equal hashes. Numbers hash as float64 (1 = 1.0, NaN for
    missing); text hashes once per distinct value, normalised when asked (blank = missing)."""
    if not (as_text or is_text_column(series)):
        return hash_array(pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64))
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    values = _as_strings(uniques)
    if normalized:
        values = [v or None for v in normalize_many(values)]
    hashes = hash_array(np.array(values + [None], dtype=object), categorize=False)
    return hashes[codes]                 # code -1 (missing) takes the last entry, None's hash


def row_keys(frame: pd.DataFrame, columns: Sequence[str], *, normalized: bool = False,
             as_text: Iterable[str] = ()) -> np.ndarray:
    """``(n,)`` uint64 keys: equal rows over ``columns`` get equal keys.

    ``normalized``: text cells are compared after ``normalize_text`` (numbers as they are).
    ``as_text``: columns compared as strings even when numeric (when two files disagree on
    a column's type, e.g. a CSV and a Parquet file).
    """
    as_text = set(as_text)
    key = np.zeros(len(frame), dtype=np.uint64)
    for i, c in enumerate(columns):
        h = column_hash(frame[c], normalized=normalized, as_text=c in as_text)
        # order-dependent mix (the boost hash_combine constant, in wrapping uint64 arithmetic)
        key ^= h + np.uint64(0x9E3779B97F4A7C15) + (key << np.uint64(6)) + (key >> np.uint64(2)) + np.uint64(i)
    return key


def empty_rows(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """True where every one of ``columns`` is missing (``missing_mask``) in a row."""
    mask = np.ones(len(frame), dtype=bool)
    for c in columns:
        mask &= missing_mask(frame[c])
    return mask
