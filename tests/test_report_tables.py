"""write_table: CSV with BOM and formula neutralisation, Excel, Parquet."""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pytest

from modelqa.errors import UsageError
from modelqa.report.tables import neutralise_cell, write_table


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "doc_id": ["a-1", "a-2", "a-3", "a-4", "a-5", "a-6"],
            "text": ["=1+1", "+82 10", "-불만", "@SUM(A1)", "\tTAB", "정상 문장"],
            "true_label": ["긍정", "부정", "중립", "긍정", "부정", "=cmd|' /C calc'!A0"],
            "score": [-1.5, 2.0, -0.25, 0.0, 3.5, -7.0],
            "count": [-3, 1, 2, 3, 4, 5],
            "correct": [True, False, True, True, False, True],
        }
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("정상", "정상"),
        ("", ""),
        (-1.5, -1.5),
        (None, None),
    ],
)
def test_neutralise_cell(value, expected):
    assert neutralise_cell(value) == expected


def test_csv_has_bom_hangul_and_neutralised_text(tmp_path):
    path = write_table(_frame(), tmp_path / "errors.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert "정상 문장".encode() in raw
    back = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)
    assert list(back.columns) == ["doc_id", "text", "true_label", "score", "count", "correct"]
    assert back["text"].tolist()[:5] == ["'=1+1", "'+82 10", "'-불만", "'@SUM(A1)", "'\tTAB"]
    assert back["text"].tolist()[5] == "정상 문장"
    assert back["true_label"].tolist()[5] == "'=cmd|' /C calc'!A0"
    assert back["doc_id"].tolist()[0] == "a-1"  # not at the start: untouched
    # numeric columns untouched: negatives stay numbers
    assert back["score"].tolist() == [-1.5, 2.0, -0.25, 0.0, 3.5, -7.0]
    assert back["count"].tolist() == [-3, 1, 2, 3, 4, 5]


def test_csv_handles_missing_values_and_pandas_string_dtype(tmp_path):
    df = pd.DataFrame({"text": pd.array(["=x", None, "ok"], dtype="string"), "p": [0.1, np.nan, -0.2]})
    path = write_table(df, tmp_path / "t.csv")
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert back["text"].iloc[0] == "'=x"
    assert pd.isna(back["text"].iloc[1])
    assert back["p"].iloc[2] == -0.2


def test_xlsx_round_trip_neutralises_formulas(tmp_path):
    path = write_table(_frame(), tmp_path / "errors.xlsx")
    sheet = openpyxl.load_workbook(path).active
    cells = {sheet.cell(row=1, column=c).value: c for c in range(1, sheet.max_column + 1)}
    text_col, score_col = cells["text"], cells["score"]
    first = sheet.cell(row=2, column=text_col)
    assert first.value == "'=1+1"
    assert first.data_type == "s"  # text, not a formula
    assert sheet.cell(row=2, column=score_col).value == -1.5
    back = pd.read_excel(path)
    assert back["text"].iloc[5] == "정상 문장"
    assert back["count"].tolist() == [-3, 1, 2, 3, 4, 5]


def test_xlsx_drops_control_characters_openpyxl_refuses(tmp_path):
    df = pd.DataFrame({"text": ["bell\x07 here"]})
    back = pd.read_excel(write_table(df, tmp_path / "c.xlsx"))
    assert back["text"].iloc[0] == "bell here"


def test_parquet_keeps_values_exactly(tmp_path):
    df = _frame()
    back = pd.read_parquet(write_table(df, tmp_path / "p.parquet"))
    assert back["text"].tolist() == df["text"].tolist()
    assert back["score"].tolist() == df["score"].tolist()


def test_unknown_suffix_lists_supported(tmp_path):
    with pytest.raises(UsageError) as info:
        write_table(_frame(), tmp_path / "x.json")
    message = str(info.value)
    assert ".csv" in message and ".parquet" in message and ".xlsx" in message
    assert not (tmp_path / "x.json").exists()


def test_write_is_atomic_no_temp_files_left(tmp_path):
    write_table(_frame(), tmp_path / "a.csv")
    write_table(_frame(), tmp_path / "a.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]
