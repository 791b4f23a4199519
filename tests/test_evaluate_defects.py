"""Issue 9, part B: the defects a new user meets on the evaluate path, each with its oracle.

- read_scores keeps the user's probabilities (ranking metrics equal scikit-learn's on the file);
- ``uniform_accuracy`` = 1/K beside ``chance_accuracy`` (metrics.json, console, report);
- duplicated column names are a DataError naming the column, in every format and for a DataFrame;
- a pandas DataFrame is accepted wherever a data file is, and ``evaluate_arrays`` takes names;
- options that do not apply to the input are refused, naming them.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from modelqa.api.evaluate import evaluate, evaluate_arrays
from modelqa.errors import DataError, UsageError

# ------------------------------------------------------------------ read_scores: the user's values


def _tied_file(tmp_path):
    """3 classes; many rows tie on prob_a at 0.5 while their sums differ by 1e-10 (within tolerance), so
    dividing each row by its sum would break the ties and move class a's AUC / AP."""
    rows = []
    for i in range(40):
        label = ["a", "b", "c"][i % 3]
        eps = 2e-10 if label == "a" else -2e-10  # rescaling would rank every tied "a" row last
        rows.append((label, "0.5", "0.25", f"{0.25 + eps:.12f}"))
    for i in range(20):
        rows.append((["a", "b", "c"][i % 3], "0.2", "0.5", "0.3"))
    path = tmp_path / "tied.csv"
    path.write_text("label,prob_a,prob_b,prob_c\n" + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_ranking_metrics_use_the_probabilities_as_given(tmp_path):
    path = _tied_file(tmp_path)
    ev = evaluate(predictions=path, n_resamples=20)
    df = pd.read_csv(path)
    given = df[["prob_a", "prob_b", "prob_c"]].to_numpy()
    y = df["label"].map({"a": 0, "b": 1, "c": 2}).to_numpy()
    rescaled = given / given.sum(axis=1, keepdims=True)
    # the input can tell the two apart: rescaling moves scikit-learn's AUC of class a
    assert skm.roc_auc_score(y == 0, rescaled[:, 0]) != skm.roc_auc_score(y == 0, given[:, 0])
    for k, name in enumerate("abc"):
        pc = ev.result["per_class"][name]
        assert pc["roc_auc"] == pytest.approx(skm.roc_auc_score(y == k, given[:, k]), abs=1e-15)
        assert pc["average_precision"] == pytest.approx(skm.average_precision_score(y == k, given[:, k]), abs=1e-15)
    assert ev.metrics["roc_auc_ovr_macro"] == pytest.approx(
        np.mean([skm.roc_auc_score(y == k, given[:, k]) for k in range(3)]), abs=1e-15)
    np.testing.assert_array_equal(ev.predictions[["prob_a", "prob_b", "prob_c"]].to_numpy(), given)
    # with --normalize-probs every row is rescaled (the user asked for it)
    normed = evaluate(predictions=path, n_resamples=20, normalize_probs=True)
    assert normed.result["per_class"]["a"]["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y == 0, rescaled[:, 0]), abs=1e-15)


# ------------------------------------------------------------------ uniform_accuracy


def test_uniform_accuracy_beside_chance_accuracy(tmp_path):
    from modelqa.report.console import summary_lines

    counts = {"a": 50, "b": 25, "c": 15, "d": 6, "e": 4}
    y = [c for c, n in counts.items() for _ in range(n)]
    df = pd.DataFrame({"label": y, "predicted_label": y[::-1]})
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    ev = evaluate(predictions=path, n_resamples=20, out=tmp_path / "run")
    base = json.loads((tmp_path / "run" / "metrics.json").read_text())["baselines"]
    assert base["uniform_accuracy"] == pytest.approx(1 / 5)
    assert base["chance_accuracy"] == pytest.approx(sum((n / 100) ** 2 for n in counts.values()))
    line = dict(summary_lines(ev.result, ev.distribution))["Baselines"]
    assert "uniform 0.200 (1/5)" in line and "chance 0.340 " in line
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert "Uniform guess (1/5)" in html and "20.0%" in html


# ------------------------------------------------------------------ duplicated column names

def _write(kind: str, path, header: list[str], rows: list[list]):
    if kind in ("csv", "tsv"):
        sep = "," if kind == "csv" else "\t"
        path.write_text(sep.join(header) + "\n" + "".join(sep.join(map(str, r)) + "\n" for r in rows),
                        encoding="utf-8")
    elif kind in ("json", "jsonl"):
        records = ["{" + ", ".join(f'"{h}": {json.dumps(v)}' for h, v in zip(header, r, strict=True)) + "}"
                   for r in rows]
        path.write_text("[" + ", ".join(records) + "]" if kind == "json" else "\n".join(records) + "\n",
                        encoding="utf-8")
    elif kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table([pa.array([r[i] for r in rows]) for i in range(len(header))], names=header), path)
    else:
        import openpyxl

        book = openpyxl.Workbook()
        book.active.append(header)
        for r in rows:
            book.active.append(r)
        book.save(path)


@pytest.mark.parametrize("kind", ["csv", "tsv", "json", "jsonl", "parquet", "xlsx"])
def test_a_duplicated_column_name_is_an_error_naming_it(tmp_path, kind):
    path = tmp_path / f"dup.{kind}"
    _write(kind, path, ["text", "text", "label"], [["a", "b", "x"], ["c", "d", "y"]])
    with pytest.raises(DataError, match="column 'text' appears") as err:
        evaluate(predictions=path, label_col="label", pred_col="text")
    assert str(path) in str(err.value)


def test_a_dataframe_with_duplicated_columns_is_refused():
    df = pd.DataFrame([["a", "b", "x"]], columns=["text", "text", "label"])
    with pytest.raises(DataError, match="the DataFrame: column 'text' appears 2 times"):
        evaluate(predictions=df, pred_col="text")


def test_a_streamed_file_with_duplicated_columns_is_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("label,prob_a,prob_a\na,0.5,0.5\n", encoding="utf-8")
    with pytest.raises(DataError, match="column 'prob_a' appears 2 times"):
        evaluate(predictions=path, stream=True)


# ------------------------------------------------------------------ DataFrames and arrays


def test_dataframes_are_accepted_where_files_are(tmp_path, tiny_model):
    from conftest import keyword_frame

    from modelqa.api.predict import predict

    df = keyword_frame(8, seed=5).rename(columns={"sentence": "text", "emotion": "label"})
    df.index = np.arange(100, 100 + len(df))  # a notebook's frame need not have a RangeIndex
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    from_frame = evaluate(model=tiny_model, data=df, device="cpu", n_resamples=20, out=tmp_path / "run")
    from_file = evaluate(model=tiny_model, data=path, device="cpu", n_resamples=20)
    assert from_frame.result == from_file.result
    assert from_frame.run_info["data"] == "the DataFrame" and len(from_frame.run_info["data_sha256"]) == 64
    p_frame = predict(model=tiny_model, data=df, device="cpu")
    p_file = predict(model=tiny_model, data=path, device="cpu")
    pd.testing.assert_frame_equal(p_frame, p_file)
    # a predictions DataFrame, with the messages naming the DataFrame, its column and row
    preds = from_file.predictions[["true_label", "prob_neg", "prob_neu", "prob_pos"]]
    again = evaluate(predictions=preds, label_col="true_label", n_resamples=20)
    assert again.result["metrics"] == pytest.approx(from_file.result["metrics"])
    bad = preds.copy()
    bad.iloc[2, 0] = "happy"
    with pytest.raises(DataError, match=r"the DataFrame: column 'true_label' .*'happy' \(1 row, first row 3\)"):
        evaluate(predictions=bad, label_col="true_label")


def test_profile_and_training_take_a_dataframe(tmp_path):
    from modelqa.api.tabular import profile
    from modelqa.api.train import train_text

    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0] * 5, "colour": ["r", "g", "b", "r"] * 5, "y": ["p", "q"] * 10})
    path = tmp_path / "t.parquet"
    df.to_parquet(path, index=False)  # keeps the frame's dtypes
    a, b = profile(df, target="y"), profile(path, target="y")
    assert a["path"] == "the DataFrame" and len(a["sha256"]) == 64
    for doc in (a, b):
        for key in ("sha256", "path", "format"):
            doc.pop(key, None)
    assert a == b
    one_class = pd.DataFrame({"text": ["a b", "c d", "e f"], "label": ["x", "x", "x"]})
    with pytest.raises(DataError, match="the DataFrame: column 'label' has a single class"):
        train_text(data=one_class, out=tmp_path / "m")


