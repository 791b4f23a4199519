"""The trained simple baseline (char n-gram TF-IDF + logistic regression) beside a text model:
its metrics against scikit-learn, McNemar against scipy.stats.binomtest, verdicts on data
where the truth is known, the training split rebuilt from modelqa.json, and the hooks in
``train text`` / ``evaluate`` (metrics.json ``baselines.simple``, --no-simple-baseline)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import keyword_frame
from scipy.stats import binomtest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from modelqa.analysis.simple_baseline import (
    SimpleBaselineConfig,
    compare,
    fit_predict,
    rows_fingerprint,
    training_split,
)
from modelqa.errors import DataError

LABELS = ["neg", "neu", "pos"]
IDS = {name: i for i, name in enumerate(LABELS)}


def _xy(n_per_class: int, seed: int):
    df = keyword_frame(n_per_class, seed)
    return df["sentence"].tolist(), df["emotion"].map(IDS).to_numpy()


def _sklearn_oracle(train_x, train_y, test_x, config: SimpleBaselineConfig) -> np.ndarray:
    """The documented baseline built here from scikit-learn directly."""
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, max_features=300_000)
    clf = LogisticRegression(C=10.0, max_iter=1000, random_state=config.seed).fit(vec.fit_transform(train_x), train_y)
    return clf.predict(vec.transform(test_x))


def test_baseline_predictions_and_metrics_match_sklearn():
    train_x, train_y = _xy(15, 0)
    test_x, y = _xy(12, 1)
    # a harder test set: some rows get words of the other classes, so the baseline errs
    rng = np.random.default_rng(3)
    flip = rng.random(len(test_x)) < 0.3
    test_x = [f"{x} table door sad" if f else x for x, f in zip(test_x, flip, strict=True)]
    config = SimpleBaselineConfig(seed=5)
    pred = fit_predict(train_x, train_y, test_x, config=config)
    np.testing.assert_array_equal(pred, _sklearn_oracle(train_x, train_y, test_x, config))
    model_pred = np.where(rng.random(len(y)) < 0.8, y, (y + 1) % 3)
    section = compare(y_true=y, model_pred=model_pred, baseline_pred=pred, n_classes=3, n_resamples=300, seed=2)
    assert section["metrics"]["accuracy"] == pytest.approx(accuracy_score(y, pred), abs=1e-12)
    assert section["metrics"]["f1_macro"] == pytest.approx(f1_score(y, pred, average="macro"), abs=1e-12)
    ci = section["confidence_intervals"]
    assert ci["n_resamples"] == 300 and ci["level"] == 0.95
    for key in ("accuracy", "f1_macro"):
        assert ci[key][0] <= section["metrics"][key] <= ci[key][1]
    diff = section["comparison"]["f1_macro_difference"]
    assert diff["model"] == pytest.approx(f1_score(y, model_pred, average="macro"), abs=1e-12)
    assert diff["baseline"] == pytest.approx(f1_score(y, pred, average="macro"), abs=1e-12)
    assert diff["delta"] == pytest.approx(diff["model"] - diff["baseline"], abs=1e-12)


def test_mcnemar_equals_scipy_binomtest():
    rng = np.random.default_rng(11)
    y = rng.integers(0, 3, 400)
    model = np.where(rng.random(400) < 0.75, y, (y + 1) % 3)
    base = np.where(rng.random(400) < 0.65, y, (y + 2) % 3)
    mc = compare(y_true=y, model_pred=model, baseline_pred=base, n_classes=3, n_resamples=200)["comparison"]["mcnemar"]
    b = int(np.sum((base == y) & (model != y)))
    c = int(np.sum((base != y) & (model == y)))
    assert (mc["b_right_to_wrong"], mc["c_wrong_to_right"]) == (b, c)
    assert mc["p_value"] == pytest.approx(binomtest(b, b + c, 0.5).pvalue, rel=1e-9)


@pytest.mark.parametrize("case", ["better", "worse", "same", "close"])
def test_verdict_on_known_truth(case):
    rng = np.random.default_rng(7)
    n = 600
    y = rng.integers(0, 3, n)
    base = np.where(rng.random(n) < 0.7, y, (y + 1) % 3)
    if case == "better":  # the model gets 95 % right, the baseline 70 %
        model = np.where(rng.random(n) < 0.95, y, (y + 2) % 3)
    elif case == "worse":
        model = np.where(rng.random(n) < 0.45, y, (y + 2) % 3)
    elif case == "same":
        model = base.copy()
    else:  # the model differs from the baseline on a few rows, half of them for the better
        model = base.copy()
        rows = rng.choice(n, 20, replace=False)
        model[rows[:10]] = y[rows[:10]]
        model[rows[10:]] = (y[rows[10:]] + 1) % 3
    section = compare(y_true=y, model_pred=model, baseline_pred=base, n_classes=3, n_resamples=500, seed=1)
    comp = section["comparison"]
    expected = {"better": "better", "worse": "worse"}.get(case, "no significant difference")
    assert comp["verdict"] == expected, comp["summary"]
    if case == "same":
        assert comp["mcnemar"]["p_value"] == 1.0 and comp["f1_macro_difference"]["delta"] == 0.0
    if case == "better":
        assert comp["f1_macro_difference"]["interval"][0] > 0 and "significantly better" in comp["summary"]


def test_single_class_training_predicts_that_class():
    pred = fit_predict(["a", "b", "c"], [2, 2, 2], ["x", "y"])
    np.testing.assert_array_equal(pred, [2, 2])


# -- the training split rebuilt from modelqa.json, and the hooks in train text / evaluate --------------------------


@pytest.fixture(scope="module")
def trained(keyword_trained):
    """A tiny model trained on a 60/20/20 split of one file (the case evaluate must rebuild)."""
    return keyword_trained, keyword_trained.parent


def _split_by_hand(d, meta):
    """The training rows as train text chose them (the same public split function, the same seed)."""
    from modelqa.data.split import stratified_split

    df = pd.read_csv(d / "sentences.csv")
    y = df["emotion"].map(IDS).to_numpy()
    rows = stratified_split(y, (0.6, 0.2, 0.2), seed=meta["split"]["seed"])[0]
    return df["sentence"].iloc[rows].tolist(), y[rows]


def test_train_text_records_the_simple_baseline(trained):
    out, d = trained
    meta = json.loads((out / "modelqa.json").read_text())
    texts, y = _split_by_hand(d, meta)
    assert meta["split"]["train_sha256"] == rows_fingerprint(texts, y)
    rebuilt_x, rebuilt_y, source = training_split(meta)
    assert rebuilt_x == texts and rebuilt_y.tolist() == y.tolist() and source["rows"] == meta["split"]["train"]

    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    simple = metrics["baselines"]["simple"]
    assert simple["status"] == "done" and simple["fit_seed"] == 3 and simple["train_rows"] == len(texts)
    assert "chance_accuracy" in metrics["baselines"] and "majority_accuracy" in metrics["baselines"]
    # the same test rows: an independent refit scored with scikit-learn gives the recorded numbers
    preds = pd.read_csv(out / "evaluation" / "predictions.csv")
    y_test = preds["true_label"].map(IDS).to_numpy()
    oracle = _sklearn_oracle(texts, y, preds["text"].tolist(), SimpleBaselineConfig(seed=3))
    assert simple["n_samples"] == len(preds) == metrics["n_samples"]
    assert simple["metrics"]["accuracy"] == pytest.approx(accuracy_score(y_test, oracle), abs=1e-12)
    assert simple["metrics"]["f1_macro"] == pytest.approx(f1_score(y_test, oracle, average="macro"), abs=1e-12)
    model_right = preds["correct"].to_numpy(dtype=bool)
    b = int(np.sum((oracle == y_test) & ~model_right))
    c = int(np.sum((oracle != y_test) & model_right))
    mc = simple["comparison"]["mcnemar"]
    assert (mc["b_right_to_wrong"], mc["c_wrong_to_right"]) == (b, c)
    assert mc["p_value"] == pytest.approx(binomtest(b, b + c, 0.5).pvalue, rel=1e-9)


def test_evaluate_fits_it_again_and_can_turn_it_off(trained):
    from modelqa.api.evaluate import evaluate

    out, _ = trained
    kw = dict(model=out, data=out / "evaluation" / "test_split.csv", text_col="sentence", label_col="emotion",
              device="cpu")
    ev = evaluate(**kw)
    recorded = json.loads((out / "evaluation" / "metrics.json").read_text())["baselines"]["simple"]
    simple = ev.result["baselines"]["simple"]
    assert simple["status"] == "done" and simple["metrics"] == recorded["metrics"]
    assert simple["comparison"] == recorded["comparison"]  # same rows, same seeds: the same comparison
    assert "simple" not in evaluate(simple_baseline=False, **kw).result["baselines"]


def test_changed_training_data_is_skipped_with_the_reason(trained, tmp_path):
    from modelqa.api.evaluate import evaluate

    out, d = trained
    model = tmp_path / "model"
    shutil.copytree(out, model)
    changed = tmp_path / "sentences.csv"
    pd.read_csv(d / "sentences.csv").iloc[:-1].to_csv(changed, index=False)
    meta = json.loads((model / "modelqa.json").read_text())
    meta["data_files"]["data"] = str(changed)
    (model / "modelqa.json").write_text(json.dumps(meta))
    ev = evaluate(model=model, data=out / "evaluation" / "test_split.csv", text_col="sentence",
                  label_col="emotion", device="cpu", n_resamples=100)
    simple = ev.result["baselines"]["simple"]
    assert simple["status"] == "skipped" and "changed since the model was trained" in simple["reason"]
    meta["data_files"]["data"] = str(tmp_path / "gone.csv")
    with pytest.raises(DataError, match="not found"):
        training_split(meta)


def test_console_line(trained):
    from modelqa.report.console import summary_lines

    out, _ = trained
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    lines = dict(summary_lines(metrics, None))
    assert lines["Simple baseline"].startswith("char n-gram TF-IDF + logistic regression: accuracy ")
    assert metrics["baselines"]["simple"]["comparison"]["summary"] in lines["Simple baseline"]
    metrics["baselines"]["simple"] = {"status": "skipped", "name": "x", "reason": "the file is gone"}
    assert dict(summary_lines(metrics, None))["Simple baseline"] == "x: skipped (the file is gone)"


def test_cli_flags(trained, tmp_path, capsys, monkeypatch):
    import modelqa.api.train
    from modelqa.cli.main import main

    out, d = trained
    assert main(["evaluate", "--model", str(out), "--data", str(out / "evaluation" / "test_split.csv"),
                 "--text-col", "sentence", "--label-col", "emotion", "--device", "cpu",
                 "--out", str(tmp_path / "off"), "--no-simple-baseline"]) == 0
    assert "Simple baseline" not in capsys.readouterr().out
    assert "simple" not in json.loads((tmp_path / "off" / "metrics.json").read_text())["baselines"]
    seen = {}

    def fake_train_text(**kwargs):  # the flag reaches the API; training itself is tested above
        seen.update(kwargs)
        raise DataError("stop here")

    monkeypatch.setattr(modelqa.api.train, "train_text", fake_train_text)
    args = ["train", "text", "--data", str(d / "sentences.csv"), "--out", str(tmp_path / "m")]
    assert main([*args, "--no-simple-baseline"]) == 3 and seen["simple_baseline"] is False
    assert main(args) == 3 and seen["simple_baseline"] is True


def test_report_shows_it_beside_the_other_baselines(trained):
    import html as html_lib

    out, _ = trained
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    simple = metrics["baselines"]["simple"]
    page = html_lib.unescape((out / "evaluation" / "report.html").read_text(encoding="utf-8"))
    assert f"Trained {simple['name']} (same training split)" in page
    assert f"{simple['metrics']['accuracy'] * 100:.1f}%" in page
    assert simple["comparison"]["summary"] in page
