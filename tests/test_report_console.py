"""Console summary, JSON output and the progress bar."""

from __future__ import annotations

import io
import json

from rich.console import Console
from test_report_sample import make_sample

from modelqa._types import NullProgress
from modelqa.report.console import RichProgress, make_progress, print_json, print_summary


def _console() -> Console:
    return Console(file=io.StringIO(), width=120, color_system=None, record=True)


def test_summary_has_scores_baselines_flags_and_paths():
    sample = make_sample(k=6, n=500, hostile=True)
    console = _console()
    print_summary(sample["result"], distribution=sample["distribution"],
                  paths={"report": "out/report.html", "errors": "out/errors.csv"}, console=console,
                  extra={"Model": "runs/[bold]x[/bold]"})
    text = console.export_text()
    result = sample["result"]
    assert f"{result['metrics']['accuracy']:.3f}" in text
    lo, hi = result["confidence_intervals"]["accuracy"]
    assert f"{lo:.3f}–{hi:.3f}" in text
    assert f"{result['metrics']['f1_macro']:.3f}" in text
    assert "majority" in text and "chance" in text
    n_errors = int((~sample["predictions"]["correct"]).sum())
    assert f"{n_errors} of 500" in text
    flags = sample["distribution"]
    for label in flags.loc[flags["flag"] == "over-predicted", "label"]:
        assert label in text
    for label in flags.loc[flags["flag"] == "under-predicted", "label"]:
        assert label in text
    assert "Over-predicted" in text
    assert "out/report.html" in text and "out/errors.csv" in text
    assert "runs/[bold]x[/bold]" in text  # data is not rich markup


def test_summary_without_flags_or_intervals():
    sample = make_sample(k=3, n=100)
    sample["result"].pop("confidence_intervals")
    sample["distribution"]["flag"] = ""
    console = _console()
    print_summary(sample["result"], distribution=sample["distribution"], paths={}, console=console)
    text = console.export_text()
    assert "Over-predicted" not in text and "Under-predicted" not in text
    assert "interval" not in text


def test_print_json_is_plain_and_nan_safe():
    import numpy as np

    buffer = io.StringIO()
    print_json({"metrics": {"accuracy": np.float64(0.5), "log_loss": float("nan")}, "labels": ["가", "나"]}, file=buffer)
    data = json.loads(buffer.getvalue())
    assert data == {"metrics": {"accuracy": 0.5, "log_loss": None}, "labels": ["가", "나"]}
    assert "\x1b[" not in buffer.getvalue()


def test_rich_progress_protocol():
    stream = io.StringIO()
    progress = RichProgress(Console(file=stream, width=100, force_terminal=False))
    progress.start(100, "predicting [red]rows[/red]")
    progress.advance(40)
    progress.log("checkpoint saved [x]")
    progress.advance(60)
    progress.finish()
    progress.finish()  # idempotent
    progress.start(5, "again")
    progress.advance()
    progress.finish()
    output = stream.getvalue()
    assert "checkpoint saved [x]" in output


def test_make_progress():
    assert isinstance(make_progress(True), NullProgress)
    assert isinstance(make_progress(False), RichProgress)
