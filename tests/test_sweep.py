"""Hyper-parameter sweeps: grid parsing and expansion, ranking, error capture, summary files,
resume of an interrupted sweep (generic machinery with a fake trainer, then the tiny BERT)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import keyword_frame

from modelqa.errors import RunError, UsageError
from modelqa.train.sweep import (
    RESULT_FILE,
    TrialOutcome,
    config_name,
    expand_grid,
    parse_values,
    run_sweep,
    sort_rows,
)

# ---------------------------------------------------------------- grid

def test_parse_values():
    assert parse_values("5e-5, 2e-5,1e-5", float, "--lr") == [5e-5, 2e-5, 1e-5]
    assert parse_values([16, 32], int, "--batch-size") == [16, 32]
    assert parse_values("16", int, "--batch-size") == [16]
    with pytest.raises(UsageError, match="--lr lists 1e-05 more than once"):
        parse_values("1e-5,0.00001", float, "--lr")
    with pytest.raises(UsageError, match="--batch-size: 'x' is not a valid value"):
        parse_values("16,x", int, "--batch-size")
    with pytest.raises(UsageError, match="comma-separated"):
        parse_values("16,,32", int, "--batch-size")


def test_expand_grid_is_the_cartesian_product_in_order():
    grid = {"lr": [5e-5, 2e-5, 1e-5], "batch_size": [16, 32, 64], "epochs": [10]}
    configs = expand_grid(grid)
    assert len(configs) == 9
    assert configs[0] == {"lr": 5e-5, "batch_size": 16, "epochs": 10}
    assert configs[1] == {"lr": 5e-5, "batch_size": 32, "epochs": 10}
    assert configs[-1] == {"lr": 1e-5, "batch_size": 64, "epochs": 10}
    assert len({config_name(c) for c in configs}) == 9
    assert config_name(configs[0]) == "lr5e-05_bs16_ep10"
    assert config_name({"max_length": "auto", "class_weight": None}) == "lenauto_cwnone"
    assert expand_grid({}) == [{}]
    with pytest.raises(UsageError):
        expand_grid({"lr": []})


def test_text_grid_checks_values():
    from modelqa.api.sweep import text_grid

    assert text_grid({"lr": "1e-4,5e-5", "max_length": "auto,64", "class_weight": "none,balanced"}) == {
        "lr": [1e-4, 5e-5], "max_length": ["auto", 64], "class_weight": [None, "balanced"]}
    with pytest.raises(UsageError, match="--lr values must be above 0"):
        text_grid({"lr": "1e-4,0"})
    with pytest.raises(UsageError, match="cannot sweep 'seed'"):
        text_grid({"seed": "1,2"})
    with pytest.raises(UsageError, match="--class-weight"):
        text_grid({"class_weight": "balanced,heavy"})


def test_sort_rows_min_max_and_failures_last():
    rows = [{"name": "a", "status": "ok", "best_value": 0.5}, {"name": "b", "status": "failed", "best_value": None},
            {"name": "c", "status": "ok", "best_value": 0.2}, {"name": "d", "status": "pending", "best_value": None},
            {"name": "e", "status": "ok", "best_value": 0.9}, {"name": "f", "status": "ok", "best_value": 0.2}]
    assert [r["name"] for r in sort_rows(rows, "min")] == ["c", "f", "a", "e", "b", "d"]
    assert [r["name"] for r in sort_rows(rows, "max")] == ["e", "a", "c", "f", "b", "d"]


# ---------------------------------------------------------------- machinery with a fake trainer

class FakeTrainer:
    """best_value = lr * batch_size; lr 0 raises; records every call."""

    def __init__(self):
        self.calls: list[tuple[dict, bool]] = []

    def __call__(self, params, run_dir: Path, resume: bool) -> TrialOutcome:
        self.calls.append((params, resume))
        run_dir.mkdir(parents=True, exist_ok=True)
        if params["lr"] == 0:
            raise UsageError("--lr must be above 0")
        if params["lr"] < 0:
            raise ValueError("negative\nsecond line")
        return TrialOutcome(best_value=params["lr"] * params["batch_size"], best_epoch=params["batch_size"] // 8,
                            test_accuracy=0.5)


def test_failures_are_recorded_and_the_sweep_goes_on(tmp_path):
    fake = FakeTrainer()
    res = run_sweep(grid={"lr": [0.1, 0, -1.0, 0.3], "batch_size": [8, 16]}, out=tmp_path, train_fn=fake,
                    monitor="val_loss", mode="min", fingerprint={"data": "x"})
    assert len(fake.calls) == 8
    assert [r["status"] for r in res.rows] == ["ok"] * 4 + ["failed"] * 4
    assert [r["best_value"] for r in res.rows[:4]] == pytest.approx([0.8, 1.6, 2.4, 4.8])
    assert res.best == "lr0.1_bs8" and res.n_failed == 4
    errors = {r["name"]: r["error"] for r in res.rows if r["status"] == "failed"}
    assert errors["lr0_bs8"] == "--lr must be above 0"
    assert errors["lr-1_bs16"] == "ValueError: negative second line"
    doc = json.loads((tmp_path / "summary.json").read_text())
    assert doc["complete"] and doc["best"]["name"] == "lr0.1_bs8" and doc["counts"] == {"ok": 4, "failed": 4,
                                                                                            "pending": 0}
    csv = pd.read_csv(tmp_path / "summary.csv", encoding="utf-8-sig")
    assert list(csv["name"]) == [r["name"] for r in res.rows]
    assert list(csv.columns[:4]) == ["rank", "name", "lr", "batch_size"]
    assert "best_val_loss" in csv.columns and csv["rank"].iloc[0] == 1
    assert (tmp_path / "runs" / "lr0_bs8" / RESULT_FILE).is_file()


def test_rerun_skips_finished_retries_failed_and_resumes_started(tmp_path):
    grid = {"lr": [0.1, 0, 0.3], "batch_size": [8]}
    run_sweep(grid=grid, out=tmp_path, train_fn=FakeTrainer(), monitor="val_accuracy", mode="max")
    (tmp_path / "runs" / "lr0.3_bs8" / RESULT_FILE).unlink()  # as if killed while training it
    fake = FakeTrainer()
    res = run_sweep(grid=grid, out=tmp_path, train_fn=fake, monitor="val_accuracy", mode="max")
    assert [(c[0]["lr"], c[1]) for c in fake.calls] == [(0, True), (0.3, True)]  # run_dir exists: resume
    assert res.ran == ["lr0_bs8", "lr0.3_bs8"] and res.skipped == ["lr0.1_bs8"]
    assert res.best == "lr0.3_bs8"  # mode max
    fake = FakeTrainer()
    run_sweep(grid=grid, out=tmp_path, train_fn=fake, monitor="val_accuracy", mode="max", retry_failed=False)
    assert fake.calls == []
    # a wider grid reuses what is done
    fake = FakeTrainer()
    res = run_sweep(grid={"lr": [0.1, 0.3], "batch_size": [8, 16]}, out=tmp_path, train_fn=fake,
                    monitor="val_accuracy", mode="max")
    assert sorted(c[0]["batch_size"] for c in fake.calls) == [16, 16] and len(res.rows) == 4


def test_other_fixed_arguments_are_refused(tmp_path):
    run_sweep(grid={"lr": [0.1], "batch_size": [8]}, out=tmp_path, train_fn=FakeTrainer(), monitor="val_loss",
              mode="min", fingerprint={"seed": 1, "data": "abc"})
    with pytest.raises(RunError, match=r"seed: 1 \(earlier sweep\) vs 2 \(now\)"):
        run_sweep(grid={"lr": [0.1], "batch_size": [8]}, out=tmp_path, train_fn=FakeTrainer(), monitor="val_loss",
                  mode="min", fingerprint={"seed": 2, "data": "abc"})


def test_keyboard_interrupt_stops_the_sweep_with_a_summary(tmp_path):
    def trainer(params, run_dir, resume):
        if params["lr"] == 0.2:
            raise KeyboardInterrupt
        return TrialOutcome(best_value=params["lr"], best_epoch=1)

    with pytest.raises(KeyboardInterrupt):
        run_sweep(grid={"lr": [0.1, 0.2, 0.3]}, out=tmp_path, train_fn=trainer, monitor="val_loss", mode="min")
    doc = json.loads((tmp_path / "summary.json").read_text())
    assert not doc["complete"] and doc["counts"] == {"ok": 1, "failed": 0, "pending": 2}


# ---------------------------------------------------------------- with the tiny BERT

_frame = keyword_frame


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweepdata")
    _frame(12, 0).to_csv(d / "train.csv", index=False)
    _frame(6, 1).to_csv(d / "val.csv", index=False)
    _frame(6, 2).to_csv(d / "test.csv", index=False)
    return d


def _sweep(files, out, tiny_model, **kw):
    from modelqa.api.sweep import sweep_text

    args = dict(data=files / "train.csv", val_data=files / "val.csv", test_data=files / "test.csv", out=out,
                text_col="sentence", label_col="emotion", base_model=tiny_model,
                grid={"lr": "5e-3,1e-3", "max_length": "auto,1000", "epochs": "2"}, batch_size=8, seed=7,
                device="cpu", patience=0)
    args.update(kw)
    return sweep_text(**args)


@pytest.fixture(scope="module")
def swept(files, tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweeps") / "emo"
    return _sweep(files, out, tiny_model), out


def test_sweep_writes_a_sorted_summary_that_matches_the_runs(swept):
    res, out = swept
    doc = json.loads((out / "summary.json").read_text())
    assert doc["monitor"] == "val_loss" and doc["mode"] == "min" and doc["complete"]
    ok = [r for r in doc["configs"] if r["status"] == "ok"]
    assert {r["name"] for r in ok} == {"lr0.005_lenauto_ep2", "lr0.001_lenauto_ep2"}
    for row in ok:
        history = json.loads((Path(row["run_dir"]) / "history.json").read_text())
        best = min(history, key=lambda h: h["val_loss"])
        assert row["best_value"] == best["val_loss"] and row["best_epoch"] == best["epoch"]
        metrics = json.loads((Path(row["run_dir"]) / "evaluation" / "metrics.json").read_text())
        assert row["test_accuracy"] == metrics["metrics"]["accuracy"]
        assert row["seconds"] > 0 and not (Path(row["run_dir"]) / ".checkpoint").exists()
    assert ok[0]["best_value"] <= ok[1]["best_value"]
    assert doc["best"]["name"] == ok[0]["name"] == res.best
    failed = [r for r in doc["configs"] if r["status"] == "failed"]
    assert len(failed) == 2 and all("`max_length` 1000" in r["error"] for r in failed)
    assert [r["status"] for r in doc["configs"]] == ["ok", "ok", "failed", "failed"]
    csv = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    assert list(csv["name"]) == [r["name"] for r in doc["configs"]]
    assert list(csv["status"]) == ["ok", "ok", "failed", "failed"]


def test_rerun_trains_only_what_is_missing(swept, files, tiny_model):
    res, out = swept
    keep = out / "runs" / "lr0.005_lenauto_ep2" / "model.safetensors"
    stamp = keep.stat().st_mtime_ns
    (out / "runs" / "lr0.001_lenauto_ep2" / RESULT_FILE).unlink()
    again = _sweep(files, out, tiny_model, grid={"lr": "5e-3,1e-3", "max_length": "auto", "epochs": "2"})
    assert again.ran == ["lr0.001_lenauto_ep2"] and again.skipped == ["lr0.005_lenauto_ep2"]
    assert keep.stat().st_mtime_ns == stamp
    before = {r["name"]: r["best_value"] for r in res.rows if r["status"] == "ok"}
    assert {r["name"]: r["best_value"] for r in again.rows} == before  # same seed, same history
    with pytest.raises(RunError, match="seed"):
        _sweep(files, out, tiny_model, seed=8)


def test_an_interrupted_configuration_resumes_from_its_checkpoint(files, tiny_model, tmp_path, swept):
    """Killed in epoch 2 of the second configuration: the rerun skips the first and resumes the second."""
    res, _ = swept

    class StopAtSecondEpoch2:
        def __init__(self):
            self.seen, self.lines = 0, []

        def start(self, total, description):
            if description.startswith("Epoch 2/"):
                self.seen += 1
                if self.seen == 2:
                    raise KeyboardInterrupt

        def advance(self, n=1):
            pass

        def finish(self):
            pass

        def log(self, message):
            self.lines.append(message)

    grid = {"lr": "5e-3,1e-3", "epochs": "2"}
    out = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        _sweep(files, out, tiny_model, grid=grid, progress=StopAtSecondEpoch2(), evaluate_test=False)
    assert (out / "runs" / "lr0.001_ep2" / ".checkpoint").is_dir()
    progress = StopAtSecondEpoch2()
    progress.seen = -10
    again = _sweep(files, out, tiny_model, grid=grid, progress=progress, evaluate_test=False)
    assert again.ran == ["lr0.001_ep2"] and again.skipped == ["lr0.005_ep2"]
    assert any("resuming from the checkpoint of epoch 1" in line for line in progress.lines)
    expected = {r["params"]["lr"]: r["best_value"] for r in res.rows if r["status"] == "ok"}
    assert {r["params"]["lr"]: r["best_value"] for r in again.rows} == expected


def test_cli_sweep_text(files, tiny_model, tmp_path, capsys):
    from modelqa.cli.main import main

    base = ["sweep", "text", "--data", str(files / "train.csv"), "--val-data", str(files / "val.csv"),
            "--test-data", str(files / "test.csv"), "--text-col", "sentence", "--label-col", "emotion",
            "--base-model", str(tiny_model), "--epochs", "1", "--batch-size", "8,16", "--lr", "5e-3",
            "--device", "cpu", "--quiet", "--no-test", "--monitor", "val_accuracy"]
    code = main(base + ["--out", str(tmp_path / "s")])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "Sweep: 2 configurations" in printed and "Best: lr0.005_bs" in printed
    doc = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert doc["monitor"] == "val_accuracy" and doc["mode"] == "max"
    assert all(r["test_accuracy"] is None for r in doc["configs"])
    code = main(base[:-2] + ["--max-length", "1000", "--out", str(tmp_path / "bad")])
    captured = capsys.readouterr()
    assert code == 5 and "every one of the 2 configurations failed" in captured.err
    assert "Failed (2): lr0.005_bs8" in captured.out
    code = main(base + ["--lr", "0", "--out", str(tmp_path / "zero")])
    assert code == 2 and "--lr values must be above 0" in capsys.readouterr().err
