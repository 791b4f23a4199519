"""``modelqa.render_report``: render a run folder's report.html (and figures/, tables/) again."""

from __future__ import annotations

from pathlib import Path

from modelqa.api.evaluation import Evaluation


def render_report(run_dir: str | Path) -> dict[str, Path]:
    """Read ``run_dir`` (metrics.json, predictions.csv, errors.csv, …) and write report.html,
    figures/ and tables/ again with the current version of modelqa; the data files are left
    as they are. Returns the paths written."""
    return Evaluation.load(run_dir).write_report(run_dir)
