"""Columns, texts and labels: values, row numbers and messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelqa.data import (
    check_same_length,
    encode_labels,
    infer_classes,
    normalize_label,
    read_table,
    require_columns,
    row_numbers,
    text_values,
)
from modelqa.errors import DataError, UsageError

PATH = "리뷰.csv"


def test_require_columns_ok_and_optional():
    df = pd.DataFrame({"sentence": ["가"], "emotion": ["기쁨"]})
    got = require_columns(df, {"text": "sentence", "label": "emotion", "id": None}, path=PATH)
    assert got == {"text": "sentence", "label": "emotion"}


def test_require_columns_names_every_missing_one():
    df = pd.DataFrame({"Sentence": ["가"], "emotion": ["기쁨"], "문서번호": [1]})
    with pytest.raises(DataError) as err:
        require_columns(df, {"text": "sentence", "label": "label", "id": "doc_id"}, path=PATH)
    text = str(err.value)
    assert text.startswith("리뷰.csv: missing columns")
    assert "'sentence' (`text_col`)" in text and "'label' (`label_col`)" in text and "'doc_id' (`id_col`)" in text
    assert "'Sentence', 'emotion', '문서번호'" in text
    assert "did you mean `text_col` 'Sentence'?" in text


def test_require_columns_separator_hint():
    df = pd.DataFrame({"text;label": ["가;1"]})
    with pytest.raises(DataError, match="separator"):
        require_columns(df, {"text": "text"}, path=PATH)


def test_require_columns_same_column_twice():
    df = pd.DataFrame({"text": ["가"]})
    with pytest.raises(UsageError, match="`text_col` and `label_col` both name column 'text'"):
        require_columns(df, {"text": "text", "label": "text"}, path=PATH)


def test_text_values_converts_and_keeps():
    df = pd.DataFrame({"text": ["안녕하세요", 7, 1.5, 3.0, "  공백  "]}, dtype=object)
    col = text_values(df, "text", path=PATH)
    assert col.texts == ["안녕하세요", "7", "1.5", "3", "  공백  "]
    assert col.kept.tolist() == [0, 1, 2, 3, 4] and col.skipped_rows == []


def test_text_values_empty_rows_error():
    df = pd.DataFrame({"text": ["좋다", None, "   ", "나쁘다", float("nan")]}, dtype=object)
    with pytest.raises(DataError) as err:
        text_values(df, "text", path=PATH)
    text = str(err.value)
    assert "리뷰.csv" in text and "column 'text'" in text and "rows 2, 3, 5 (3 of 5 rows)" in text
    assert "`on_empty='skip'`" in text


def test_text_values_skip_and_row_numbers_follow_index():
    df = pd.DataFrame({"text": ["좋다", None, "   ", "나쁘다", "그저"]})
    col = text_values(df, "text", path=PATH, on_empty="skip")
    assert col.texts == ["좋다", "나쁘다", "그저"]
    assert col.kept.tolist() == [0, 3, 4] and col.skipped_rows == [2, 3]
    sub = df.iloc[[1, 3]]  # filtered rows keep their file row numbers
    with pytest.raises(DataError, match=r"in row 2 \(1 of 2 rows\)"):
        text_values(sub, "text", path=PATH)


def test_text_values_caps_row_list_and_all_empty():
    df = pd.DataFrame({"text": [None] * 15 + ["가"]})
    with pytest.raises(DataError, match=r"rows 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 5 more \(15 of 16 rows\)"):
        text_values(df, "text", path=PATH)
    with pytest.raises(DataError, match="no non-empty text"):
        text_values(df.iloc[:15], "text", path=PATH, on_empty="skip")
    with pytest.raises(UsageError, match="`on_empty`"):
        text_values(df, "text", path=PATH, on_empty="drop")
    with pytest.raises(DataError, match="missing column 'sentence'"):
        text_values(df, "sentence", path=PATH)


def test_normalize_label():
    assert [normalize_label(v) for v in [" 긍정 ", 1, 1.0, np.int64(2), 0.5, None, float("nan"), "  "]] == [
        "긍정", "1", "1", "2", "0.5", None, None, None]


def test_infer_classes_natural_order():
    assert infer_classes(["10", "2", "b", "가", "a", 3.0, " 2"], path=PATH, column="label") == [
        "2", "3", "10", "a", "b", "가"]


def test_encode_labels_without_model_matches_infer_classes():
    values = pd.Series(["부정", "긍정", "중립", "긍정"])
    classes = infer_classes(values, path=PATH, column="label")
    ids = encode_labels(values, label2id=None, path=PATH, column="label")
    assert [classes[i] for i in ids] == ["부정", "긍정", "중립", "긍정"]
    assert ids.dtype == np.int64


def test_encode_labels_by_name_and_by_id():
    label2id = {"부정": 0, "긍정": 1}
    assert encode_labels(["긍정", " 부정"], label2id=label2id, path=PATH, column="y").tolist() == [1, 0]
    assert encode_labels(["1", "0", "1"], label2id=label2id, path=PATH, column="y").tolist() == [1, 0, 1]
    assert encode_labels([1, 0.0], label2id=label2id, path=PATH, column="y").tolist() == [1, 0]
    hf = {"LABEL_0": 0, "LABEL_1": 1}
    assert encode_labels(np.array([0, 1, 1]), label2id=hf, path=PATH, column="y").tolist() == [0, 1, 1]
    stars = {"1": 0, "2": 1, "3": 2}  # names that look like ids win
    assert encode_labels(["3", "1"], label2id=stars, path=PATH, column="y").tolist() == [2, 0]


def test_encode_labels_unknown_names_with_counts():
    label2id = {"부정": 0, "긍정": 1}
    values = pd.Series(["긍정", "화남", "화남", "지루함", "부정"])
    with pytest.raises(DataError) as err:
        encode_labels(values, label2id=label2id, path=PATH, column="감정")
    text = str(err.value)
    assert "리뷰.csv" in text and "column '감정'" in text and "2 labels the model does not know" in text
    assert "'화남' (2 rows, first row 2)" in text and "'지루함' (1 row, first row 4)" in text
    assert "The model knows: '부정', '긍정' (ids 0..1)" in text


def test_encode_labels_ids_out_of_range():
    with pytest.raises(DataError) as err:
        encode_labels(["0", "1", "5", "5"], label2id={"a": 0, "b": 1}, path=PATH, column="y")
    assert "'5' (2 rows, first row 3)" in str(err.value) and "ids 0..1" in str(err.value)


def test_encode_labels_mixed_names_and_ids():
    with pytest.raises(DataError, match="not a mix of both"):
        encode_labels(["a", "1"], label2id={"a": 0, "b": 1}, path=PATH, column="y")


def test_missing_labels_name_rows():
    values = pd.Series(["긍정", None, "  ", "부정"], index=[10, 11, 12, 13])
    with pytest.raises(DataError, match=r"column 'y' has no label in rows 12, 13 \(2 of 4 rows\)"):
        encode_labels(values, label2id=None, path=PATH, column="y")
    with pytest.raises(DataError, match=r"no label in rows 5, 7"):
        infer_classes(["a", None, "b", None], path=PATH, column="y", rows=[4, 5, 6, 7])


def test_rows_match_file_rows_after_read(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("text,label\n가,1\n\n나,\n다,0\n", encoding="utf-8")
    df = read_table(path)
    assert row_numbers(df).tolist() == [1, 2, 3]
    with pytest.raises(DataError, match=r"data.csv: column 'label' has no label in row 2 "):
        encode_labels(df["label"], label2id=None, path=path, column="label")


def test_check_same_length():
    assert check_same_length(texts=[1, 2], labels=np.zeros(2)) == 2
    with pytest.raises(DataError, match="preds.csv: lengths differ: labels has 3, predictions has 2"):
        check_same_length(path="preds.csv", labels=[1, 2, 3], predictions=[1, 2])


def test_unknown_label_suggests_a_close_name(tmp_path):
    from modelqa.data.schema import encode_labels
    from modelqa.errors import DataError

    values = pd.Series(["sports", "sprots", "tech"])
    with pytest.raises(DataError) as info:
        encode_labels(values, label2id={"sports": 0, "tech": 1}, path=tmp_path / "d.csv", column="label")
    assert "'sprots' (1 row, first row 2)" in info.value.message
    assert "did you mean 'sports' for 'sprots'" in str(info.value)
