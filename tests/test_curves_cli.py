"""modelqa curves: the API writes loss.png / metric.png atomically, the CLI prints the table
and the diagnosis (or JSON), bad input exits with the data-error code and writes nothing;
the training summary carries the diagnosis."""

from __future__ import annotations

import json

import pytest
from rich.console import Console
from test_curves_history import MODELQA_ROWS, trainer_state

from modelqa.api.curves import curves
from modelqa.cli.main import main
from modelqa.errors import DataError
from modelqa.report.training import print_training_summary

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
OVERFIT = {"loss": [1.0, 0.6, 0.4, 0.25, 0.15, 0.08], "val_loss": [1.0, 0.7, 0.6, 0.63, 0.72, 0.9],
           "accuracy": [0.5, 0.7, 0.8, 0.88, 0.93, 0.97], "val_accuracy": [0.5, 0.66, 0.72, 0.71, 0.7, 0.69]}


@pytest.fixture
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")


def write(path, obj):
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def pngs(folder):
    return {p.name: p.read_bytes()[:8] for p in folder.glob("*.png")}


def test_api_writes_both_plots_beside_the_history(tmp_path):
    result = curves(write(tmp_path / "keras.json", OVERFIT))
    assert pngs(tmp_path) == {"loss.png": PNG_MAGIC, "metric.png": PNG_MAGIC}
    assert result.paths == {"loss": tmp_path / "loss.png", "metric": tmp_path / "metric.png"}
    assert result.diagnosis.best_epoch == 3
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    json.dumps(result.to_dict(), allow_nan=False)


def test_api_validation_only_metric_and_out_folder(tmp_path):
    out = tmp_path / "plots" / "run1"
    result = curves(write(tmp_path / "history.json", MODELQA_ROWS), out=out)
    assert pngs(out) == {"loss.png": PNG_MAGIC, "metric.png": PNG_MAGIC}
    assert result.history.main_metric == "accuracy" and "accuracy" not in result.history.train_metrics


def test_api_loss_only_history_skips_metric_png(tmp_path):
    result = curves(write(tmp_path / "k.json", {"loss": [1.0, 0.8, 0.7], "val_loss": [1.0, 0.9, 0.85]}))
    assert set(pngs(tmp_path)) == {"loss.png"}
    assert any("metric.png was not written" in n for n in result.notes)


def test_api_diverged_history_still_plots(tmp_path):
    path = tmp_path / "k.json"
    path.write_text('{"loss": [1.0, 0.5, 1e9, NaN], "val_loss": [1.0, 0.6, Infinity, NaN]}', encoding="utf-8")
    result = curves(path)
    assert "exploding" in result.diagnosis.codes()
    assert pngs(tmp_path)["loss.png"] == PNG_MAGIC


def test_cli_table_output(tmp_path, capsys, wide):
    path = write(tmp_path / "keras.json", OVERFIT)
    assert main(["curves", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Learning curves" in out and "keras format, 6 epochs" in out
    assert "3 *" in out  # the best epoch is marked
    assert "Over-fitting from epoch 4" in out
    assert str(tmp_path / "loss.png") in out and str(tmp_path / "metric.png") in out


def test_cli_json_output_and_out_dir(tmp_path, capsys):
    state = write(tmp_path / "trainer_state.json", trainer_state())
    out = tmp_path / "curves"
    assert main(["curves", str(state), "--out", str(out), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["history"]["format"] == "huggingface" and doc["history"]["n_epochs"] == 3
    assert [row["epoch"] for row in doc["history"]["epochs"]] == [1, 2, 3]
    assert doc["diagnosis"]["findings"][0]["code"] == "best_epoch"
    assert doc["paths"] == {"loss": str(out / "loss.png"), "metric": str(out / "metric.png")}
    assert pngs(out) == {"loss.png": PNG_MAGIC, "metric.png": PNG_MAGIC}


@pytest.mark.parametrize(("content", "expected"), [
    ('{"model": "bert"}', "not a training history"),
    ('{"loss": [1.0, 0.5], "val_loss": [1.0]}', "different lengths"),
    ("[]", "empty"),
    ("not json", "not valid JSON"),
])
def test_cli_bad_history_exits_3_and_writes_nothing(tmp_path, capsys, content, expected):
    path = tmp_path / "h.json"
    path.write_text(content, encoding="utf-8")
    assert main(["curves", str(path)]) == DataError.exit_code
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(path) in err and expected in err
    assert list(tmp_path.iterdir()) == [path]


def test_cli_missing_file_and_bad_format(tmp_path, capsys):
    assert main(["curves", str(tmp_path / "absent.json")]) == 3
    assert "no such file" in capsys.readouterr().err
    path = write(tmp_path / "k.json", OVERFIT)
    assert main(["curves", str(path), "--format", "yaml"]) == 2
    assert "--format must be one of table, json" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.png"))


def test_training_summary_prints_the_diagnosis():
    console = Console(record=True, width=200)
    kwargs = dict(model_dir="m", labels=["a", "b"], split_sizes={"train": 8}, cleaning={}, length_stats={},
                  history=MODELQA_ROWS, best_epoch=3, notes=[], seconds=1.0, console=console)
    print_training_summary(**kwargs)  # the old call still works
    assert "Learning curves" not in console.export_text()
    print_training_summary(**kwargs, diagnosis=["Over-fitting from epoch 4: stop at epoch 3."])
    text = console.export_text()
    assert "Learning curves" in text and "- Over-fitting from epoch 4: stop at epoch 3." in text
