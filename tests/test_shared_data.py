"""Runs on the real labelled sets in ../shared/data when they are there (skipped otherwise)."""

from __future__ import annotations

import pandas as pd
from conftest import shared_file

from modelqa.data.load import read_table


def test_korean_chatbot_set_reads_and_evaluates(tiny_model, tmp_path):
    """Korean questions with integer labels 0/1/2 through evaluate with a label map."""
    import modelqa

    path = shared_file("korean_chatbot.csv")
    df = read_table(path)
    assert {"Q", "A", "label"} <= set(df.columns)
    assert df["Q"].str.contains("[가-힣]", regex=True).mean() > 0.9
    # the file has some labels with trailing spaces ("2  "): they are the same class
    sample = df.assign(key=df["label"].str.strip()).groupby("key").head(20).drop(columns="key")
    sample_path = tmp_path / "ko.csv"
    sample.to_csv(sample_path, index=False, encoding="cp949", errors="replace")
    ev = modelqa.evaluate(model=tiny_model, data=sample_path, text_col="Q", label_col="label",
                          out=tmp_path / "run")
    assert ev.result["n_samples"] == len(sample) == 60
    # integer labels 0/1/2 are read as the model's ids (neg/neu/pos)
    assert ev.per_class["support"].tolist() == [20, 20, 20]
    written = pd.read_csv(tmp_path / "run" / "predictions.csv", encoding="utf-8-sig")
    assert written["text"].tolist() == sample["Q"].tolist()
