"""``--actions`` on ``evaluate`` and ``predict`` (CLI and API): the ``action`` column in
predictions.csv / errors.csv / the predict output (CSV and Parquet), the ``actions``
section of metrics.json against a hand computation, the console line, exit codes and no
output for a bad rules file, predictions without probabilities, and regression refused."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelqa.cli.main import main

RULES = """\
default: "no action"
rules:
  - label: pos
    min_confidence: 0.8
    action: "=offer premium plan"
  - max_confidence: 0.5
    action: "send to human review"
  - label: [neg, neu]
    action: "call within 24h"
"""
# label, pos/neu/neg probabilities → (predicted, confidence) and the expected action
PROBS = pd.DataFrame({
    "ID": [f"r{i}" for i in range(1, 9)],
    "label": ["pos", "pos", "neg", "neu", "neg", "pos", "neu", "neg"],
    "prob_neg": [0.05, 0.10, 0.70, 0.30, 0.10, 0.10, 0.45, 0.20],
    "prob_neu": [0.05, 0.10, 0.20, 0.40, 0.10, 0.15, 0.10, 0.20],
    "prob_pos": [0.90, 0.80, 0.10, 0.30, 0.80, 0.75, 0.45, 0.60],
})
EXPECTED = ["=offer premium plan", "=offer premium plan", "call within 24h", "send to human review",
            "=offer premium plan", "no action", "send to human review", "no action"]
# predicted: pos pos neg neu pos pos neg(first max) pos ; correct: T T T T F T F F


def read_csv(path):
    return pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)


@pytest.fixture
def files(tmp_path):
    PROBS.to_csv(tmp_path / "preds.csv", index=False)
    (tmp_path / "actions.yaml").write_text(RULES, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(RULES.replace("min_confidence: 0.8", "min_confidence: 1.8"),
                                       encoding="utf-8")
    return tmp_path


def test_cli_evaluate_predictions_file_with_actions(files, capsys):
    out = files / "run"
    code = main(["evaluate", "--predictions", str(files / "preds.csv"), "--id-col", "ID",
                 "--actions", str(files / "actions.yaml"), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    preds = read_csv(out / "predictions.csv")
    assert list(preds.columns) == ["ID", "true_label", "predicted_label", "confidence", "action", "correct",
                                   "prob_neg", "prob_neu", "prob_pos"]
    # the CSV neutralises a formula-like action; the in-memory value is kept
    assert preds["action"].tolist() == ["'" + a if a.startswith("=") else a for a in EXPECTED]
    errors = read_csv(out / "errors.csv")
    assert "action" in errors.columns
    assert sorted(errors["ID"]) == ["r5", "r7", "r8"]
    assert dict(zip(errors["ID"], errors["action"], strict=True)) == {
        "r5": "'=offer premium plan", "r7": "send to human review", "r8": "no action"}
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["actions"] == {
        "file": str(files / "actions.yaml"), "default": "no action",
        "per_action": [
            {"action": "=offer premium plan", "count": 3, "share": 3 / 8, "accuracy": 2 / 3,
             "rule": "label = pos and confidence ≥ 0.80"},
            {"action": "send to human review", "count": 2, "share": 2 / 8, "accuracy": 0.5,
             "rule": "confidence ≤ 0.50"},
            {"action": "call within 24h", "count": 1, "share": 1 / 8, "accuracy": 1.0,
             "rule": "label in {neg, neu}"},
            {"action": "no action", "count": 2, "share": 2 / 8, "accuracy": 0.5, "rule": "no rule matched (default)"},
        ]}
    shown = " ".join(captured.out.split())  # rich wraps long lines
    assert "Actions =offer premium plan 3 (38%, accuracy 67%); send to human review 2 (25%, accuracy 50%)" in shown
    assert json.loads((out / "run.json").read_text())["actions_file"] == str(files / "actions.yaml")


def test_predictions_without_probabilities_match_only_unbounded_rules(files):
    from modelqa.api.evaluate import evaluate

    df = PROBS.assign(predicted_label=["pos", "pos", "neg", "neu", "pos", "pos", "neg", "pos"])
    df[["ID", "label", "predicted_label"]].to_csv(files / "labels_only.csv", index=False)
    ev = evaluate(predictions=files / "labels_only.csv", actions=files / "actions.yaml", out=files / "run2")
    assert "confidence" not in ev.predictions.columns
    assert ev.predictions["action"].tolist() == ["no action", "no action", "call within 24h", "call within 24h",
                                                 "no action", "no action", "call within 24h", "no action"]
    per = {r["action"]: (r["count"], r["accuracy"]) for r in ev.result["actions"]["per_action"]}
    assert per == {"=offer premium plan": (0, None), "send to human review": (0, None),
                   "call within 24h": (3, 2 / 3), "no action": (5, 0.6)}
    assert list(read_csv(files / "run2" / "predictions.csv").columns) == [
        "true_label", "predicted_label", "action", "correct"]


def test_evaluate_arrays_with_parsed_rules():
    from modelqa.api.evaluate import evaluate_arrays

    probs = PROBS[["prob_neg", "prob_neu", "prob_pos"]].to_numpy()
    y_true = PROBS["label"].map({"neg": 0, "neu": 1, "pos": 2}).to_numpy()
    spec = {"rules": [{"label": ["pos"], "min_confidence": 0.8, "action": "offer"}], "default": "wait"}
    ev = evaluate_arrays(task="classification", labels=["neg", "neu", "pos"], y_true=y_true, probs=probs,
                         actions=spec, n_resamples=50)
    assert ev.predictions["action"].tolist() == ["offer", "offer", "wait", "wait", "offer", "wait", "wait", "wait"]
    assert ev.result["actions"]["file"] == "<mapping>"
    assert [r["count"] for r in ev.result["actions"]["per_action"]] == [3, 5]


BAD_CASES = {
    "confidence out of range": (["--actions", "{dir}/bad.yaml"], 2, ["bad.yaml, line 4", "rule 1",
                                                                     "min_confidence 1.8 is outside [0, 1]"]),
    "missing actions file": (["--actions", "{dir}/nope.yaml"], 2, ["nope.yaml: no such file"]),
    "unknown label": (["--actions", "{dir}/unknown.yaml"], 2, ["unknown.yaml, line 3", "'positive' is not a label",
                                                               "neg, neu, pos"]),
    "regression": (["--actions", "{dir}/actions.yaml", "--task", "regression", "--label-col", "prob_pos",
                    "--pred-col", "prob_neg"], 2, ["--actions apply to classification"]),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_cli_evaluate_bad_actions_write_nothing(case, files, capsys):
    (files / "unknown.yaml").write_text("rules:\n  - label: positive\n    action: x\n".replace(
        "rules:\n", "default: y\nrules:\n"), encoding="utf-8")
    args, code, fragments = BAD_CASES[case]
    out = files / "run"
    rc = main(["evaluate", "--quiet", "--predictions", str(files / "preds.csv"), "--out", str(out)]
              + [a.format(dir=files) for a in args])
    captured = capsys.readouterr()
    assert rc == code, captured.err
    assert "Traceback" not in captured.err and "internal error" not in captured.err
    for fragment in fragments:
        assert fragment in captured.err, (fragment, captured.err)
    assert not out.exists()


# ------------------------------------------------------------------ text model: evaluate and predict


TEXTS = pd.DataFrame({"ID": ["a", "b", "c", "d", "e"], "text": ["good", "bad", "fine", "awful", "okay"],
                      "label": ["pos", "neg", "neu", "neg", "pos"]})


def test_text_model_evaluate_with_actions(tiny_model, tmp_path):
    from modelqa.api.evaluate import evaluate

    TEXTS.to_csv(tmp_path / "data.csv", index=False)
    spec = {"rules": [{"label": "neu", "action": "ask"}, {"max_confidence": 0.4, "action": "review"}]}
    ev = evaluate(model=tiny_model, data=tmp_path / "data.csv", device="cpu", actions=spec, out=tmp_path / "run",
                  n_resamples=50)
    p = ev.predictions
    expected = np.where(p["predicted_label"] == "neu", "ask", np.where(p["confidence"] <= 0.4, "review",
                                                                       "no action"))
    assert p["action"].tolist() == expected.tolist()
    counts = {r["action"]: r["count"] for r in ev.result["actions"]["per_action"]}
    assert counts == {a: int((expected == a).sum()) for a in ("ask", "review", "no action")}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cli_predict_with_actions(tiny_model, tmp_path, suffix, capsys):
    TEXTS.drop(columns="label").to_csv(tmp_path / "new.csv", index=False)
    (tmp_path / "actions.yaml").write_text("default: keep\nrules:\n  - label: [neg, neu, pos]\n"
                                           "    max_confidence: 0.999\n    action: check\n", encoding="utf-8")
    out = tmp_path / f"preds{suffix}"
    rc = main(["predict", "--model", str(tiny_model), "--data", str(tmp_path / "new.csv"), "--id-col", "ID",
               "--device", "cpu", "--actions", str(tmp_path / "actions.yaml"), "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    frame = read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert list(frame.columns) == ["ID", "text", "predicted_label", "confidence", "action", "prob_neg",
                                   "prob_neu", "prob_pos"]
    assert frame["action"].tolist() == ["check"] * 5  # a random tiny model is never 99.9 % sure
    assert "actions: check 5 (100%); keep 0 (0%)" in captured.err


def test_cli_predict_bad_actions_write_nothing(tiny_model, tmp_path, capsys):
    TEXTS.drop(columns="label").to_csv(tmp_path / "new.csv", index=False)
    (tmp_path / "actions.yaml").write_text("rules:\n  - label: pos\n", encoding="utf-8")
    out = tmp_path / "preds.csv"
    rc = main(["predict", "--quiet", "--model", str(tiny_model), "--data", str(tmp_path / "new.csv"),
               "--device", "cpu", "--actions", str(tmp_path / "actions.yaml"), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "actions.yaml, line 2: rule 1: the rule has no 'action'" in err, err
    assert not out.exists()
    (tmp_path / "actions.yaml").write_text("rules:\n  - label: positive\n    action: x\n", encoding="utf-8")
    rc = main(["predict", "--quiet", "--model", str(tiny_model), "--data", str(tmp_path / "new.csv"),
               "--device", "cpu", "--actions", str(tmp_path / "actions.yaml"), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "line 2" in err and "'positive' is not a label the model knows" in err, err
    assert not out.exists()


# ------------------------------------------------------------------ tabular models


@pytest.fixture(scope="module")
def churn(tmp_path_factory):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from churn_table import make_churn

    from modelqa.api.tabular import train_tabular

    d = tmp_path_factory.mktemp("tabactions")
    make_churn(200, seed=1).to_csv(d / "train.csv", index=False)
    make_churn(60, seed=2).to_csv(d / "holdout.csv", index=False)
    fast = {"hidden": "8", "epochs": 3, "patience": 2, "batch_size": 32, "lr": 0.01}
    train_tabular(data=d / "train.csv", target="Churn", out=d / "churn", evaluate_test=False, **fast)
    train_tabular(data=d / "train.csv", target="MonthlyCharges", out=d / "charges", evaluate_test=False, **fast)
    (d / "actions.yaml").write_text("rules:\n  - label: 'Yes'\n    action: retain\n", encoding="utf-8")
    return d


def test_tabular_evaluate_and_predict_with_actions(churn, capsys):
    from modelqa.api.predict import predict

    out = churn / "run"
    rc = main(["evaluate", "--quiet", "--model", str(churn / "churn"), "--data", str(churn / "holdout.csv"),
               "--label-col", "Churn", "--actions", str(churn / "actions.yaml"), "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    preds = read_csv(out / "predictions.csv")
    assert (preds["action"] == np.where(preds["predicted_label"] == "Yes", "retain", "no action")).all()
    frame = predict(model=churn / "churn", data=churn / "holdout.csv", actions=churn / "actions.yaml",
                    out=churn / "p.parquet")
    assert list(frame.columns[:3]) == ["predicted_label", "confidence", "action"]
    assert pd.read_parquet(churn / "p.parquet")["action"].tolist() == frame["action"].tolist()
    assert "unseen_categories" in frame.attrs and frame.attrs["actions"]["per_action"][0]["accuracy"] is None


def test_tabular_regression_refuses_actions(churn, capsys):
    out = churn / "reg"
    rc = main(["evaluate", "--quiet", "--model", str(churn / "charges"), "--data", str(churn / "holdout.csv"),
               "--label-col", "MonthlyCharges", "--actions", str(churn / "actions.yaml"), "--out", str(out)])
    assert rc == 2 and "--actions apply to classification" in capsys.readouterr().err
    assert not out.exists()
    rc = main(["predict", "--quiet", "--model", str(churn / "charges"), "--data", str(churn / "holdout.csv"),
               "--actions", str(churn / "actions.yaml"), "--out", str(churn / "reg.csv")])
    assert rc == 2 and "regression model" in capsys.readouterr().err
    assert not (churn / "reg.csv").exists()
