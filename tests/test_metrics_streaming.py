"""Streaming metrics: split-then-merge equals one pass; equal to classification_metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from modelqa.metrics.classification import classification_metrics
from modelqa.metrics.streaming import ClassificationState, binned_auc_ap

COUNT_KEYS = ("accuracy", "balanced_accuracy", "precision_macro", "recall_macro", "f1_macro",
              "precision_weighted", "recall_weighted", "f1_weighted", "precision_micro", "recall_micro",
              "f1_micro", "mcc", "cohen_kappa", "top_2_accuracy", "top_3_accuracy")
SUM_KEYS = ("log_loss", "brier_score", "ece")


def _data(n=3000, k=5, seed=0, absent=None, round_to=None):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k))
    y = rng.integers(0, k, n)
    if absent is not None:
        y[y == absent] = (absent + 1) % k
    logits[np.arange(n), y] += 1.0
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    if round_to is not None:  # many exact ties
        p = np.round(p, round_to)
        p[:, -1] = 1.0 - p[:, :-1].sum(axis=1)
        p = np.clip(p, 0, 1)
        p /= p.sum(axis=1, keepdims=True)
    return y, p


def _state(y, p, cuts, **kw):
    k = p.shape[1]
    parts = np.split(np.arange(y.size), cuts)
    states = [ClassificationState(k, **kw).update(y[i], p[i]) for i in parts]
    total = ClassificationState(k, **kw)
    for s in states[::-1]:  # merge order does not matter
        total.merge(s)
    return total


def _same(a, b, tol=0.0):
    if a is None or b is None:
        assert a is None and b is None
        return
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _same(a[key], b[key], tol)
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y, tol)
    elif isinstance(a, float):
        assert math.isclose(a, b, rel_tol=tol, abs_tol=tol), (a, b)
    else:
        assert a == b


@pytest.mark.parametrize("keep_scores", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_then_merge_equals_one_pass(seed, keep_scores):
    y, p = _data(seed=seed)
    labels = list("abcde")
    one = ClassificationState(5, keep_scores=keep_scores).update(y, p).compute(labels, n_resamples=50)
    rng = np.random.default_rng(seed + 10)
    for _ in range(3):
        cuts = np.sort(rng.choice(np.arange(1, y.size), size=rng.integers(1, 6), replace=False))
        merged = _state(y, p, cuts, keep_scores=keep_scores).compute(labels, n_resamples=50)
        _same(one, merged, tol=1e-12)  # float sums in another order: last-bit differences only


@pytest.mark.parametrize("k", [2, 5])
def test_equals_classification_metrics(k):
    y, p = _data(k=k, seed=3)
    labels = [f"c{i}" for i in range(k)]
    ref = classification_metrics(y, p.argmax(axis=1), labels=labels, probs=p, n_resamples=100)
    got = _state(y, p, [700, 1900], keep_scores=True).compute(labels, n_resamples=100)
    for key, value in ref["metrics"].items():
        if key in SUM_KEYS or key == "brier_score":
            _same(value, got["metrics"][key], tol=1e-12)
        else:
            _same(value, got["metrics"][key])
    _same(ref["per_class"], got["per_class"], tol=1e-12)
    for key in ("confusion_matrix", "baselines", "confidence_intervals", "labels", "task", "n_samples"):
        assert ref[key] == got[key]
    assert got["auc_method"] == "exact" and got["metrics"]["auc_method"] == "exact"


def test_binned_counts_and_sums_equal_classification_metrics():
    y, p = _data(seed=4)
    labels = list("abcde")
    ref = classification_metrics(y, p.argmax(axis=1), labels=labels, probs=p, n_resamples=100)
    got = _state(y, p, [1000]).compute(labels, n_resamples=100)
    for key in COUNT_KEYS:
        assert ref["metrics"][key] == got["metrics"][key], key
    for key in SUM_KEYS:
        assert math.isclose(ref["metrics"][key], got["metrics"][key], rel_tol=1e-12), key
    assert ref["confusion_matrix"] == got["confusion_matrix"]
    assert ref["confidence_intervals"] == got["confidence_intervals"]


@pytest.mark.parametrize("round_to", [None, 2, 3])
@pytest.mark.parametrize("n_bins", [10, 1000, 10_000])
def test_binned_auc_ap_within_stated_bound(round_to, n_bins):
    y, p = _data(n=4000, seed=5, round_to=round_to)
    labels = list("abcde")
    exact = ClassificationState(5, keep_scores=True).update(y, p).compute(labels, n_resamples=10)
    binned = ClassificationState(5, n_bins=n_bins).update(y, p).compute(labels, n_resamples=10)
    assert binned["auc_method"] == "binned"
    assert binned["auc_max_error"]["n_bins"] == n_bins
    for name in labels:
        e, b = exact["per_class"][name], binned["per_class"][name]
        assert abs(e["roc_auc"] - b["roc_auc"]) <= b["roc_auc_max_error"] + 1e-12
        assert abs(e["average_precision"] - b["average_precision"]) <= b["average_precision_max_error"] + 1e-12
    for key in ("roc_auc_ovr_macro", "roc_auc_ovr_weighted"):
        assert abs(exact["metrics"][key] - binned["metrics"][key]) <= binned["metrics"]["auc_max_error"] + 1e-12
    assert abs(exact["metrics"]["average_precision_macro"] - binned["metrics"]["average_precision_macro"]) \
        <= binned["metrics"]["average_precision_max_error"] + 1e-12
    if n_bins == 10_000 and round_to is None:
        assert binned["metrics"]["auc_max_error"] < 1e-3


def test_binned_exact_when_scores_fall_in_distinct_bins():
    # one score per bin: no pair shares a bin, so the bound is 0 and the value is exact
    pos = np.array([0, 1, 0, 1, 1, 0, 0, 1])
    neg = 1 - pos
    auc, auc_err, ap, ap_err = binned_auc_ap(pos, neg)
    from modelqa.metrics.ranking import average_precision, roc_auc

    scores = (np.arange(8) + 0.5) / 8
    assert auc_err == 0.0 and ap_err == 0.0
    assert auc == pytest.approx(roc_auc(pos.astype(bool), scores))
    assert ap == pytest.approx(average_precision(pos.astype(bool), scores))


def test_all_tied_scores():
    y = np.array([0, 1, 0, 1, 1, 0])
    p = np.full((6, 2), 0.5)
    exact = ClassificationState(2, keep_scores=True).update(y, p).compute(["n", "y"], n_resamples=10)
    binned = ClassificationState(2).update(y, p).compute(["n", "y"], n_resamples=10)
    assert exact["metrics"]["roc_auc"] == binned["metrics"]["roc_auc"] == 0.5
    assert exact["metrics"]["average_precision"] == binned["metrics"]["average_precision"] == 0.5
    assert binned["metrics"]["auc_max_error"] == 0.5


@pytest.mark.parametrize("keep_scores", [False, True])
def test_absent_class_is_none_as_in_classification_metrics(keep_scores):
    y, p = _data(seed=6, absent=2)
    labels = list("abcde")
    ref = classification_metrics(y, p.argmax(axis=1), labels=labels, probs=p, n_resamples=10)
    got = _state(y, p, [1500], keep_scores=keep_scores).compute(labels, n_resamples=10)
    assert ref["per_class"]["c"]["roc_auc"] is None and got["per_class"]["c"]["roc_auc"] is None
    assert got["per_class"]["c"]["average_precision"] is None
    assert ref["per_class"]["c"]["recall"] == got["per_class"]["c"]["recall"]
    assert ref["per_class"]["c"]["support"] == got["per_class"]["c"]["support"] == 0


def test_labels_only_state_and_errors():
    y = np.array([0, 1, 2, 2])
    pred = np.array([0, 2, 2, 1])
    s = ClassificationState(3, with_probs=False).update(y[:2], y_pred=pred[:2])
    s.merge(ClassificationState(3, with_probs=False).update(y[2:], y_pred=pred[2:]))
    ref = classification_metrics(y, pred, labels=list("abc"), n_resamples=10)
    got = s.compute(list("abc"), n_resamples=10)
    assert ref == got
    from modelqa.errors import DataError, UsageError

    with pytest.raises(UsageError):
        s.merge(ClassificationState(3))
    with pytest.raises(DataError):
        ClassificationState(3).compute(list("abc"))
    with pytest.raises(DataError):
        ClassificationState(3).update([0, 5], np.full((2, 3), 1 / 3))


# -- evaluate --predictions in streaming mode ------------------------------------------------------------------------


def _predictions_file(tmp_path, suffix, n=3000, k=4, seed=7):
    import pandas as pd

    y, p = _data(n=n, k=k, seed=seed)
    names = ["가", "b", "c", "d"][:k]
    df = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "label": [names[i] for i in y]})
    for j, name in enumerate(names):
        df[f"prob_{name}"] = p[:, j].astype(np.float32)
    path = tmp_path / f"preds{suffix}"
    if suffix == ".parquet":
        df.to_parquet(path, row_group_size=500)
    else:
        df.to_csv(path, index=False, sep="," if suffix == ".csv" else "\t", float_format="%.9g")
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_evaluate_streams_large_predictions_file(tmp_path, monkeypatch, suffix):
    import json

    from modelqa.api import _streaming as stream_mod
    from modelqa.api import evaluate as ev_mod

    path = _predictions_file(tmp_path, suffix)
    monkeypatch.setattr(stream_mod, "STREAM_CHUNK_ROWS", 700)
    monkeypatch.setattr(stream_mod, "STREAM_MAX_ERRORS", 50)
    monkeypatch.setattr(stream_mod, "STREAM_SAMPLE_ROWS", 300)
    assert ev_mod.should_stream(path, memory_budget="1KB") and not ev_mod.should_stream(path)
    whole = ev_mod.evaluate(predictions=path, id_col="id", n_resamples=50, normalize_probs=True)
    streamed = ev_mod.evaluate(predictions=path, id_col="id", n_resamples=50, memory_budget="1KB",
                               normalize_probs=True, out=tmp_path / "run")
    a, b = whole.result, streamed.result
    for key in COUNT_KEYS:
        assert a["metrics"][key] == b["metrics"][key], key
    for key in SUM_KEYS:
        assert math.isclose(a["metrics"][key], b["metrics"][key], rel_tol=1e-9), key
    assert a["confusion_matrix"] == b["confusion_matrix"]
    assert b["auc_method"] == "binned"  # a 1 KB budget cannot hold the scores
    assert abs(a["metrics"]["roc_auc_ovr_macro"] - b["metrics"]["roc_auc_ovr_macro"]) \
        <= b["metrics"]["auc_max_error"] + 1e-12
    run = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    assert run["streaming"]["rows"] == 3000
    assert "sample" in run["streaming"]["predictions_csv"]
    assert len(streamed.predictions) == 300 and len(streamed.errors) == 50
    assert streamed.errors["confidence"].is_monotonic_decreasing
    worst = whole.errors["confidence"].to_numpy()[:50]
    np.testing.assert_allclose(np.sort(streamed.errors["confidence"].to_numpy()), np.sort(worst))
    for name in ("metrics.json", "errors.csv", "predictions.csv", "confusions.csv", "distribution.csv",
                 "report.html"):
        assert (tmp_path / "run" / name).is_file()
    assert streamed.confusions.equals(whole.confusions)
    assert streamed.distribution.equals(whole.distribution)


def test_streamed_parquet_is_exact_when_scores_fit(tmp_path):
    from modelqa.api.evaluate import evaluate

    path = _predictions_file(tmp_path, ".parquet")
    whole = evaluate(predictions=path, n_resamples=20, normalize_probs=True)
    streamed = evaluate(predictions=path, n_resamples=20, normalize_probs=True, stream=True)
    assert streamed.result["auc_method"] == "exact"
    for key, value in whole.result["metrics"].items():
        assert math.isclose(value, streamed.result["metrics"][key], rel_tol=1e-9), key


def test_streaming_refuses_row_options(tmp_path):
    from modelqa.api.evaluate import evaluate, parse_memory_budget
    from modelqa.errors import UsageError

    path = _predictions_file(tmp_path, ".parquet")
    with pytest.raises(UsageError, match="memory-budget"):
        evaluate(predictions=path, stream=True, cost="fp=1,fn=2")
    assert parse_memory_budget("1GB") == 1 << 30 and parse_memory_budget("512mb") == 512 << 20
    with pytest.raises(UsageError):
        parse_memory_budget("lots")


def test_cli_memory_budget_streams(tmp_path, capsys):
    import json

    from modelqa.cli.main import main

    path = _predictions_file(tmp_path, ".tsv", n=800)
    out = tmp_path / "run"
    rc = main(["evaluate", "--predictions", str(path), "--memory-budget", "1KB", "--normalize-probs",
               "--out", str(out), "--format", "json"])
    assert rc == 0
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["streaming"]["rows"] == 800 and run["streaming"]["memory_budget_bytes"] == 1024
    assert json.loads((out / "metrics.json").read_text(encoding="utf-8"))["auc_method"] == "binned"
    assert main(["evaluate", "--predictions", str(path), "--memory-budget", "lots", "--out", str(out)]) != 0
