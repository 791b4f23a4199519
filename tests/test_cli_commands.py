"""The CLI commands on good input: the summary, --format json, predict's file, --help."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from modelqa.cli.main import main

DATA = pd.DataFrame({"ID": [f"n{i}" for i in range(8)],
                     "text": ["good", "bad", "", "fine", "awful film", "=2+3", "좋아요", "   "],
                     "label": ["pos", "neg", "neu", "neu", "neg", "pos", "pos", "neg"]})


def strict_json(text):
    def refuse(name):
        raise AssertionError(f"JSON holds {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # rich wraps at the terminal width; keep paths on one line


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "test.csv"
    DATA.to_csv(path, index=False)
    return path


def test_evaluate_summary_and_files(tiny_model, data, tmp_path, capsys, wide):
    out = tmp_path / "run"
    rc = main(["evaluate", "--model", str(tiny_model), "--data", str(data), "--id-col", "ID",
               "--on-empty", "skip", "--out", str(out), "--quiet", "--device", "cpu"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    for word in ("Accuracy", "Macro F1", "Baselines", "Errors", "Skipped", "2 rows with empty text"):
        assert word in captured.out
    assert str(out / "report.html") in captured.out
    assert {p.name for p in out.iterdir()} >= {"predictions.csv", "metrics.json", "errors.csv", "confusions.csv",
                                                "run.json", "report.html"}
    metrics = strict_json((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["n_samples"] == 6
    info = strict_json((out / "run.json").read_text(encoding="utf-8"))
    assert info["command"].startswith("modelqa evaluate --model ")
    assert info["skipped_empty_rows"] == 2
    frame = pd.read_csv(out / "predictions.csv", encoding="utf-8-sig")
    assert frame["ID"].tolist() == ["n0", "n1", "n3", "n4", "n5", "n6"]
    assert frame["text"].tolist()[4] == "'=2+3"


def test_format_json_prints_metrics_json(tiny_model, data, tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["evaluate", "--model", str(tiny_model), "--data", str(data), "--on-empty", "skip",
               "--out", str(out), "--format", "json", "--device", "cpu"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    printed = strict_json(captured.out)
    assert printed == strict_json((out / "metrics.json").read_text(encoding="utf-8"))
    assert printed["labels"] == ["neg", "neu", "pos"]


def test_evaluate_predictions_file_flags(tmp_path, capsys):
    logits = np.array([[2.0, 0.1], [0.3, 1.5], [1.0, 1.2], [-1.0, 0.5]])
    path = tmp_path / "scores.csv"
    pd.DataFrame({"gold": ["no", "yes", "no", "yes"], "prob_no": logits[:, 0], "prob_yes": logits[:, 1]}).to_csv(
        path, index=False)
    out = tmp_path / "run"
    rc = main(["evaluate", "--predictions", str(path), "--label-col", "gold", "--scores", "logits",
               "--pos-label", "no", "--out", str(out), "--format", "json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    doc = strict_json(captured.out)
    assert doc["task"] == "binary" and doc["labels"] == ["no", "yes"]
    assert doc["metrics"]["accuracy"] == 0.75  # argmax of the logits: no, yes, yes, yes
    assert doc["metrics"]["recall"] == 0.5  # of the positive class "no"


def test_normalize_probs_flag(tmp_path, capsys):
    path = tmp_path / "p.csv"
    pd.DataFrame({"label": ["a", "b"], "prob_a": [0.4, 0.1], "prob_b": [0.4, 0.3]}).to_csv(path, index=False)
    out = tmp_path / "run"
    assert main(["evaluate", "--predictions", str(path), "--out", str(out), "--quiet"]) == 3
    assert not out.exists()
    capsys.readouterr()
    rc = main(["evaluate", "--predictions", str(path), "--out", str(out), "--normalize-probs"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "2 probability rows rescaled" in captured.out
    frame = pd.read_csv(out / "predictions.csv", encoding="utf-8-sig")
    np.testing.assert_allclose(frame["prob_a"], [0.5, 0.25])


def test_predict_command(tiny_model, data, tmp_path, capsys):
    out = tmp_path / "preds.parquet"
    rc = main(["predict", "--model", str(tiny_model), "--data", str(data), "--id-col", "ID", "--on-empty", "skip",
               "--out", str(out), "--device", "cpu"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "6 rows predicted" in captured.err and "skipped 2 rows" in captured.err
    frame = pd.read_parquet(out)
    assert list(frame.columns) == ["ID", "text", "predicted_label", "confidence", "prob_neg", "prob_neu", "prob_pos"]
    assert frame["text"].tolist() == ["good", "bad", "fine", "awful film", "=2+3", "좋아요"]


def test_unnamed_model_label_map_through_cli(tiny_model_unnamed, tmp_path, capsys):
    path = tmp_path / "d.csv"
    pd.DataFrame({"text": ["x", "y", "z"], "label": ["b", "a", "b"]}).to_csv(path, index=False)
    out = tmp_path / "run"
    rc = main(["evaluate", "--model", str(tiny_model_unnamed), "--data", str(path), "--out", str(out),
               "--label-map", '{"0": "a", "1": "b"}', "--format", "json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert strict_json(captured.out)["labels"] == ["a", "b"]


HELP = {
    (): ["evaluate", "predict", "train", "demo"],
    ("evaluate",): ["--model", "--data", "--predictions", "--text-col", "--label-col", "--id-col", "--pred-col",
                    "--scores", "--normalize-probs", "--labels", "--label-map", "--on-empty", "--batch-size",
                    "--max-length", "--device", "--allow-pickle", "--out", "--format", "--quiet"],
    ("predict",): ["--model", "--data", "--out", "--text-col", "--id-col", "--batch-size", "--device"],
    ("train", "text"): ["--data", "--text-col", "--label-col", "--out"],
    ("demo",): ["--out"],
}


@pytest.mark.parametrize("command", list(HELP), ids=lambda c: " ".join(c) or "modelqa")
def test_help(command, capsys):
    rc = main([*command, "--help"])
    captured = capsys.readouterr()
    assert rc == 0
    for flag in HELP[command]:
        assert flag in captured.out, flag


def test_no_arguments_shows_help_not_an_internal_error(capsys):
    rc = main([])
    captured = capsys.readouterr()
    assert rc != 0 and rc != 70
    assert "internal error" not in captured.err
    assert "evaluate" in captured.out + captured.err