def test_train_tabular_takes_a_dataframe(tmp_path):
    from modelqa.api.tabular import train_tabular

    rng = np.random.default_rng(0)
    x = rng.normal(size=120)
    df = pd.DataFrame({"x": x, "z": rng.normal(size=120), "y": np.where(x > 0, "up", "down")})
    res = train_tabular(data=df, target="y", out=tmp_path / "m", epochs=3, seed=0)
    assert res.split_sizes == {"train": 72, "validation": 24, "test": 24}
    assert res.evaluation is not None and res.evaluation.metrics["accuracy"] > 0.5


def test_evaluate_arrays_takes_names_and_names_the_argument_and_row():
    y_true = pd.Series(["cat", "dog", "dog", "emu", "cat"])
    y_pred = ["cat", "dog", "cat", "emu", "emu"]
    ev = evaluate_arrays(y_true=y_true, y_pred=y_pred, labels=["cat", "dog", "emu"], n_resamples=20)
    assert ev.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert ev.metrics["f1_macro"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro"))
    inferred = evaluate_arrays(y_true=y_true, y_pred=y_pred, n_resamples=20)
    assert inferred.labels == ["cat", "dog", "emu"] and inferred.result == ev.result
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.5, 0.4, 0.1], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]])
    ev = evaluate_arrays(y_true=y_true, probs=probs, labels=["cat", "dog", "emu"], n_resamples=20)
    assert ev.metrics["log_loss"] == pytest.approx(skm.log_loss(y_true, probs, labels=["cat", "dog", "emu"]))
    with pytest.raises(DataError, match=r"evaluate_arrays: column 'y_true' .*'cow' \(1 row, first row 3\)"):
        evaluate_arrays(y_true=["cat", "dog", "cow"], y_pred=["cat", "dog", "dog"], labels=["cat", "dog"])
    with pytest.raises(UsageError, match="labels"):
        evaluate_arrays(y_true=["cat", "dog"], probs=probs[:2, :2])


