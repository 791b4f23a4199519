"""modelqa compare"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelqa.cli import options as o


def compare_cmd(
    run_a: Annotated[Path, typer.Argument(help="Run folder A (the baseline): `modelqa evaluate` or `check` --out.")],
    run_b: Annotated[Path, typer.Argument(help="Run folder B (the new run), on the same rows as A.")],
    out: Annotated[Path | None, o.out_option("Folder to write compare.json and tables/flips.csv into.")] = None,
    n_resamples: Annotated[int, typer.Option("--n-resamples", min=1, help="Paired bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
    output_format: o.Format = "table",
) -> None:
    """Compare run B with run A on the same rows, without judging.

    Per-metric deltas (B − A) with paired bootstrap intervals, McNemar's exact test on the
    rows one run gets right and the other wrong, per-class recall / F1 deltas and the rows
    that flipped. Runs on different rows are refused, saying why.
    """
    from modelqa.api.compare import compare
    from modelqa.report.compare import print_comparison
    from modelqa.report.console import print_json

    o.check_choice(output_format, "--format", ("table", "json"))
    result = compare(run_a, run_b, out=out, n_resamples=n_resamples, seed=seed)
    if output_format == "json":
        print_json(result.document)
        return
    print_comparison(result.document, paths={k: str(v) for k, v in result.paths.items()})
