"""``modelqa.render_report``: render a run folder's report.html (and figures/, tables/) again."""

from __future__ import annotations

from pathlib import Path

from modelqa.api.evaluation import Evaluation


def render_report(run_dir: str | Path) -> dict[str, Path]:
    """Read ``run_dir`` (metrics.json, predictions.csv, errors.csv, …) and write report.html,
    figures/ and tables/ again with the current version of modelqa; the data files are left
    as they are. Returns the paths written. A ``modelqa check`` run folder (check.json, no
    metrics.json) gets its QA page drawn again from check.json."""
    run_dir = Path(run_dir)
    if (run_dir / "check.json").is_file() and not (run_dir / "metrics.json").is_file():
        import json

        from modelqa.errors import DataError
        from modelqa.report.qa_html import write_qa_report

        try:
            doc = json.loads((run_dir / "check.json").read_text(encoding="utf-8"))
            return {"report": write_qa_report(doc, run_dir / "report.html")}
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{run_dir / 'check.json'}: not a check.json written by modelqa check ({exc})") from None
    return Evaluation.load(run_dir).write_report(run_dir)
