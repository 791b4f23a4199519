"""``modelqa.evaluate(predictions=...)``: a file of predictions instead of a model.

The metrics module has its own exhaustive tests; these check the wiring from a file to
metrics.json (class order = prob_ column order, argmax prediction, true labels mapped to
ids, softmax of logits, normalisation) against scikit-learn on a handful of keys."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from modelqa.api.evaluate import evaluate
from modelqa.errors import DataError, UsageError


def _strict_json(path):
    def refuse(name):
        raise AssertionError(f"{path} holds {name}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def _run(tmp_path, df, name="preds.csv", **kw):
    path = tmp_path / name
    if name.endswith(".parquet"):
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False, encoding="utf-8")
    out = tmp_path / "run"
    ev = evaluate(predictions=path, out=out, n_resamples=100, **kw)
    return ev, out


def _random_probs(rng, n, k):
    return rng.dirichlet(np.ones(k) * 0.7, size=n)


def test_pred_col_only_matches_sklearn(tmp_path):
    rng = np.random.default_rng(0)
    classes = np.array(["cat", "dog", "emu", "fox"])
    y = rng.choice(classes, 60)
    p = np.where(rng.random(60) < 0.6, y, rng.choice(classes, 60))
    p[p == "fox"] = "dog"  # a class never predicted
    ev, out = _run(tmp_path, pd.DataFrame({"label": y, "predicted_label": p}))
    doc = _strict_json(out / "metrics.json")
    assert doc["labels"] == ["cat", "dog", "emu", "fox"]
    m = doc["metrics"]
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, p))
    assert m["f1_macro"] == pytest.approx(skm.f1_score(y, p, average="macro", zero_division=0))
    assert m["precision_weighted"] == pytest.approx(
        skm.precision_score(y, p, average="weighted", zero_division=0))
    assert m["mcc"] == pytest.approx(skm.matthews_corrcoef(y, p))
    assert m["cohen_kappa"] == pytest.approx(skm.cohen_kappa_score(y, p))
    # No probabilities: no probability metrics, and no confidence column.
    for key in ("log_loss", "roc_auc_ovr_macro", "brier_score", "ece"):
        assert key not in m
    assert doc["confusion_matrix"]["counts"] == skm.confusion_matrix(y, p, labels=doc["labels"]).tolist()
    frame = pd.read_csv(out / "predictions.csv", encoding="utf-8-sig")
    assert list(frame.columns) == ["true_label", "predicted_label", "correct"]
    errors = pd.read_csv(out / "errors.csv", encoding="utf-8-sig")
    assert len(errors) == int((y != p).sum())
    assert ev.metrics == doc["metrics"]


def test_prob_columns_give_class_order_and_argmax(tmp_path):
    rng = np.random.default_rng(1)
    names = ["zeta", "alpha", "mid"]  # deliberately not sorted: the column order is the class order
    n = 80
    probs = _random_probs(rng, n, 3)
    y_ids = np.array([rng.choice(3, p=row) for row in probs])
    df = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "label": np.array(names)[y_ids]})
    for j, name in enumerate(names):
        df[f"prob_{name}"] = probs[:, j]
    ev, out = _run(tmp_path, df, id_col="id")
    doc = _strict_json(out / "metrics.json")
    assert doc["labels"] == names
    pred_ids = probs.argmax(axis=1)
    m = doc["metrics"]
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y_ids, pred_ids))
    assert m["f1_macro"] == pytest.approx(skm.f1_score(y_ids, pred_ids, average="macro", zero_division=0))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y_ids, probs, labels=[0, 1, 2]), rel=1e-6)
    assert m["roc_auc_ovr_macro"] == pytest.approx(
        skm.roc_auc_score(y_ids, probs, multi_class="ovr", average="macro", labels=[0, 1, 2]))
    assert m["top_2_accuracy"] == pytest.approx(skm.top_k_accuracy_score(y_ids, probs, k=2, labels=[0, 1, 2]))
    assert "top_3_accuracy" not in m  # only when there are more than k classes
    brier = np.mean(np.sum((probs - np.eye(3)[y_ids]) ** 2, axis=1))
    assert m["brier_score"] == pytest.approx(brier)
    for j, name in enumerate(names):
        pc = doc["per_class"][name]
        assert pc["roc_auc"] == pytest.approx(skm.roc_auc_score(y_ids == j, probs[:, j]))
        assert pc["average_precision"] == pytest.approx(skm.average_precision_score(y_ids == j, probs[:, j]))
        assert pc["support"] == int((y_ids == j).sum())
    frame = pd.read_csv(out / "predictions.csv", encoding="utf-8-sig")
    assert list(frame.columns) == ["id", "true_label", "predicted_label", "confidence", "correct",
                                   "prob_zeta", "prob_alpha", "prob_mid"]
    assert frame["id"].tolist() == df["id"].tolist()
    assert frame["predicted_label"].tolist() == [names[i] for i in pred_ids]
    np.testing.assert_allclose(frame["confidence"], probs.max(axis=1), atol=1e-12)


def test_logits_are_softmaxed(tmp_path):
    rng = np.random.default_rng(2)
    n = 50
    logits = rng.normal(0, 3, size=(n, 3))
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    y = rng.integers(0, 3, n)
    df = pd.DataFrame({"label": y, "prob_a": logits[:, 0], "prob_b": logits[:, 1], "prob_c": logits[:, 2]})
    with pytest.raises(DataError, match="logits"):  # logits read as probabilities are refused, with a hint
        _run(tmp_path, df)
    ev, out = _run(tmp_path, df, scores="logits")
    assert ev.labels == ["a", "b", "c"]
    np.testing.assert_allclose(ev.predictions[["prob_a", "prob_b", "prob_c"]].to_numpy(), probs, atol=1e-12)
    assert ev.metrics["log_loss"] == pytest.approx(skm.log_loss(y, probs, labels=[0, 1, 2]), rel=1e-9)
    assert ev.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y, logits.argmax(axis=1)))


def test_rows_not_summing_to_one_are_named_then_normalised(tmp_path):
    rng = np.random.default_rng(3)
    probs = _random_probs(rng, 10, 2)
    raw = probs.copy()
    raw[[1, 4]] *= 2.0 / raw[[1, 4]].max(axis=1, keepdims=True) / 2.5  # rows 2 and 5 no longer sum to 1
    y = rng.integers(0, 2, 10)
    df = pd.DataFrame({"label": np.array(["no", "yes"])[y], "prob_no": raw[:, 0], "prob_yes": raw[:, 1]})
    with pytest.raises(DataError) as err:
        _run(tmp_path, df)
    msg = str(err.value)
    assert "row(s) 2, 5 " in msg and "preds.csv" in msg and "`normalize_probs=True`" in msg
    assert not (tmp_path / "run").exists()
    ev, out = _run(tmp_path, df, normalize_probs=True)
    np.testing.assert_allclose(ev.predictions[["prob_no", "prob_yes"]].to_numpy(), probs, atol=1e-12)
    assert _strict_json(out / "run.json")["normalized_rows"] == 2
    assert ev.metrics["log_loss"] == pytest.approx(skm.log_loss(y, probs, labels=[0, 1]))


def test_binary_positive_class(tmp_path):
    rng = np.random.default_rng(4)
    probs = _random_probs(rng, 40, 2)
    y = rng.integers(0, 2, 40)
    df = pd.DataFrame({"label": np.array(["no", "yes"])[y], "prob_no": probs[:, 0], "prob_yes": probs[:, 1]})
    ev, _ = _run(tmp_path, df)
    pred = probs.argmax(axis=1)
    assert ev.result["task"] == "binary"
    assert ev.metrics["f1"] == pytest.approx(skm.f1_score(y, pred, pos_label=1, zero_division=0))
    assert ev.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y, probs[:, 1]))
    assert ev.metrics["brier_score"] == pytest.approx(skm.brier_score_loss(y, probs[:, 1]))
    ev_no, _ = _run(tmp_path, df, pos_label="no")
    assert ev_no.metrics["recall"] == pytest.approx(skm.recall_score(y, pred, pos_label=0, zero_division=0))
    assert ev_no.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y == 0, probs[:, 0]))
    with pytest.raises(UsageError, match="maybe"):
        _run(tmp_path, df, pos_label="maybe")


def test_hangul_labels_round_trip(tmp_path):
    rng = np.random.default_rng(5)
    names = ["부정", "중립", "긍정"]
    probs = _random_probs(rng, 30, 3)
    y = rng.integers(0, 3, 30)
    df = pd.DataFrame({"label": np.array(names)[y], "text": ["정말 좋아요"] * 30})
    for j, name in enumerate(names):
        df[f"prob_{name}"] = probs[:, j]
    ev, out = _run(tmp_path, df)
    doc = _strict_json(out / "metrics.json")
    assert doc["labels"] == names and set(doc["per_class"]) == set(names)
    assert "부정" in (out / "metrics.json").read_text(encoding="utf-8")  # not \\u-escaped
    assert doc["metrics"]["f1_macro"] == pytest.approx(
        skm.f1_score(y, probs.argmax(axis=1), average="macro", zero_division=0))
    raw = (out / "predictions.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(out / "predictions.csv", encoding="utf-8-sig")
    assert list(frame.columns) == ["text", "true_label", "predicted_label", "confidence", "correct",
                                   "prob_부정", "prob_중립", "prob_긍정"]
    assert frame["true_label"].tolist() == list(np.array(names)[y])
    assert frame["text"].iloc[0] == "정말 좋아요"


def test_integer_id_labels_map_to_prob_columns(tmp_path):
    rng = np.random.default_rng(6)
    probs = _random_probs(rng, 30, 3)
    y = rng.integers(0, 3, 30)
    df = pd.DataFrame({"label": y, "prob_neg": probs[:, 0], "prob_neu": probs[:, 1], "prob_pos": probs[:, 2]})
    ev, out = _run(tmp_path, df, name="preds.parquet")  # parquet keeps the labels as integers
    assert ev.labels == ["neg", "neu", "pos"]
    frame = pd.read_csv(out / "predictions.csv", encoding="utf-8-sig")
    assert frame["true_label"].tolist() == [["neg", "neu", "pos"][i] for i in y]
    assert ev.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y, probs.argmax(axis=1)))


def test_integer_labels_with_pred_col(tmp_path):
    y = np.array([0, 1, 2, 10, 2, 1])
    p = np.array([0, 2, 2, 10, 1, 1])
    ev, _ = _run(tmp_path, pd.DataFrame({"label": y, "predicted_label": p}))
    assert ev.labels == ["0", "1", "2", "10"]  # natural order, not "10" before "2"
    assert ev.metrics["f1_macro"] == pytest.approx(skm.f1_score(y, p, average="macro", zero_division=0))


def test_label_not_among_prob_columns(tmp_path):
    df = pd.DataFrame({"label": ["a", "b", "zzz", "zzz"], "prob_a": [0.5, 0.2, 0.3, 0.9],
                       "prob_b": [0.5, 0.8, 0.7, 0.1]})
    with pytest.raises(DataError, match=r"'zzz' \(2 rows, first row 3\)"):
        _run(tmp_path, df)
    assert not (tmp_path / "run").exists()


def test_no_pred_col_and_no_prob_columns(tmp_path):
    df = pd.DataFrame({"label": ["a", "b"], "guess": ["a", "a"]})
    with pytest.raises(DataError) as err:
        _run(tmp_path, df)
    assert "'predicted_label'" in str(err.value) and "guess" in str(err.value) and "--pred-col" in str(err.value)
    ev, _ = _run(tmp_path, df, pred_col="guess")
    assert ev.metrics["accuracy"] == 0.5


def test_predictions_and_model_or_data_are_exclusive(tmp_path):
    df = pd.DataFrame({"label": ["a", "b"], "predicted_label": ["a", "a"]})
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    with pytest.raises(UsageError):
        evaluate(predictions=path, model=tmp_path, out=tmp_path / "run")
    with pytest.raises(UsageError, match="--data"):
        evaluate(predictions=path, data=path, out=tmp_path / "run")
    with pytest.raises(UsageError):
        evaluate(out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_options_that_would_be_ignored_are_refused(tmp_path):
    df = pd.DataFrame({"label": ["a", "b"], "predicted_label": ["a", "a"]})
    with pytest.raises(UsageError, match="prob_<label>"):
        _run(tmp_path, df, scores="logits")
    with pytest.raises(UsageError, match="prob_<label>"):
        _run(tmp_path, df, normalize_probs=True)
    with pytest.raises(UsageError, match="--labels"):
        _run(tmp_path, df, labels=["a", "b"])
    assert not (tmp_path / "run").exists()
