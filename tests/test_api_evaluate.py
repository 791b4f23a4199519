"""``modelqa.evaluate(model=..., data=...)`` end to end on the tiny BERT fixture: the run
folder contract, the engine's equality with a plain one-by-one forward pass, label
handling, and the refusal of pickled weights."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from modelqa.api.evaluate import evaluate
from modelqa.errors import DataError, ModelError, UsageError

LABELS = ["neg", "neu", "pos"]
LONG = " ".join(["tokens"] * 300)  # longer than the tiny model's 128 positions
ROWS = [
    ("A-01", "a great film, I loved it", "pos"),
    ("A-02", "=cmd|' /C calc'!A0", "neg"),
    ("A-03", "<script>alert('x')</script> & more", "neu"),
    ("A-04", "정말 재미없는 영화였다", "neg"),
    ("A-05", "okay", "neu"),
    ("A-06", LONG, "pos"),
    ("A-07", "terrible acting, boring plot, would not watch again", "neg"),
    ("A-08", "+1 from me", "pos"),
    ("A-09", "it was fine I guess, nothing special at all", "neu"),
    ("A-10", "wow", "pos"),
    ("A-11", "bad", "neg"),
    ("A-12", "meh meh meh", "neu"),
]
SCHEMA_METRICS = {"accuracy", "balanced_accuracy", "precision_macro", "recall_macro", "f1_macro",
                  "precision_weighted", "recall_weighted", "f1_weighted", "precision_micro", "recall_micro",
                  "f1_micro", "mcc", "cohen_kappa", "log_loss", "brier_score", "roc_auc_ovr_macro",
                  "roc_auc_ovr_weighted", "average_precision_macro", "top_2_accuracy", "ece"}


def strict_json(path):
    def refuse(name):
        raise AssertionError(f"{path} holds {name}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def read_csv(path):
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"ID": str}, keep_default_na=False)


def write_data(path, rows=ROWS):
    pd.DataFrame(rows, columns=["ID", "text", "label"]).to_csv(path, index=False, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run(tiny_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("evaluate")
    data = write_data(folder / "test.csv")
    out = folder / "run"
    ev = evaluate(model=tiny_model, data=data, id_col="ID", out=out, device="cpu", batch_size=4)
    return ev, out, data


def direct_probs(model_dir, texts):
    """The oracle: an unsorted, unpadded, one-text-at-a-time transformers forward pass."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    out = []
    with torch.no_grad():
        for text in texts:
            enc = tok(text, truncation=True, max_length=128, return_tensors="pt")
            out.append(torch.softmax(model(**enc).logits[0].double(), dim=-1).numpy())
    return np.vstack(out)


def test_predictions_csv_contract(run):
    ev, out, _ = run
    raw = (out / "predictions.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel opens Hangul correctly
    frame = read_csv(out / "predictions.csv")
    assert list(frame.columns) == ["ID", "text", "true_label", "predicted_label", "confidence", "correct",
                                   "prob_neg", "prob_neu", "prob_pos"]
    assert frame["ID"].tolist() == [r[0] for r in ROWS]
    assert frame["true_label"].tolist() == [r[2] for r in ROWS]
    probs = frame[["prob_neg", "prob_neu", "prob_pos"]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(frame["confidence"], probs.max(axis=1), atol=1e-7)
    assert frame["predicted_label"].tolist() == [LABELS[i] for i in probs.argmax(axis=1)]
    assert frame["correct"].tolist() == (frame["true_label"] == frame["predicted_label"]).tolist()
    # Text from data is neutralised against formula injection, otherwise kept (Hangul intact).
    texts = frame["text"].tolist()
    assert texts[1] == "'=cmd|' /C calc'!A0"
    assert texts[7] == "'+1 from me"
    assert texts[3] == "정말 재미없는 영화였다"
    # The in-memory table keeps the raw text.
    assert ev.predictions["text"].iloc[1] == "=cmd|' /C calc'!A0"


def test_probabilities_equal_a_direct_forward_pass(run, tiny_model):
    _, out, _ = run
    frame = read_csv(out / "predictions.csv")
    expected = direct_probs(tiny_model, [r[1] for r in ROWS])
    probs = frame[["prob_neg", "prob_neu", "prob_pos"]].to_numpy()
    np.testing.assert_array_equal(probs.argmax(axis=1), expected.argmax(axis=1))
    np.testing.assert_allclose(probs, expected, atol=1e-4)


def test_metrics_json_schema_and_values(run):
    ev, out, _ = run
    doc = strict_json(out / "metrics.json")
    assert doc["schema_version"] == 1
    assert doc["task"] == "multiclass"
    assert doc["n_samples"] == len(ROWS)
    assert doc["labels"] == LABELS
    assert SCHEMA_METRICS <= set(doc["metrics"])
    assert "top_3_accuracy" not in doc["metrics"]  # only 3 classes
    assert set(doc["per_class"]) == set(LABELS)
    for stats in doc["per_class"].values():
        assert {"precision", "recall", "f1", "support", "predicted_count", "roc_auc", "average_precision"} <= set(stats)
    assert doc["confusion_matrix"]["labels"] == LABELS
    assert set(doc["baselines"]) >= {"chance_accuracy", "majority_accuracy", "majority_label"}
    ci = doc["confidence_intervals"]
    assert ci["level"] == 0.95 and ci["method"] == "bootstrap" and ci["n_resamples"] == 1000
    assert ci["accuracy"][0] <= doc["metrics"]["accuracy"] <= ci["accuracy"][1]
    # The numbers follow from predictions.csv the way scikit-learn computes them.
    frame = read_csv(out / "predictions.csv")
    y = frame["true_label"].map(LABELS.index).to_numpy()
    p = frame["predicted_label"].map(LABELS.index).to_numpy()
    probs = frame[["prob_neg", "prob_neu", "prob_pos"]].to_numpy()
    m = doc["metrics"]
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, p))
    assert m["f1_macro"] == pytest.approx(skm.f1_score(y, p, average="macro", zero_division=0))
    exact = ev.predictions[["prob_neg", "prob_neu", "prob_pos"]].to_numpy(dtype=np.float64)
    np.testing.assert_allclose(exact, probs, atol=1e-7)
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, exact / exact.sum(axis=1, keepdims=True),
                                                       labels=[0, 1, 2]), rel=1e-5)
    assert doc["confusion_matrix"]["counts"] == skm.confusion_matrix(y, p, labels=[0, 1, 2]).tolist()
    assert ev.metrics == m


