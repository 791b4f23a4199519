"""modelqa check"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from modelqa.cli import options as o


def default_check_dir() -> Path:
    return Path("runs") / datetime.now().strftime("check-%Y%m%d-%H%M%S")


def check_cmd(
    current: Annotated[Path, typer.Option("--current", help="The data to judge (new / test data): .csv, .tsv, "
                                          ".parquet, .jsonl or .xlsx. Columns no option names are the features; "
                                          "prob_<label> / predicted_label columns are the predictions.")],
    reference: Annotated[Path | None, typer.Option(
        "--reference", help="The data to compare with (training data): drift, leakage and label checks need it.")]
    = None,
    label_col: Annotated[str | None, typer.Option(
        "--label-col", help="Column with the true label (default: 'label' when there is one).")] = None,
    text_col: Annotated[str | None, typer.Option(
        "--text-col", help="Column with the input text (default: 'text' when there is one).")] = None,
    id_col: o.IdCol = None,
    model: Annotated[Path | None, typer.Option(
        "--model", help="A Hugging Face text classifier or a modelqa tabular model folder: predicts --current "
                        "(and --reference) for the model checks.")] = None,
    baseline: Annotated[Path | None, typer.Option(
        "--baseline", help="An earlier evaluate / check run folder on the same rows: regression checks.")] = None,
    suite: Annotated[Path | None, typer.Option(
        "--suite", help="YAML file choosing checks and thresholds, and behaviour tests (docs/check.md); "
                        "default: every check the inputs allow.")] = None,
    slice_col: Annotated[list[str] | None, typer.Option(
        "--slice-col", help="Column to slice the metrics by (repeat for several).")] = None,
    timestamp_col: Annotated[str | None, typer.Option(
        "--timestamp-col", help="Time column of --current for monitoring windows (with --window).")] = None,
    window: Annotated[str | None, typer.Option(
        "--window", help="Window length: 1D, 7D, 1H … or a row count such as 1000 (with --timestamp-col).")] = None,
    out: Annotated[Path | None, o.out_option(
        "Run folder: check.json, report.html, tables/ (default: runs/check-DATE-TIME).")] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help="Also write a JUnit XML file for CI.")] = None,
    fail_on: Annotated[str, typer.Option(
        "--fail-on", help="fail (default): exit 1 when a check fails or errors; warn: also when one warns.")]
    = "fail",
    seed: Annotated[int, typer.Option("--seed", help="Seed of every resample and sample (same seed, same "
                                      "check.json).")] = 0,
    cv: Annotated[int, typer.Option("--cv", min=2, help="Folds of the out-of-fold model behind the label "
                                    "checks of --reference.")] = 5,
    encoding: o.Encoding = None,
    sheet: o.Sheet = None,
    batch_size: o.BatchSize = 64,
    device: o.Device = "auto",
    output_format: o.Format = "table",
    quiet: o.Quiet = False,
) -> None:
    """Judge a model and its data: integrity, leakage, drift, label issues, weak slices,
    performance conditions, regressions against a baseline and behaviour tests, each pass /
    warn / fail.

    fail means the effect passes its threshold AND is significant after Benjamini-Hochberg
    correction over the run (or is an exact count) AND rests on enough rows; past the
    threshold without that is warn. A check that cannot run is skipped with the reason; one
    that crashes is an error and the rest still run. Exit code 0 when nothing failed, 1 when
    a check failed or errored (or warned, with --fail-on warn), 2-5 for bad options or inputs.
    """
    from modelqa.api.check import check
    from modelqa.report.console import make_progress, print_json
    from modelqa.report.qa_console import print_check_table

    o.check_choice(output_format, "--format", ("table", "json"))
    o.check_choice(fail_on, "--fail-on", ("fail", "warn"))
    run_dir = out or default_check_dir()
    progress = make_progress(quiet or output_format == "json")
    run = check(current=current, reference=reference, label_col=label_col, text_col=text_col, id_col=id_col,
                model=model, baseline=baseline, suite=suite, slice_cols=tuple(slice_col or ()),
                timestamp_col=timestamp_col, window=window, out=run_dir, junit=junit, fail_on=fail_on, seed=seed,
                cv=cv, encoding=encoding, sheet=int(sheet) if sheet is not None and sheet.isdigit() else sheet,
                batch_size=batch_size, device=device, progress=progress, command=o.command_line())
    doc = run.to_dict()
    if output_format == "json":
        print_json(doc)
    else:
        paths = {"Report": str(run_dir / "report.html"), "Results": str(run_dir / "check.json")}
        if junit is not None:
            paths["JUnit"] = str(junit)
        print_check_table(doc, paths=paths)
    if run.exit_code:
        raise typer.Exit(run.exit_code)
