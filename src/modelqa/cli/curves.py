"""modelqa curves"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelqa.cli import options as o


def curves_cmd(
    history: Annotated[Path, typer.Argument(help="history.json (modelqa), a Keras History.history saved as JSON, "
                                            "or a Hugging Face trainer_state.json (or a folder holding one).")],
    out: Annotated[Path | None, o.out_option("Folder for loss.png and metric.png "
                                             "(default: the history file's folder).")] = None,
    output_format: Annotated[str, typer.Option("--format", help="Console output: 'table' (per-epoch table and "
                                               "diagnosis) or 'json'.")] = "table",
) -> None:
    """Learning curves from a training history: loss.png, metric.png and a diagnosis.

    Names the best epoch, over-fitting (where validation loss starts rising while training
    loss falls), a large train/validation gap, oscillating or exploding loss, and curves still
    falling at the last epoch. Epochs are numbered from 1.
    """
    from modelqa.api.curves import curves
    from modelqa.report.console import print_json
    from modelqa.report.curves import print_curves

    o.check_choice(output_format, "--format", ("table", "json"))
    result = curves(history, out=out)
    if output_format == "json":
        print_json(result.to_dict())
    else:
        print_curves(result.to_dict())
