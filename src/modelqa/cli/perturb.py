"""modelqa perturb"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelqa.cli import options as o


def perturb_cmd(
    data: Annotated[Path | None, typer.Option("--data", help="Data file (.csv, .tsv, .parquet, .jsonl, .xlsx).")] = None,
    perturbation: Annotated[str, typer.Option(
        "--perturbation", help="Perturbation name, e.g. ko-spacing, ko-typo, en-typo (--list shows all).")] = "",
    out: Annotated[Path | None, o.out_option("File to write: .csv, .parquet or .xlsx.")] = None,
    text_col: o.TextCol = "text",
    rate: Annotated[float | None, typer.Option(
        "--rate", help="Probability that each place the perturbation could edit is edited (0 < rate <= 1).")] = None,
    count: Annotated[int | None, typer.Option(
        "--count", min=1, help="Places edited per text (instead of --rate).")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed: the same seed gives the same output.")] = 0,
    encoding: o.Encoding = None,
    sheet: o.Sheet = None,
    list_: Annotated[bool, typer.Option("--list", help="List the perturbations and exit.")] = False,
    quiet: o.Quiet = False,
) -> None:
    """Write a copy of --data with the text column perturbed (typos, spacing, jamo, ...).

    The text column holds the perturbed text, <text-col>_original the original and
    'perturbed' whether the row changed. See docs/behaviour.md for every perturbation.
    """
    from modelqa.errors import UsageError

    if list_:
        from modelqa.analysis.perturb import PERTURBATIONS

        for p in PERTURBATIONS.values():
            typer.echo(f"{p.name:16} {p.kind:12} default {p.amount:10} {p.description}")
        return
    if data is None:
        raise UsageError("--data is required: the file whose text column is perturbed")
    if not perturbation:
        raise UsageError("--perturbation is required (modelqa perturb --list shows the names)")
    if out is None:
        raise UsageError("--out is required: the file to write (.csv, .parquet or .xlsx)")
    from modelqa.api.perturb import perturb

    res = perturb(data=data, perturbation=perturbation, text_col=text_col, rate=rate, count=count, seed=seed,
                  out=out, encoding=encoding, sheet=o.sheet_value(sheet))
    if not quiet:
        share = res.changed / res.rows if res.rows else 0.0
        typer.echo(f"{res.perturbation} ({res.amount}, seed {res.seed}): changed {res.changed} of {res.rows} texts "
                   f"({share:.1%}); {res.applicable} had a place to edit; {res.edits} edits", err=True)
        typer.echo(f"wrote {out}", err=True)
