"""Regression runs and binary thresholds through ``modelqa.evaluate`` / ``evaluate_arrays``:
the run folder contract, numbers against scikit-learn, refusals with clear messages."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from modelqa.api.evaluate import MAX_REGRESSION_ERRORS, evaluate, evaluate_arrays
from modelqa.errors import DataError, UsageError
from modelqa.report.console import summary_lines


def _strict_json(path):
    def refuse(name):
        raise AssertionError(f"{path} holds {name}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def _write(tmp_path, df, name="preds.csv"):
    path = tmp_path / name
    df.to_csv(path, index=False, encoding="utf-8")
    return path


def _regression_df(n=150, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.normal(50, 10, n).round(2)
    p = (y + rng.normal(1, 5, n)).round(2)
    return pd.DataFrame({"rid": [f"r{i}" for i in range(n)], "text": ["집 " + str(i) for i in range(n)],
                         "y": y, "prediction": p})


def test_regression_file_run_folder(tmp_path):
    df = _regression_df()
    path = _write(tmp_path, df)
    out = tmp_path / "run"
    ev = evaluate(predictions=path, task="regression", label_col="y", id_col="rid", out=out, n_resamples=200)
    doc = _strict_json(out / "metrics.json")
    y, p = df["y"].to_numpy(), df["prediction"].to_numpy()
    assert doc["task"] == "regression" and doc["n_samples"] == len(df)
    m = doc["metrics"]
    assert m["r2"] == pytest.approx(skm.r2_score(y, p))
    assert m["rmse"] == pytest.approx(skm.root_mean_squared_error(y, p))
    assert m["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y, p))
    assert sorted(f.name for f in out.iterdir()) == ["errors.csv", "figures", "metrics.json", "predictions.csv",
                                                     "report.html", "run.json", "tables"]
    assert {"regression_predicted_vs_actual.png", "regression_residuals.png"} <= {f.name for f in (out / "figures").iterdir()}
    frame = pd.read_csv(out / "predictions.csv", encoding="utf-8-sig")
    assert list(frame.columns) == ["rid", "text", "target", "prediction", "residual"]
    np.testing.assert_allclose(frame["residual"], y - p)
    errors = pd.read_csv(out / "errors.csv", encoding="utf-8-sig")
    assert len(errors) == MAX_REGRESSION_ERRORS
    absres = np.abs(errors["residual"].to_numpy())
    assert all(np.diff(absres) <= 1e-12) and absres[0] == pytest.approx(np.abs(y - p).max())
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "R²" in html and "Largest errors" in html and "Confusion matrix" not in html
    assert "집 " in html
    assert ev.is_regression and ev.labels == [] and "r2=" in repr(ev)
    with pytest.raises(UsageError, match="regression"):
        ev.per_class  # noqa: B018
    with pytest.raises(UsageError, match="regression"):
        ev.confusion  # noqa: B018
    names = [name for name, _ in summary_lines(ev.result, ev.distribution)]
    assert names[:4] == ["Rows", "R²", "RMSE", "MAE"] and "Baseline" in names


def test_regression_pred_col_default_and_override(tmp_path):
    df = _regression_df(20).rename(columns={"prediction": "yhat"})
    path = _write(tmp_path, df)
    with pytest.raises(DataError, match="'prediction'"):
        evaluate(predictions=path, task="regression", label_col="y", n_resamples=10)
    ev = evaluate(predictions=path, task="regression", label_col="y", pred_col="yhat", n_resamples=10)
    assert ev.metrics["mae"] == pytest.approx(skm.mean_absolute_error(df["y"], df["yhat"]))


def test_regression_non_numeric_values_are_shown_with_rows(tmp_path):
    df = pd.DataFrame({"y": ["1.5", "abc", "3", "", "n/a", "7"], "prediction": [1, 2, 3, 4, 5, 6]})
    path = _write(tmp_path, df)
    with pytest.raises(DataError) as err:
        evaluate(predictions=path, task="regression", label_col="y", out=tmp_path / "run")
    msg = str(err.value)
    assert "'y'" in msg and "row 2: 'abc'" in msg and "row 4: (missing)" in msg and "row 5: 'n/a'" in msg
    assert "3 value(s)" in msg
    assert not (tmp_path / "run").exists()


def test_regression_refuses_classification_options(tmp_path):
    path = _write(tmp_path, _regression_df(10))
    for kw, flag in (({"threshold": 0.5}, "--threshold"), ({"pos_label": "a"}, "--pos-label"),
                     ({"cost": "fp=1"}, "--cost"), ({"scores": "logits"}, "--scores")):
        with pytest.raises(UsageError, match=flag):
            evaluate(predictions=path, task="regression", label_col="y", **kw)
    with pytest.raises(UsageError, match="--task"):
        evaluate(predictions=path, task="regresion", label_col="y")


def test_evaluate_arrays_regression_and_classification(tmp_path):
    rng = np.random.default_rng(1)
    y = rng.normal(0, 1, 40)
    ev = evaluate_arrays(task="regression", y_true=y, y_pred=y * 0.9, run_info={"model": "m"}, n_resamples=20,
                         ids=("key", list(range(40))), out=tmp_path / "reg")
    assert list(ev.predictions.columns) == ["key", "target", "prediction", "residual"]
    assert ev.run_info["model"] == "m" and "total_s" in ev.run_info["timing"]
    assert (tmp_path / "reg" / "report.html").exists()
    with pytest.raises(UsageError):
        evaluate_arrays(task="regression", y_true=y, y_pred=y, labels=["a", "b"])
    probs = rng.dirichlet([1, 1, 1], 40)
    yc = rng.integers(0, 3, 40)
    ev = evaluate_arrays(task="classification", labels=["a", "b", "c"], y_true=yc, probs=probs, n_resamples=20)
    assert ev.metrics["accuracy"] == pytest.approx(skm.accuracy_score(yc, probs.argmax(axis=1)))
    assert "thresholds" not in ev.result
    with pytest.raises(DataError, match="binary"):
        evaluate_arrays(task="binary", labels=["a", "b", "c"], y_true=yc, probs=probs)


def _binary_df(n=200, seed=3):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.25
    p_yes = np.clip(rng.normal(0.3 + 0.3 * y, 0.15), 0.001, 0.999).round(3)
    return pd.DataFrame({"label": np.where(y, "yes", "no"), "prob_no": 1 - p_yes, "prob_yes": p_yes}), y, p_yes


def test_threshold_applies_to_metrics_predictions_and_errors(tmp_path):
    df, y, p = _binary_df()
    path = _write(tmp_path, df)
    out = tmp_path / "run"
    ev = evaluate(predictions=path, threshold=0.35, out=out, n_resamples=20)
    pred = p >= 0.35
    doc = _strict_json(out / "metrics.json")
    assert doc["threshold"] == 0.35 and doc["positive_label"] == "yes"
    assert doc["metrics"]["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert doc["metrics"]["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert doc["metrics"]["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    frame = pd.read_csv(out / "predictions.csv", encoding="utf-8-sig")
    assert (frame["predicted_label"] == np.where(pred, "yes", "no")).all()
    assert len(pd.read_csv(out / "errors.csv", encoding="utf-8-sig")) == int((pred != y).sum())
    section = doc["thresholds"]
    assert section["applied"]["threshold"] == 0.35
    assert section["applied"]["recall"] == pytest.approx(doc["metrics"]["recall"])
    assert section["positive_label"] == "yes" and section["curve"]["n_points"] <= 200
    assert "Decision threshold" in (out / "report.html").read_text(encoding="utf-8")
    assert ev.result["thresholds"]["chosen"]["min_recall"]["min_recall"] == 0.8
    # The other class as positive: the threshold is on P(no).
    ev_no = evaluate(predictions=path, threshold=0.6, pos_label="no", n_resamples=20)
    assert ev_no.metrics["recall"] == pytest.approx(skm.recall_score(~y, (1 - p) >= 0.6))


def test_thresholds_section_options_and_refusals(tmp_path):
    df, y, p = _binary_df()
    path = _write(tmp_path, df)
    ev = evaluate(predictions=path, min_recall=0.9, cost="fp=1,fn=5", n_resamples=20)
    chosen = ev.result["thresholds"]["chosen"]
    assert chosen["min_recall"]["recall"] >= 0.9 and chosen["min_cost"]["costs"] == {"fp": 1.0, "fn": 5.0}
    assert "threshold" not in ev.result  # nothing applied: argmax
    with pytest.raises(UsageError, match="`cost`"):
        evaluate(predictions=path, cost="fp=1,fx=2")
    with pytest.raises(UsageError, match="`threshold`"):
        evaluate(predictions=path, threshold=1.5)
    labels_only = _write(tmp_path, pd.DataFrame({"label": ["a", "b", "a"], "predicted_label": ["a", "a", "b"]}),
                         "labels.csv")
    with pytest.raises(UsageError, match="probabilities"):
        evaluate(predictions=labels_only, threshold=0.4)
    three = _write(tmp_path, pd.DataFrame({"label": ["a", "b", "c"], "prob_a": [0.5, 0.2, 0.3],
                                           "prob_b": [0.3, 0.5, 0.3], "prob_c": [0.2, 0.3, 0.4]}), "three.csv")
    with pytest.raises(UsageError, match="binary"):
        evaluate(predictions=three, threshold=0.4)
    with pytest.raises(UsageError, match="binary"):
        evaluate(predictions=three, min_recall=0.5)
