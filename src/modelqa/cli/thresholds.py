"""modelqa thresholds"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelqa.cli import options as o


def thresholds_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Run folder of `modelqa evaluate` (binary, with probabilities).")],
    min_recall: Annotated[float | None, typer.Option(
        "--min-recall", help="Recall the 'min_recall' threshold must reach (default 0.8).")] = None,
    cost: Annotated[str | None, typer.Option(
        "--cost", help="Cost matrix cells, e.g. fp=1,fn=5 (also tp=, tn=; default fp=1,fn=1).")] = None,
    pos_label: Annotated[str | None, typer.Option(
        "--pos-label", help="Positive class (default: the run's positive class).")] = None,
    output_format: o.Format = "table",
) -> None:
    """Precision, recall, F1, specificity and cost across decision thresholds of a binary run.

    Prints the chosen thresholds (best F1, Youden's J, highest precision at --min-recall,
    lowest --cost) among a 0.1 grid, and writes RUN_DIR/thresholds.json.
    """
    from modelqa.api.thresholds import THRESHOLDS_FILE, thresholds
    from modelqa.report.console import print_json, print_thresholds

    o.check_choice(output_format, "--format", ("table", "json"))
    doc = thresholds(run_dir, min_recall=min_recall, cost=cost, pos_label=pos_label)
    if output_format == "json":
        print_json(doc)
        return
    print_thresholds(doc, path=str(Path(run_dir) / THRESHOLDS_FILE))