def test_errors_and_confusions(run):
    _, out, _ = run
    frame = read_csv(out / "predictions.csv")
    errors = read_csv(out / "errors.csv")
    wrong = frame[~frame["correct"]]
    assert sorted(errors["ID"]) == sorted(wrong["ID"])
    assert not errors["correct"].any()
    assert errors["confidence"].is_monotonic_decreasing
    confusions = read_csv(out / "confusions.csv")
    expected = wrong.groupby(["true_label", "predicted_label"]).size()
    got = confusions.set_index(["true_label", "predicted_label"])["count"]
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
    assert confusions["count"].is_monotonic_decreasing


def test_run_json(run, tiny_model):
    _, out, data = run
    info = strict_json(out / "run.json")
    assert info["data_sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert info["model"] == str(tiny_model)
    assert info["data"] == str(data)
    assert info["command"]
    assert {"python", "torch", "transformers", "numpy"} <= set(info["versions"])
    assert info["timing"]["total_s"] >= info["timing"]["predict_s"] >= 0
    assert info["truncated"] == 1  # the 300-word text
    assert info["max_length"] == 128


def test_report_html_escapes_text(run):
    ev, out, _ = run
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "<script>alert(" not in html
    if not ev.predictions["correct"].iloc[2]:  # the row is one of the errors the report lists
        assert "&lt;script&gt;alert(" in html
    assert "재미없는" in html or ev.predictions["correct"].iloc[3]


def test_evaluation_object(run, tmp_path):
    ev, out, _ = run
    assert ev.labels == LABELS
    assert list(ev.per_class.index) == LABELS
    assert ev.confusion.to_numpy().sum() == len(ROWS)
    assert list(ev.confusion.index) == LABELS
    assert len(ev.errors) == int((~ev.predictions["correct"]).sum())
    paths = ev.save(tmp_path / "again")
    assert {p.name for p in paths.values()} == {p.name for p in out.iterdir()}
    assert strict_json(paths["metrics"]) == strict_json(out / "metrics.json")


# ---------------------------------------------------------------- labels


def test_integer_id_labels_equal_name_labels(run, tiny_model, tmp_path):
    ev, _, _ = run
    rows = [(i, t, str(LABELS.index(lab))) for i, t, lab in ROWS]
    data = write_data(tmp_path / "ids.csv", rows)
    ev_ids = evaluate(model=tiny_model, data=data, id_col="ID", device="cpu", n_resamples=10)
    assert ev_ids.predictions["true_label"].tolist() == [r[2] for r in ROWS]
    assert ev_ids.metrics["accuracy"] == ev.metrics["accuracy"]


def test_unknown_labels_are_listed_with_counts(tiny_model, tmp_path):
    rows = [*ROWS[:4], ("X1", "x", "happy"), ("X2", "y", "happy"), ("X3", "z", "sad")]
    data = write_data(tmp_path / "bad.csv", rows)
    with pytest.raises(DataError) as err:
        evaluate(model=tiny_model, data=data, out=tmp_path / "run", device="cpu")
    msg = str(err.value)
    assert "'happy' (2 rows, first row 5)" in msg and "'sad' (1 row, first row 7)" in msg
    assert "bad.csv" in msg and "'label'" in msg and "'neg'" in msg
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("option", [{"labels": ["a", "b"]}, {"label_map": '{"0": "a", "1": "b"}'},
                                    {"label_map": {"a": 0, "b": 1}}])
def test_unnamed_model_takes_names_from_options(tiny_model_unnamed, tmp_path, option):
    data = write_data(tmp_path / "ab.csv", [("1", "good", "b"), ("2", "bad", "a"), ("3", "fine", "b")])
    ev = evaluate(model=tiny_model_unnamed, data=data, device="cpu", n_resamples=10, **option)
    assert ev.labels == ["a", "b"]
    assert [c for c in ev.predictions.columns if c.startswith("prob_")] == ["prob_a", "prob_b"]
    assert ev.predictions["true_label"].tolist() == ["b", "a", "b"]


def test_unnamed_model_without_names_reads_integer_ids(tiny_model_unnamed, tmp_path):
    data = write_data(tmp_path / "01.csv", [("1", "good", "1"), ("2", "bad", "0")])
    ev = evaluate(model=tiny_model_unnamed, data=data, device="cpu", n_resamples=10)
    assert ev.labels == ["LABEL_0", "LABEL_1"]
    assert ev.predictions["true_label"].tolist() == ["LABEL_1", "LABEL_0"]


def test_wrong_number_of_labels(tiny_model_unnamed, tmp_path):
    data = write_data(tmp_path / "ab.csv", [("1", "good", "b")])
    with pytest.raises(UsageError, match=r"3 classes \(a, b, c\).*2 outputs"):
        evaluate(model=tiny_model_unnamed, data=data, labels=["a", "b", "c"], out=tmp_path / "run")
    with pytest.raises(UsageError, match="no name for class id"):
        evaluate(model=tiny_model_unnamed, data=data, label_map='{"0": "a"}', out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_on_empty_skip(tiny_model, tmp_path):
    rows = [ROWS[0], ("E1", "", "neg"), ROWS[1], ("E2", "   ", "pos"), ROWS[2]]
    data = write_data(tmp_path / "empty.csv", rows)
    with pytest.raises(DataError, match=r"'text' has empty text in rows 2, 4 \(2 of 5 rows\)"):
        evaluate(model=tiny_model, data=data, device="cpu")
    ev = evaluate(model=tiny_model, data=data, id_col="ID", on_empty="skip", device="cpu", n_resamples=10)
    assert ev.predictions["ID"].tolist() == ["A-01", "A-02", "A-03"]
    assert ev.run_info["skipped_empty_rows"] == 2
    assert ev.result["n_samples"] == 3


# ---------------------------------------------------------------- safety


@pytest.fixture(scope="module")
def pickle_model(tiny_model, tmp_path_factory):
    import torch
    from safetensors.torch import load_file

    folder = tmp_path_factory.mktemp("pickled") / "bin_only"
    folder.mkdir()
    for item in tiny_model.iterdir():
        if item.name != "model.safetensors":
            shutil.copy(item, folder / item.name)
    torch.save(load_file(tiny_model / "model.safetensors"), folder / "pytorch_model.bin")
    return folder


def test_pickle_only_folder_is_refused(pickle_model, tmp_path):
    data = write_data(tmp_path / "d.csv", ROWS[:3])
    with pytest.raises(ModelError) as err:
        evaluate(model=pickle_model, data=data, out=tmp_path / "run", device="cpu")
    msg = str(err.value)
    assert "pytorch_model.bin" in msg and "safetensors" in msg and "`allow_pickle=True`" in msg
    assert not (tmp_path / "run").exists()


def test_pickle_allowed_when_asked(pickle_model, tiny_model, tmp_path):
    data = write_data(tmp_path / "d.csv", ROWS[:5])
    ev = evaluate(model=pickle_model, data=data, allow_pickle=True, device="cpu", n_resamples=10)
    ref = evaluate(model=tiny_model, data=data, device="cpu", n_resamples=10)
    cols = ["prob_neg", "prob_neu", "prob_pos"]
    np.testing.assert_allclose(ev.predictions[cols].to_numpy(), ref.predictions[cols].to_numpy(), atol=1e-6)


def test_model_folder_errors(tmp_path):
    data = write_data(tmp_path / "d.csv", ROWS[:3])
    with pytest.raises(ModelError, match="does not exist"):
        evaluate(model=tmp_path / "nope", data=data)
    (tmp_path / "empty_model").mkdir()
    with pytest.raises(ModelError, match="config.json"):
        evaluate(model=tmp_path / "empty_model", data=data)
    with pytest.raises(UsageError, match="--data"):
        evaluate(model=tmp_path / "empty_model")
