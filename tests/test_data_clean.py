"""drop_unusable: missing values, then duplicate texts."""

from __future__ import annotations

import pandas as pd

from modelqa.data import drop_unusable


def test_drop_missing_then_duplicates():
    df = pd.DataFrame({
        "text": ["좋다", None, "  ", "나쁘다", "좋다", "좋다", "그저", "나쁘다 "],
        "label": ["1", "0", "1", None, "1", "0", "  ", "0"],
    })
    result = drop_unusable(df, "text", "label")
    assert result.df["text"].tolist() == ["좋다", "나쁘다 "]
    assert result.df.index.tolist() == [0, 7]  # original index: messages keep file rows
    assert result.n_missing == 4 and result.missing_rows == [2, 3, 4, 7]
    assert result.n_duplicates == 2 and result.duplicate_rows == [5, 6]
    assert result.n_conflicting == 1
    assert result.to_dict() == {"rows_kept": 2, "missing": 4, "duplicates": 2, "conflicting_duplicates": 1}


def test_duplicates_exact_only_and_no_label_column():
    df = pd.DataFrame({"text": ["가", "가 ", "가", 7, "7"]}, dtype=object)
    result = drop_unusable(df, "text", None)
    assert result.df["text"].tolist() == ["가", "가 ", 7]
    assert result.n_duplicates == 2 and result.n_missing == 0
