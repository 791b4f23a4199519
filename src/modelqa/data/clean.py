"""Drop rows training cannot use: missing text or label, then duplicate texts."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from modelqa.data.schema import as_text, normalize_label, row_numbers


@dataclass(frozen=True, eq=False)
class CleanResult:
    """``df`` keeps the original index, so messages about it still name file rows.
    ``n_conflicting`` counts dropped duplicates whose label differs from the kept row's."""

    df: pd.DataFrame
    n_missing: int
    n_duplicates: int
    n_conflicting: int = 0
    missing_rows: list[int] = field(default_factory=list)
    duplicate_rows: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, int]:
        return {"rows_kept": len(self.df), "missing": self.n_missing, "duplicates": self.n_duplicates,
                "conflicting_duplicates": self.n_conflicting}


def drop_unusable(df: pd.DataFrame, text_col: str, label_col: str | None) -> CleanResult:
    """Drop rows whose text or label is missing or blank, then rows whose text exactly
    repeats an earlier row's (the first is kept)."""
    rows = row_numbers(df)
    texts = [as_text(v) for v in df[text_col].tolist()]
    labels = [normalize_label(v) for v in df[label_col].tolist()] if label_col is not None else [""] * len(df)
    keep: list[int] = []
    missing: list[int] = []
    duplicates: list[int] = []
    first_label: dict[str, str | None] = {}
    conflicting = 0
    for pos, (text, label) in enumerate(zip(texts, labels, strict=True)):
        if text is None or not text.strip() or label is None:
            missing.append(int(rows[pos]))
        elif text in first_label:
            duplicates.append(int(rows[pos]))
            conflicting += first_label[text] != label
        else:
            first_label[text] = label
            keep.append(pos)
    return CleanResult(df=df.iloc[keep], n_missing=len(missing), n_duplicates=len(duplicates),
                       n_conflicting=conflicting, missing_rows=missing, duplicate_rows=duplicates)
