"""``modelqa thresholds RUN_DIR`` and ``modelqa evaluate --threshold / --task regression``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from modelqa.cli.main import main


@pytest.fixture
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")


def _binary_run(tmp_path, n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.2
    p = np.clip(rng.normal(0.3 + 0.35 * y, 0.15), 0.001, 0.999).round(3)
    df = pd.DataFrame({"id": range(n), "label": np.where(y, "churn", "stay"), "prob_stay": 1 - p, "prob_churn": p})
    src = tmp_path / "preds.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "run"
    assert main(["evaluate", "--predictions", str(src), "--pos-label", "churn", "--out", str(out), "--quiet",
                 "--format", "json"]) == 0
    return out, y, p


def test_thresholds_table_and_file(tmp_path, capsys, wide):
    out, y, p = _binary_run(tmp_path)
    capsys.readouterr()
    assert main(["thresholds", str(out), "--min-recall", "0.9", "--cost", "fp=1,fn=5"]) == 0
    text = capsys.readouterr().out
    for word in ("Decision thresholds", "best F1", "Youden", "recall ≥ 0.90", "lowest cost", "churn",
                 "thresholds.json"):
        assert word in text
    doc = json.loads((out / "thresholds.json").read_text(encoding="utf-8"))
    assert doc["positive_label"] == "churn" and doc["costs"] == {"fp": 1.0, "fn": 5.0}
    assert doc["min_recall"] == 0.9 and doc["curve"]["n_points"] <= 1000
    t = doc["chosen"]["min_cost"]["threshold"]
    pred = p >= t
    cost = (np.sum(pred & ~y) + 5 * np.sum(~pred & y)) / len(y)
    assert doc["chosen"]["min_cost"]["cost"] == pytest.approx(cost)
    # The same numbers as metrics.json's section (which used the default cost fp=1,fn=1).
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    best = dict(doc["chosen"]["best_f1"])
    assert best.pop("cost") != metrics["thresholds"]["chosen"]["best_f1"].pop("cost")
    assert metrics["thresholds"]["chosen"]["best_f1"] == best


def test_thresholds_json_format(tmp_path, capsys):
    out, _, _ = _binary_run(tmp_path)
    capsys.readouterr()
    assert main(["thresholds", str(out), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["chosen"]) == {"best_f1", "youden_j", "min_recall", "min_cost"}


def test_thresholds_errors(tmp_path, capsys):
    out, _, _ = _binary_run(tmp_path)
    capsys.readouterr()
    assert main(["thresholds", str(out), "--cost", "fp=1,fnn=5"]) == 2
    assert "'fnn'" in capsys.readouterr().err
    assert main(["thresholds", str(out), "--cost", "fp=one"]) == 2
    assert "fp='one'" in capsys.readouterr().err
    assert main(["thresholds", str(tmp_path / "nowhere")]) == 3
    # A multiclass run.
    df = pd.DataFrame({"label": ["a", "b", "c", "a"], "prob_a": [0.5, 0.2, 0.3, 0.6], "prob_b": [0.3, 0.5, 0.3, 0.2],
                       "prob_c": [0.2, 0.3, 0.4, 0.2]})
    df.to_csv(tmp_path / "three.csv", index=False)
    assert main(["evaluate", "--predictions", str(tmp_path / "three.csv"), "--out", str(tmp_path / "r3"),
                 "--quiet", "--format", "json"]) == 0
    capsys.readouterr()
    assert main(["thresholds", str(tmp_path / "r3")]) == 2
    assert "binary" in capsys.readouterr().err
    # A binary run without probabilities.
    pd.DataFrame({"label": ["a", "b", "a"], "predicted_label": ["a", "a", "b"]}).to_csv(tmp_path / "l.csv",
                                                                                       index=False)
    assert main(["evaluate", "--predictions", str(tmp_path / "l.csv"), "--out", str(tmp_path / "rl"),
                 "--quiet", "--format", "json"]) == 0
    capsys.readouterr()
    assert main(["thresholds", str(tmp_path / "rl")]) == 3
    assert "probabilit" in capsys.readouterr().err
    assert not (tmp_path / "rl" / "thresholds.json").exists()


def test_evaluate_threshold_and_regression_cli(tmp_path, capsys, wide):
    out, y, p = _binary_run(tmp_path)
    run2 = tmp_path / "run2"
    capsys.readouterr()
    assert main(["evaluate", "--predictions", str(tmp_path / "preds.csv"), "--pos-label", "churn",
                 "--threshold", "0.35", "--out", str(run2), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "Thresholds" in text and "applied 0.35" in text
    assert json.loads((run2 / "metrics.json").read_text())["threshold"] == 0.35
    src = tmp_path / "reg.csv"
    pd.DataFrame({"y": [1.0, 2.0, 3.5, 4.0], "prediction": [1.1, 2.5, 3.0, 4.0]}).to_csv(src, index=False)
    assert main(["evaluate", "--predictions", str(src), "--task", "regression", "--label-col", "y",
                 "--out", str(tmp_path / "rr"), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "R²" in text and "RMSE" in text and "always predicting the mean" in text
    assert "confusions" not in text
    assert main(["evaluate", "--predictions", str(src), "--task", "regression", "--label-col", "y",
                 "--threshold", "0.5", "--out", str(tmp_path / "rx"), "--quiet"]) == 2
