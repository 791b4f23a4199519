"""Hand-computed cases, edge cases and input validation for classification_metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics as skm

from modelqa.errors import DataError, UsageError
from modelqa.metrics import classification_metrics

PROB_KEYS = {"log_loss", "brier_score", "roc_auc_ovr_macro", "roc_auc_ovr_weighted",
             "average_precision_macro", "top_2_accuracy", "top_3_accuracy", "ece", "roc_auc",
             "average_precision"}


def run(y_true, y_pred, labels, probs=None, **kwargs):
    kwargs.setdefault("n_resamples", 50)
    result = classification_metrics(np.asarray(y_true), np.asarray(y_pred), labels=labels, probs=probs, **kwargs)
    json.dumps(result, allow_nan=False, ensure_ascii=False)  # JSON-safe, always
    return result


def test_hand_computed_multiclass():
    r = run([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0], ["a", "b", "c"])
    m, pc = r["metrics"], r["per_class"]
    assert r["task"] == "multiclass" and r["n_samples"] == 6
    assert r["confusion_matrix"]["counts"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert pc["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2, "predicted_count": 2}
    assert pc["b"]["precision"] == pytest.approx(2 / 3) and pc["b"]["recall"] == 1.0
    assert pc["b"]["f1"] == pytest.approx(0.8)
    assert pc["c"]["precision"] == 1.0 and pc["c"]["f1"] == pytest.approx(2 / 3)
    assert m["f1_macro"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert r["baselines"] == {"chance_accuracy": pytest.approx(1 / 3), "majority_accuracy": pytest.approx(1 / 3),
                              "uniform_accuracy": pytest.approx(1 / 3), "majority_label": "a"}  # ties: first label in model order
    assert not PROB_KEYS & set(m)
    assert "roc_auc" not in pc["a"]


def test_hand_computed_binary_scores():
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]])
    r = run([0, 0, 1, 1], [0, 0, 0, 1], ["neg", "pos"], probs)
    m = r["metrics"]
    assert m["roc_auc"] == pytest.approx(0.75)
    assert m["average_precision"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert m["precision"] == 1.0 and m["recall"] == 0.5 and m["f1"] == pytest.approx(2 / 3)
    assert m["brier_score"] == pytest.approx((0.1**2 + 0.4**2 + 0.65**2 + 0.2**2) / 4)
    assert m["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.6, 0.35, 0.8])))
    assert "top_2_accuracy" not in m  # only with more than 2 classes
    assert r["per_class"]["neg"]["roc_auc"] == pytest.approx(0.75)


def test_binary_without_probs_keeps_label_keys_only():
    m = run([0, 1, 1, 0], [0, 1, 0, 0], ["no", "yes"])["metrics"]
    assert {"precision", "recall", "f1"} <= set(m)
    assert not PROB_KEYS & set(m)


def test_all_probabilities_tied():
    n, k = 8, 4
    y = np.array([0, 1, 2, 3, 0, 1, 2, 2])
    probs = np.full((n, k), 1 / k)
    r = run(y, np.zeros(n, int), list("wxyz"), probs)
    m = r["metrics"]
    assert m["roc_auc_ovr_macro"] == 0.5 and m["roc_auc_ovr_weighted"] == 0.5
    for name, share in zip("wxyz", [2 / 8, 2 / 8, 3 / 8, 1 / 8], strict=True):
        assert r["per_class"][name]["average_precision"] == pytest.approx(share)
    # scikit-learn ranks tied classes later-class-first: top-2 is {z, y}, top-3 adds x.
    assert m["top_2_accuracy"] == pytest.approx(skm.top_k_accuracy_score(y, probs, k=2, labels=range(k)))
    assert m["top_2_accuracy"] == pytest.approx(4 / 8)
    assert m["top_3_accuracy"] == pytest.approx(6 / 8)
    assert m["ece"] == pytest.approx(abs(2 / 8 - 0.25))  # argmax on ties is the first class


def test_class_absent_from_y_true():
    y_true = [0, 1, 0, 1, 0, 1]
    y_pred = [0, 1, 2, 1, 0, 0]
    probs = np.array([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.3, 0.2, 0.5],
                      [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.5, 0.4, 0.1]])
    r = run(y_true, y_pred, ["a", "b", "c"], probs)
    c = r["per_class"]["c"]
    assert c["support"] == 0 and c["predicted_count"] == 1
    assert c["precision"] == 0.0 and c["recall"] == 0.0  # predicted, so in the label set
    assert c["roc_auc"] is None and c["average_precision"] is None
    a, b = r["per_class"]["a"], r["per_class"]["b"]
    assert r["metrics"]["roc_auc_ovr_macro"] == pytest.approx((a["roc_auc"] + b["roc_auc"]) / 2)
    assert r["metrics"]["average_precision_macro"] == pytest.approx(
        (a["average_precision"] + b["average_precision"]) / 2)
    assert r["metrics"]["f1_macro"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro"))


def test_label_seen_nowhere_is_none_and_left_out_of_averages():
    r = run([0, 1, 0, 1], [0, 1, 1, 1], ["a", "b", "c"])
    c = r["per_class"]["c"]
    assert (c["precision"], c["recall"], c["f1"], c["support"], c["predicted_count"]) == (None, None, None, 0, 0)
    assert r["metrics"]["f1_macro"] == pytest.approx((2 / 3 + 0.8) / 2)


def test_single_class_present():
    probs = np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7]])
    r = run([0, 0, 0], [0, 0, 1], ["only", "other"], probs)
    m = r["metrics"]
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["mcc"] == 0.0  # scikit-learn's value when undefined
    assert m["cohen_kappa"] == pytest.approx(skm.cohen_kappa_score([0, 0, 0], [0, 0, 1]))
    assert m["roc_auc"] is None and m["roc_auc_ovr_macro"] is None and m["roc_auc_ovr_weighted"] is None
    assert m["average_precision"] is None  # positive class "other" never true
    assert r["per_class"]["only"]["average_precision"] == 1.0
    assert r["baselines"]["chance_accuracy"] == 1.0 and r["baselines"]["majority_label"] == "only"

    same = run([1, 1], [1, 1], ["a", "b"])["metrics"]
    assert same["cohen_kappa"] is None and same["mcc"] == 0.0 and same["accuracy"] == 1.0


def test_binary_positive_class_seen_nowhere_is_none():
    m = run([0, 0], [0, 0], ["a", "b"])["metrics"]
    assert m["precision"] is None and m["recall"] is None and m["f1"] is None
    assert m["f1_macro"] == 1.0


def test_single_sample():
    r = run([2], [2], ["x", "y", "z", "w"], np.array([[0.1, 0.2, 0.6, 0.1]]))
    m = r["metrics"]
    assert m["accuracy"] == 1.0 and m["f1_macro"] == 1.0 and m["ece"] == pytest.approx(0.4)
    assert m["roc_auc_ovr_macro"] is None and m["average_precision_macro"] == 1.0
    assert m["top_2_accuracy"] == 1.0 and m["top_3_accuracy"] == 1.0
    assert r["confidence_intervals"]["accuracy"] == [1.0, 1.0]


def test_hangul_and_string_labels():
    labels = ["긍정", "부정", "중립"]
    r = run([0, 1, 2, 1], [0, 1, 1, 1], labels)
    assert r["labels"] == labels and list(r["per_class"]) == labels
    assert r["baselines"]["majority_label"] == "부정"
    text = json.dumps(r, ensure_ascii=False)
    assert "중립" in text and json.loads(text) == r


def test_58_classes_with_probs():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(58), size=30)
    y = rng.integers(0, 58, 30)
    r = run(y, probs.argmax(axis=1), [f"c{k}" for k in range(58)], probs)
    assert len(r["per_class"]) == 58 and len(r["confusion_matrix"]["counts"]) == 58
    assert r["metrics"]["top_3_accuracy"] == pytest.approx(skm.top_k_accuracy_score(y, probs, k=3, labels=range(58)))


@pytest.mark.parametrize(
    ("y_true", "y_pred", "probs", "message"),
    [
        ([0, 1, 1], [0, 1], None, "3 rows but y_pred has 2"),
        ([0, 1, 3], [0, 1, 1], None, "outside 0..2 at rows 2"),
        ([0, -1, 1], [0, 1, 1], None, "outside 0..2"),
        ([0, 1.5, 1], [0, 1, 1], None, "integer class ids"),
        (["a", "b", "c"], [0, 1, 1], None, "integer class ids"),
        ([], [], None, "no rows"),
        ([0, 1], [0, 1], np.ones((2, 2)) / 2, "shape (2, 3)"),
        ([0, 1], [0, 1], np.array([[0.5, 0.5, np.nan], [0.2, 0.3, 0.5]]), "NaN or infinite values at rows 0"),
        ([0, 1], [0, 1], np.array([[0.5, 0.5, 0.5], [0.2, 0.3, 0.5]]), "sum to 1; rows 0"),
        ([0, 1], [0, 1], np.array([[1.5, -0.5, 0.0], [0.2, 0.3, 0.5]]), "outside [0, 1]"),
    ],
)
def test_bad_data_raises_data_error(y_true, y_pred, probs, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        classification_metrics(y_true, y_pred, labels=["a", "b", "c"], probs=probs)


def test_bad_labels_and_options():
    with pytest.raises(DataError, match="at least 2 labels"):
        classification_metrics([0], [0], labels=["a"])
    with pytest.raises(DataError, match="duplicate"):
        classification_metrics([0], [0], labels=["a", "a"])
    with pytest.raises(UsageError, match="binary tasks only"):
        classification_metrics([0], [0], labels=["a", "b", "c"], pos_label=1)
    with pytest.raises(UsageError, match="pos_label"):
        classification_metrics([0], [0], labels=["a", "b"], pos_label=2)
    with pytest.raises(UsageError, match="n_resamples"):
        classification_metrics([0], [0], labels=["a", "b"], n_resamples=0)
    with pytest.raises(UsageError, match="confidence_level"):
        classification_metrics([0], [0], labels=["a", "b"], confidence_level=95)
