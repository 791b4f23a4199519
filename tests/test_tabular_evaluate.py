"""evaluate / predict accept a saved tabular model like any other model (CLI and API)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

from modelqa.cli.main import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from churn_table import make_churn  # noqa: E402

FAST = {"hidden": "16,8", "epochs": 8, "patience": 3, "batch_size": 32, "lr": 0.01}


@pytest.fixture(scope="module")
def churn(tmp_path_factory):
    from modelqa.api.tabular import train_tabular

    d = tmp_path_factory.mktemp("tabeval")
    make_churn(400, seed=1).to_csv(d / "train.csv", index=False)
    make_churn(150, seed=2).to_csv(d / "holdout.csv", index=False)
    train_tabular(data=d / "train.csv", target="Churn", out=d / "churn", evaluate_test=False, **FAST)
    train_tabular(data=d / "train.csv", target="MonthlyCharges", out=d / "charges", evaluate_test=False, **FAST)
    return d


def test_cli_evaluate_tabular_classifier(churn, capsys):
    out = churn / "runs" / "churn"
    code = main(["evaluate", "--model", str(churn / "churn"), "--data", str(churn / "holdout.csv"),
                 "--label-col", "Churn", "--id-col", "customerID", "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    preds = pd.read_csv(out / "predictions.csv", encoding="utf-8-sig")
    holdout = pd.read_csv(churn / "holdout.csv")
    assert metrics["task"] == "binary" and metrics["labels"] == ["No", "Yes"] and metrics["n_samples"] == 150
    assert preds["customerID"].tolist() == holdout["customerID"].tolist()
    assert preds["true_label"].tolist() == holdout["Churn"].tolist()
    assert metrics["metrics"]["accuracy"] == pytest.approx(accuracy_score(preds["true_label"], preds["predicted_label"]))
    assert metrics["metrics"]["roc_auc"] == pytest.approx(roc_auc_score(preds["true_label"] == "Yes", preds["prob_Yes"]))
    assert "thresholds" in metrics  # binary with probabilities
    assert (out / "report.html").exists()
    assert json.loads((out / "run.json").read_text())["model_kind"] == "tabular"


def test_cli_evaluate_and_predict_tabular_regression(churn, capsys):
    out = churn / "runs" / "charges"
    code = main(["evaluate", "--model", str(churn / "charges"), "--data", str(churn / "holdout.csv"),
                 "--label-col", "MonthlyCharges", "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    preds = pd.read_csv(out / "predictions.csv", encoding="utf-8-sig")
    assert metrics["task"] == "regression"
    assert metrics["metrics"]["r2"] == pytest.approx(r2_score(preds["target"], preds["prediction"]), rel=1e-6)
    code = main(["predict", "--model", str(churn / "charges"), "--data", str(churn / "holdout.csv"),
                 "--out", str(churn / "p.parquet"), "--quiet"])
    assert code == 0
    predicted = pd.read_parquet(churn / "p.parquet")
    np.testing.assert_allclose(predicted["prediction"], preds["prediction"], rtol=1e-6)


def test_predict_tabular_classifier_matches_evaluate(churn, capsys):
    import modelqa

    frame = modelqa.predict(model=churn / "churn", data=churn / "holdout.csv", id_col="customerID")
    ev = modelqa.evaluate(model=churn / "churn", data=churn / "holdout.csv", label_col="Churn")
    np.testing.assert_allclose(frame["prob_Yes"], ev.predictions["prob_Yes"])
    assert "true_label" not in frame.columns


def test_tabular_model_refuses_text_options_and_wrong_task(churn, capsys):
    code = main(["evaluate", "--model", str(churn / "churn"), "--data", str(churn / "holdout.csv"),
                 "--label-col", "Churn", "--labels", "a,b", "--out", str(churn / "bad1")])
    assert code == 2 and "--labels does not apply to a tabular model" in capsys.readouterr().err
    code = main(["evaluate", "--model", str(churn / "churn"), "--data", str(churn / "holdout.csv"),
                 "--label-col", "Churn", "--task", "regression", "--out", str(churn / "bad2")])
    assert code == 2 and "binary model" in capsys.readouterr().err
    assert not (churn / "bad1").exists() and not (churn / "bad2").exists()


def test_missing_feature_column_at_evaluate_time(churn, capsys, tmp_path):
    pd.read_csv(churn / "holdout.csv").drop(columns=["tenure", "Contract"]).to_csv(tmp_path / "less.csv", index=False)
    code = main(["evaluate", "--model", str(churn / "churn"), "--data", str(tmp_path / "less.csv"),
                 "--label-col", "Churn", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 3 and "'tenure'" in err and "'Contract'" in err and "less.csv" in err
    assert not (tmp_path / "run").exists()


def test_sweep_tabular_ranks_configurations(churn, capsys):
    out = churn / "sweep"
    code = main(["sweep", "tabular", "--data", str(churn / "train.csv"), "--target", "Churn", "--out", str(out),
                 "--hidden", "16,8/8", "--lr", "0.01", "--epochs", "6", "--patience", "2", "--quiet"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    rows = summary["configs"]
    assert len(rows) == 2 and {r["params"]["hidden"] for r in rows} == {"16,8", "8"}
    # sorted best first by val_loss, each best value is the run's own history minimum
    values = [r["best_value"] for r in rows]
    assert values == sorted(values)
    for r in rows:
        hist = json.loads((out / "runs" / r["name"] / "history.json").read_text())
        assert r["best_value"] == pytest.approx(min(h["val_loss"] for h in hist))
    assert (out / "summary.csv").exists()
