"""modelqa profile"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelqa.cli import options as o


def profile_cmd(
    data: Annotated[Path, typer.Argument(help="Table to profile: .csv, .tsv, .parquet, .jsonl or .xlsx.")],
    target: Annotated[str | None, typer.Option("--target", help="Target column: its distribution and the task "
                                               "it implies (binary, multiclass, regression).")] = None,
    out: Annotated[Path | None, o.out_option("Also write the profile as JSON to this file.")] = None,
    drop_col: o.DropCol = None,
    id_col: o.DroppedIdCol = None,
    output_format: o.Format = "table",
    encoding: o.Encoding = None,
    sheet: o.Sheet = None,
) -> None:
    """What to check before training on a table: column types as read and as inferred, missing
    values, categories, numeric summaries, the target distribution, likely ID columns and
    numbers stored as text."""
    from modelqa.api.tabular import profile
    from modelqa.report.console import print_json
    from modelqa.report.profile import print_profile

    o.check_choice(output_format, "--format", ("table", "json"))
    doc = profile(data, target=target, out=out, id_cols=o.drop_columns(drop_col, id_col), encoding=encoding,
                  sheet=o.sheet_value(sheet))
    if output_format == "json":
        print_json(doc)
        return
    print_profile(doc, out_path=str(out) if out is not None else None)
