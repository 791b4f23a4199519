"""``modelqa.predict``: label names and probabilities for unlabelled texts, written as
.csv / .parquet / .xlsx with the documented columns, in input order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelqa.api.evaluate import evaluate
from modelqa.api.predict import predict
from modelqa.errors import DataError, UsageError

TEXTS = ["a much longer text than the others, with many many words in it to make it long",
         "short", "=SUM(A1:A9)", "한국어 문장입니다", "medium sized text here", "@user hello", "x"]
IDS = [f"id{i:02d}" for i in range(len(TEXTS))]
COLUMNS = ["doc_id", "text", "predicted_label", "confidence", "prob_neg", "prob_neu", "prob_pos"]
PROB_COLS = ["prob_neg", "prob_neu", "prob_pos"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("predict") / "new.csv"
    pd.DataFrame({"doc_id": IDS, "text": TEXTS}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def frame(tiny_model, data):
    return predict(model=tiny_model, data=data, id_col="doc_id", device="cpu", batch_size=2)


def test_columns_and_order(frame):
    assert list(frame.columns) == COLUMNS
    assert frame["doc_id"].tolist() == IDS
    assert frame["text"].tolist() == TEXTS  # input order, although batches are sorted by length
    probs = frame[PROB_COLS].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(frame["confidence"], probs.max(axis=1))
    assert frame["predicted_label"].tolist() == [["neg", "neu", "pos"][i] for i in probs.argmax(axis=1)]


def test_same_probabilities_as_evaluate(tiny_model, frame, tmp_path):
    labelled = tmp_path / "labelled.csv"
    pd.DataFrame({"doc_id": IDS, "text": TEXTS, "label": ["pos"] * len(TEXTS)}).to_csv(labelled, index=False)
    ev = evaluate(model=tiny_model, data=labelled, id_col="doc_id", device="cpu", batch_size=5, n_resamples=10)
    np.testing.assert_allclose(ev.predictions[PROB_COLS].to_numpy(), frame[PROB_COLS].to_numpy(), atol=1e-6)
    assert ev.predictions["predicted_label"].tolist() == frame["predicted_label"].tolist()


def test_batch_size_does_not_change_results(tiny_model, data, frame):
    one = predict(model=tiny_model, data=data, device="cpu", batch_size=1)
    np.testing.assert_allclose(one[PROB_COLS].to_numpy(), frame[PROB_COLS].to_numpy(), atol=1e-5)
    assert "doc_id" not in one.columns


def test_writes_csv(tiny_model, data, frame, tmp_path):
    out = tmp_path / "preds.csv"
    predict(model=tiny_model, data=data, id_col="doc_id", device="cpu", out=out)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(out, encoding="utf-8-sig")
    assert list(back.columns) == COLUMNS
    assert "true_label" not in back.columns and "correct" not in back.columns
    assert back["doc_id"].tolist() == IDS
    assert back["text"].tolist() == ["'" + t if t[0] in "=@" else t for t in TEXTS]
    np.testing.assert_allclose(back[PROB_COLS].to_numpy(), frame[PROB_COLS].to_numpy(), atol=1e-6)


def test_writes_parquet_exactly(tiny_model, data, frame, tmp_path):
    out = tmp_path / "preds.parquet"
    predict(model=tiny_model, data=data, id_col="doc_id", device="cpu", out=out)
    back = pd.read_parquet(out)
    assert list(back.columns) == COLUMNS
    assert back["text"].tolist() == TEXTS  # a data format: values kept exactly
    np.testing.assert_array_equal(back[PROB_COLS].to_numpy(), frame[PROB_COLS].to_numpy())


def test_writes_xlsx(tiny_model, data, frame, tmp_path):
    out = tmp_path / "preds.xlsx"
    predict(model=tiny_model, data=data, id_col="doc_id", device="cpu", out=out)
    back = pd.read_excel(out, engine="openpyxl")
    assert list(back.columns) == COLUMNS
    assert back["doc_id"].tolist() == IDS
    assert back["text"].tolist() == ["'" + t if t[0] in "=@" else t for t in TEXTS]
    np.testing.assert_allclose(back[PROB_COLS].to_numpy(), frame[PROB_COLS].to_numpy(), atol=1e-6)


def test_unknown_suffix_is_refused_before_any_work(tiny_model, data, tmp_path):
    out = tmp_path / "preds.txt"
    with pytest.raises(UsageError, match=r"\.csv, \.parquet, \.xlsx"):
        predict(model=tiny_model, data=data, out=out)
    assert not out.exists()


def test_on_empty(tiny_model, tmp_path):
    path = tmp_path / "gaps.csv"
    pd.DataFrame({"n": [1, 2, 3, 4], "text": ["one", None, "three", " "]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="rows 2, 4"):
        predict(model=tiny_model, data=path, device="cpu", out=tmp_path / "p.csv")
    assert not (tmp_path / "p.csv").exists()
    got = predict(model=tiny_model, data=path, id_col="n", device="cpu", on_empty="skip")
    assert got["text"].tolist() == ["one", "three"]
    assert got["n"].tolist() == ["1", "3"]
    assert got.attrs["skipped_rows"] == [2, 4]


def test_unnamed_model_with_labels(tiny_model_unnamed, data):
    got = predict(model=tiny_model_unnamed, data=data, labels=["spam", "ham"], device="cpu")
    assert [c for c in got.columns if c.startswith("prob_")] == ["prob_spam", "prob_ham"]
    assert set(got["predicted_label"]) <= {"spam", "ham"}
