"""read_table round trips in every format and encoding, and every error path."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import openpyxl
import pandas as pd
import pytest

from modelqa.data import file_sha256, read_table
from modelqa.errors import DataError, UsageError

ROWS = [
    {"id": "007", "text": "정말 재미있어요", "label": "긍정"},
    {"id": "008", "text": "별로였다, 다시는 안 봐", "label": "부정"},
    {"id": "009", "text": None, "label": "중립"},
    {"id": "010", "text": '따옴표 "인용" 포함\n두 줄', "label": "긍정"},
]
EXPECTED = pd.DataFrame(ROWS)


def assert_same(df: pd.DataFrame) -> None:
    assert list(df.columns) == ["id", "text", "label"]
    assert isinstance(df.index, pd.RangeIndex) and df.index.start == 0
    assert df["id"].tolist() == ["007", "008", "009", "010"]
    assert df["label"].tolist() == EXPECTED["label"].tolist()
    texts = df["text"].tolist()
    assert texts[0] == ROWS[0]["text"] and texts[1] == ROWS[1]["text"] and texts[3] == ROWS[3]["text"]
    assert pd.isna(texts[2])


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp949", "euc-kr"])
def test_csv_encodings_detected(tmp_path, encoding):
    path = tmp_path / "리뷰.csv"
    EXPECTED.to_csv(path, index=False, encoding=encoding)
    df = read_table(path)
    assert_same(df)
    used = df.attrs["source"]["encoding"]
    assert used == ("cp949" if encoding in ("cp949", "euc-kr") else "utf-8")


@pytest.mark.parametrize("encoding", ["cp949", "euc-kr", "utf-8", "UTF-8"])
def test_csv_forced_encoding(tmp_path, encoding):
    path = tmp_path / "data.csv"
    EXPECTED.to_csv(path, index=False, encoding="utf-8-sig" if encoding.lower() == "utf-8" else encoding)
    df = read_table(path, encoding=encoding)
    assert_same(df)  # a forced utf-8 still strips the BOM
    assert df.attrs["source"]["encoding"] == encoding


def test_cp949_only_hangul_detected(tmp_path):
    # 똠 and 햏 are in CP949 but not in EUC-KR
    path = tmp_path / "ext.csv"
    path.write_bytes("text,label\n똠방각하 햏,1\n".encode("cp949"))
    assert read_table(path)["text"].tolist() == ["똠방각하 햏"]


@pytest.mark.parametrize("suffix", [".tsv", ".tab", ".txt"])
def test_tsv_suffixes(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    EXPECTED.to_csv(path, sep="\t", index=False, encoding="cp949")
    assert_same(read_table(path))


def test_tsv_utf16_excel_unicode_text(tmp_path):
    path = tmp_path / "excel.txt"
    path.write_bytes("text\tlabel\r\n좋아요\t1\r\n".encode("utf-16"))
    df = read_table(path)
    assert df.to_dict("list") == {"text": ["좋아요"], "label": ["1"]}


def test_plain_tsv_with_unbalanced_quotes(tmp_path):
    # NSMC-style file: quotes are ordinary characters, never closed
    path = tmp_path / "ratings.txt"
    path.write_text('id\tdocument\tlabel\n1\t"재밌다 진짜\t1\n2\t별로 "ㅋㅋ\t0\n', encoding="utf-8")
    df = read_table(path)
    assert df["document"].tolist() == ['"재밌다 진짜', '별로 "ㅋㅋ']
    assert df["label"].tolist() == ["1", "0"]


def test_csv_keeps_strings_and_skips_blank_lines(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("id,score,text\n\n007,1.50,a\n,,\n08,,b\n\n", encoding="utf-8")
    df = read_table(path)
    assert df["id"].tolist() == ["007", "08"]
    assert df["score"].iloc[0] == "1.50" and pd.isna(df["score"].iloc[1])
    assert len(df) == 2


def test_csv_header_names_cleaned(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("text,,label\na,b,c\n", encoding="utf-8")
    assert list(read_table(path).columns) == ["text", "Unnamed: 1", "label"]
    # issue 9: a duplicated name is no longer renamed to "text.1" silently, it is refused
    path.write_text("text,,text\na,b,c\n", encoding="utf-8")
    with pytest.raises(DataError, match="column 'text' appears 2 times"):
        read_table(path)


def test_csv_trailing_empty_fields_allowed(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("text,label\na,1,\nb,0,,\n", encoding="utf-8")
    assert read_table(path)["label"].tolist() == ["1", "0"]


def test_parquet_round_trip(tmp_path):
    path = tmp_path / "data.parquet"
    frame = EXPECTED.assign(n=[1, 2, 3, 4])
    frame.to_parquet(path)
    df = read_table(path)
    assert_same(df[["id", "text", "label"]])
    assert df["n"].tolist() == [1, 2, 3, 4]
    short = tmp_path / "data.pq"
    frame.set_index("id").to_parquet(short)
    assert read_table(short)["id"].tolist() == ["007", "008", "009", "010"]


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson"])
def test_json_lines_round_trip(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in ROWS) + "\n\n", encoding="utf-8")
    assert_same(read_table(path))


def test_json_list_and_types(tmp_path):
    path = tmp_path / "data.json"
    records = [{"text": "가", "label": 1}, {"text": "나", "label": 0, "extra": True}]
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    df = read_table(path)
    assert list(df.columns) == ["text", "label", "extra"]
    assert df["label"].tolist() == [1, 0] and isinstance(df["label"].iloc[0], int)
    assert df["extra"].iloc[0] is None


def test_json_file_with_json_lines(tmp_path):
    path = tmp_path / "data.json"
    path.write_text('{"text": "가"}\n{"text": "나"}\n', encoding="utf-8")
    assert read_table(path)["text"].tolist() == ["가", "나"]


def write_workbook(path, sheets):
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
    book.save(path)


def test_xlsx_sheets(tmp_path):
    path = tmp_path / "data.xlsx"
    header = ["id", "text", "label"]
    body = [[r["id"], r["text"], r["label"]] for r in ROWS]
    write_workbook(path, {"요약": [["x"], [1]], "데이터": [header, *body, [None, None, None]]})
    assert read_table(path)["x"].tolist() == [1]  # default: first sheet
    for sheet in ("데이터", 1, "1"):
        df = read_table(path, sheet=sheet)
        assert_same(df)
        assert df.attrs["source"]["sheet"] == "데이터"


def test_xlsx_blank_rows_and_unnamed_columns(tmp_path):
    path = tmp_path / "data.xlsx"
    write_workbook(path, {"s": [[None], ["text", None, "label"], ["a", 5, 1], [None, None, None], ["b", None, 0]]})
    df = read_table(path)
    assert list(df.columns) == ["text", "Unnamed: 1", "label"]
    assert df["text"].tolist() == ["a", "b"]
    assert df["label"].tolist() == [1, 0]


def test_file_sha256(tmp_path):
    path = tmp_path / "data.bin"
    data = np.random.default_rng(0).bytes(3_000_000)
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------ errors


def message(exc_info) -> str:
    return str(exc_info.value)


def test_missing_file_suggests_close_name(tmp_path):
    (tmp_path / "train.csv").write_text("text\na\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_table(tmp_path / "trian.csv")
    assert "trian.csv" in message(err) and "not found" in message(err) and "train.csv" in message(err)


def test_directory(tmp_path):
    folder = tmp_path / "data.csv"
    folder.mkdir()
    with pytest.raises(DataError, match="is a folder"):
        read_table(folder)


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "data.xml"
    path.write_text("<a/>", encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_table(path)
    assert "data.xml" in message(err) and ".csv" in message(err) and ".xlsx" in message(err)
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(DataError, match="save it as .xlsx"):
        read_table(old)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"empty\.csv: the file is empty \(0 bytes\)"):
        read_table(path)
    blank = tmp_path / "blank.csv"
    blank.write_bytes(b"\xef\xbb\xbf\n  \n")
    with pytest.raises(DataError, match="blank.csv: the file has no data"):
        read_table(blank)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_header_but_no_rows(tmp_path, suffix):
    path = tmp_path / f"head{suffix}"
    if suffix == ".csv":
        path.write_text("text,label\n\n", encoding="utf-8")
    elif suffix == ".xlsx":
        write_workbook(path, {"Sheet": [["text", "label"]]})
    else:
        pd.DataFrame({"text": pd.Series([], dtype=str), "label": pd.Series([], dtype=str)}).to_parquet(path)
    with pytest.raises(DataError) as err:
        read_table(path)
    assert f"head{suffix}" in message(err) and "header" in message(err) and "no data rows" in message(err)
    assert "'text', 'label'" in message(err)


def test_empty_json_and_sheet(tmp_path):
    path = tmp_path / "e.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(DataError, match="e.json: has no records"):
        read_table(path)
    book = tmp_path / "e.xlsx"
    write_workbook(book, {"빈": []})
    with pytest.raises(DataError, match="sheet '빈' is empty"):
        read_table(book)


def test_wrong_number_of_fields_names_lines(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("text,label\n좋다,1\n나쁘다,0,extra\n그냥\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_table(path)
    text = message(err)
    assert "bad.csv" in text and "2 line(s)" in text
    assert "line 3 (data row 2) has 3 fields: '나쁘다,0,extra'" in text
    assert "line 4 (data row 3) has 1 field: '그냥'" in text


def test_unterminated_quote(tmp_path):
    path = tmp_path / "cut.csv"
    path.write_text('text,label\n"ok",1\n"잘린 텍스트,0\nmore,1\n', encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_table(path)
    assert "cut.csv" in message(err) and "line 3" in message(err) and "unterminated quote" in message(err)


def test_stray_quote_in_csv(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('text,label\n"a"b,1\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"q.csv: cannot parse line 2"):
        read_table(path)


def test_forced_encoding_that_fails(tmp_path):
    path = tmp_path / "korean.csv"
    path.write_bytes("text,label\nabc,1\n한국어,0\n".encode("cp949"))
    with pytest.raises(DataError) as err:
        read_table(path, encoding="utf-8")
    text = message(err)
    assert "korean.csv" in text and "'utf-8'" in text and "byte offset 17" in text and "line 3" in text
    assert "`encoding='cp949'`" in text
    with pytest.raises(DataError, match="decodes as utf-8"):
        utf8 = tmp_path / "utf8.csv"
        utf8.write_text("text\n가나다라\n", encoding="utf-8")
        read_table(utf8, encoding="ascii")


def test_unknown_encoding_name(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("text\na\n", encoding="utf-8")
    with pytest.raises(UsageError, match="unknown encoding 'klingon'"):
        read_table(path, encoding="klingon")


def test_undetectable_bytes(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"a,b\n\x81\x00\xff\xfe\x00\x01,2\n")
    with pytest.raises(DataError) as err:
        read_table(path)
    assert "binary.csv" in message(err) and "not UTF-8" in message(err) and "byte offset 4" in message(err)
    assert "`encoding`" in message(err)


def test_options_that_do_not_apply(tmp_path):
    csv_path = tmp_path / "a.csv"
    csv_path.write_text("text\na\n", encoding="utf-8")
    with pytest.raises(UsageError, match="`sheet`"):
        read_table(csv_path, sheet="x")
    pq = tmp_path / "a.parquet"
    pd.DataFrame({"text": ["a"]}).to_parquet(pq)
    with pytest.raises(UsageError, match="`encoding`"):
        read_table(pq, encoding="cp949")


def test_corrupt_parquet(tmp_path):
    good = tmp_path / "good.parquet"
    pd.DataFrame({"text": ["가"] * 100}).to_parquet(good)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[:-30])
    with pytest.raises(DataError, match="cut.parquet: not a readable Parquet file"):
        read_table(cut)


def test_corrupt_xlsx_and_missing_sheet(tmp_path):
    good = tmp_path / "good.xlsx"
    write_workbook(good, {"학습": [["text"], ["가"]], "검증": [["text"], ["나"]]})
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good.read_bytes()[:200])
    with pytest.raises(DataError, match="cut.xlsx: not a readable .xlsx file"):
        read_table(cut)
    with pytest.raises(DataError) as err:
        read_table(good, sheet="학습2")
    assert "good.xlsx" in message(err) and "'학습2'" in message(err) and "'학습', '검증'" in message(err)
    with pytest.raises(DataError, match="no sheet number 5"):
        read_table(good, sheet=5)


def test_bad_json_lines(tmp_path):
    path = tmp_path / "cut.jsonl"
    path.write_text('{"text": "가"}\n\n{"text": "나"}\n{"text": "다\n', encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_table(path)
    assert "cut.jsonl" in message(err) and "line 4" in message(err) and "truncated" in message(err)
    arr = tmp_path / "arr.jsonl"
    arr.write_text('{"text": "가"}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 2 is a JSON list, not an object"):
        read_table(arr)


def test_bad_json(tmp_path):
    path = tmp_path / "obj.json"
    path.write_text('{"data": []}', encoding="utf-8")
    with pytest.raises(DataError, match="obj.json: holds a JSON dict, not a list of records"):
        read_table(path)
    broken = tmp_path / "broken.json"
    broken.write_text('[{"text": "가"},\n {"text": ', encoding="utf-8")
    with pytest.raises(DataError, match="broken.json: not valid JSON at line 2"):
        read_table(broken)
    mixed = tmp_path / "mixed.json"
    mixed.write_text('[{"text": "가"}, "oops"]', encoding="utf-8")
    with pytest.raises(DataError, match="rows 2 are not JSON objects"):
        read_table(mixed)
