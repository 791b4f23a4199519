"""modelqa report"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def report_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Run folder of `modelqa evaluate` (or a model's evaluation/).")],
) -> None:
    """Render RUN_DIR/report.html (and figures/, tables/) again from the run's files."""
    from modelqa.api.report import render_report

    paths = render_report(run_dir)
    print(f"wrote {paths['report']}")