# ------------------------------------------------------------------ options that do not apply


@pytest.mark.parametrize(("kw", "flags"), [
    ({"chunk_rows": 100}, ["--chunk-rows"]),
    ({"restart": True, "max_tokens": 512}, ["--restart", "--max-tokens"]),
    ({"ray_actors": 2}, ["--ray-actors"]),
    ({"batch_size": 8, "device": "cpu"}, ["--batch-size", "--device"]),
])
def test_text_model_options_are_refused_with_a_predictions_file(tmp_path, kw, flags):
    path = tmp_path / "p.csv"
    pd.DataFrame({"label": ["a", "b"], "predicted_label": ["a", "a"]}).to_csv(path, index=False)
    with pytest.raises(UsageError) as err:
        evaluate(predictions=path, **kw)
    msg = str(err.value)
    assert all(flag in msg for flag in flags), msg
    assert "not apply to a --predictions file" in msg


def test_predictions_options_are_refused_with_a_model(tmp_path, tiny_model):
    with pytest.raises(UsageError, match="--memory-budget does not apply to a --model run"):
        evaluate(model=tiny_model, data=tmp_path / "never-read.csv", memory_budget="1GB")
    with pytest.raises(UsageError, match="--scores does not apply"):
        evaluate(model=tiny_model, data=tmp_path / "never-read.csv", scores="logits")


def test_regression_refuses_streaming_options(tmp_path):
    path = tmp_path / "r.csv"
    pd.DataFrame({"y": [1.0, 2.0], "prediction": [1.5, 2.5]}).to_csv(path, index=False)
    with pytest.raises(UsageError, match="--memory-budget does not apply to a regression run"):
        evaluate(predictions=path, task="regression", label_col="y", memory_budget="1GB")


# ------------------------------------------------------------------ --drop-col and the old --id-col


def test_drop_col_and_the_deprecated_id_col_spelling(tmp_path, capsys):
    from modelqa.cli.main import main

    path = tmp_path / "t.csv"
    pd.DataFrame({"cust": [f"c{i}" for i in range(30)], "x": np.arange(30.0), "y": ["a", "b", "c"] * 10}).to_csv(
        path, index=False)
    assert main(["profile", str(path), "--target", "y", "--drop-col", "cust", "--format", "json"]) == 0
    new = json.loads(capsys.readouterr().out)
    assert main(["profile", str(path), "--target", "y", "--id-col", "cust", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert "--id-col is deprecated" in captured.err and "--drop-col" in captured.err
    old = json.loads(captured.out)
    assert old == new
    assert main(["profile", str(path), "--target", "y", "--format", "json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert plain != new  # the option does something: cust is treated as an ID only when named


# ------------------------------------------------------------------ the memory budget bounds the process


def test_exact_scores_are_counted_at_their_real_cost():
    from modelqa.api._streaming import exact_score_bytes, keeps_exact_scores, working_set_bytes

    # the case: 2,000,000 x 58 with the default 1 GiB kept exact scores (n*K*8 = 928 MB fit)
    # and peaked at about 2.5 GB; counted with the sort workspace and the rest of the pass it is binned
    assert 2_000_000 * 58 * 8 <= 1 << 30
    assert not keeps_exact_scores(2_000_000, 58, 1 << 30)
    assert exact_score_bytes(2_000_000, 58) > 2_000_000 * 58 * 8 + 6 * 8 * 2_000_000 - 1
    small = 100_000
    assert keeps_exact_scores(small, 58, 1 << 30)
    assert exact_score_bytes(small, 58) + working_set_bytes(58, 100_000, 20_000, 10_000) <= 1 << 30
    assert not keeps_exact_scores(None, 58, 1 << 40)  # a CSV's row count is not known up front


def test_preallocated_score_store_equals_the_list_of_chunks():
    from modelqa.metrics.streaming import ClassificationState

    rng = np.random.default_rng(4)
    y = rng.integers(0, 4, 900)
    p = rng.dirichlet(np.ones(4), 900)
    listed = ClassificationState(4, keep_scores=True)
    stored = ClassificationState(4, keep_scores=True, capacity=900)
    for part in np.array_split(np.arange(900), 7):
        listed.update(y[part], p[part])
        stored.update(y[part], p[part])
    a, b = listed.compute(list("abcd"), n_resamples=10), stored.compute(list("abcd"), n_resamples=10)
    assert a == b and b["auc_method"] == "exact"
    for k, name in enumerate("abcd"):
        assert b["per_class"][name]["roc_auc"] == pytest.approx(skm.roc_auc_score(y == k, p[:, k]), abs=1e-15)
