"""Options shared by several commands (one definition, one help text)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Data = Annotated[Path, typer.Option("--data", help="Labelled data: .csv, .tsv, .parquet, .jsonl or .xlsx.")]
TextCol = Annotated[str, typer.Option("--text-col", help="Column with the input text.")]
LabelCol = Annotated[str, typer.Option("--label-col", help="Column with the true label (a name or an integer id).")]
IdCol = Annotated[str | None, typer.Option("--id-col", help="Column that identifies rows; copied to the outputs.")]
Encoding = Annotated[str | None, typer.Option(
    "--encoding", help="Text encoding of CSV/TSV/JSONL (default: detect UTF-8, UTF-8 with BOM, CP949/EUC-KR).")]
Sheet = Annotated[str | None, typer.Option("--sheet", help="Excel sheet name or 0-based index (default: the first).")]
OnEmpty = Annotated[str, typer.Option(
    "--on-empty", help="Rows with empty text: 'error' (list them and stop) or 'skip' (drop and report).")]
BatchSize = Annotated[int, typer.Option("--batch-size", min=1, help="Rows per inference batch.")]
MaxTokens = Annotated[int | None, typer.Option(
    "--max-tokens", min=0, help="Padded tokens per inference batch (rows x longest row; default 2048, 0: no budget, "
                                "--batch-size rows whatever their length).")]
MaxLength = Annotated[int | None, typer.Option(
    "--max-length", min=2, help="Token limit per text (default: the model's); longer texts are truncated.")]
Device = Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")]
Labels = Annotated[str | None, typer.Option(
    "--labels", help="Comma-separated class names in model output order (when the model has none).")]
LabelMap = Annotated[str | None, typer.Option(
    "--label-map", help="JSON file or text mapping ids to names ({\"0\": \"neg\", …}) or names to ids.")]
AllowPickle = Annotated[bool, typer.Option(
    "--allow-pickle", help="Load pytorch_model.bin (pickle) weights. Only for models you trust.")]
Precision = Annotated[str, typer.Option(
    "--precision", help="fp32 (default), bf16 (GPU, or a CPU with AVX512-BF16/AMX: faster, probabilities within "
                        "about 0.03) or fp16 (GPU only). See docs/performance.md.")]
Quantize = Annotated[str, typer.Option(
    "--quantize", help="none, or int8: int8 Linear layers on the CPU (faster; the head stays "
    "float32; argmax agrees with float32 on most rows, see docs/performance.md).")]
Backend = Annotated[str, typer.Option(
    "--backend", help="torch (default), or onnx: ONNX Runtime on the CPU, exported once and cached in MODEL/.modelqa-onnx "
                      "by the weights' hash (pip install \"modelqa[onnx]\"; docs/performance.md).")]
Engine = Annotated[str, typer.Option(
    "--engine", help="local (default), or ray: predict with a pool of Ray actors, on this machine or the cluster "
                     "RAY_ADDRESS names (pip install \"modelqa[ray]\"; docs/ray.md).")]
RayActors = Annotated[int | None, typer.Option(
    "--ray-actors", min=1, help="With --engine ray: actors, each loading the model once (default: as many as the "
                                "cluster's CPUs, or GPUs, allow, at most one per chunk).")]
ChunkRows = Annotated[int | None, typer.Option(
    "--chunk-rows", min=1, help="Rows per durable chunk of a model's predictions (default 4096). With --out, "
                                "finished chunks are kept so a killed run resumes when started again.")]
Restart = Annotated[bool, typer.Option(
    "--restart", help="Discard the chunks an unfinished run left in --out and predict every row again.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or log lines.")]
DropCol = Annotated[list[str] | None, typer.Option(
    "--drop-col", help="A column to leave out of the features (an ID, a leak; repeatable). ID-like columns are "
                       "found without it too.")]
#: The old spelling of --drop-col in train tabular / sweep tabular / profile (one release, then removed).
DroppedIdCol = Annotated[list[str] | None, typer.Option(
    "--id-col", hidden=True, help="Deprecated here: use --drop-col (--id-col names the one kept identifier of "
                                  "evaluate / predict).")]
ValData = Annotated[Path | None, typer.Option("--val-data", help="Validation file (needs --test-data; then all "
                                                                 "of --data trains).")]
TestData = Annotated[Path | None, typer.Option("--test-data", help="Test file; --data is then split 80/20 into "
                                                                   "train/validation.")]
SimpleBaseline = Annotated[bool, typer.Option(
    "--simple-baseline/--no-simple-baseline", help="Fit a char n-gram TF-IDF + logistic regression on the model's "
                                                   "training split and compare it with the model (text models "
                                                   "whose modelqa.json names the training data; docs/metrics.md).")]
Format = Annotated[str, typer.Option("--format", help="Console output: 'table' (for people) or 'json' (for programs).")]


# The arguments of the running command, set by cli.main.main(); recorded in run.json.
ARGV: list[str] = []


def command_line() -> str:
    """The command as typed, e.g. ``modelqa evaluate --model m --data d.csv``."""
    import shlex

    return "modelqa " + shlex.join(ARGV)


def split_labels(labels: str | None) -> list[str] | None:
    return [x.strip() for x in labels.split(",")] if labels else None


def check_choice(value: str, flag: str, choices: tuple[str, ...]) -> str:
    from modelqa.errors import UsageError

    if value not in choices:
        raise UsageError(f"{flag} must be one of {', '.join(choices)}, not {value!r}")
    return value


def sheet_value(sheet: str | None):
    """``--sheet``: a 0-based index when it is all digits, else the sheet's name."""
    return int(sheet) if sheet is not None and sheet.isdigit() else sheet


def drop_columns(drop_col: list[str] | None, id_col: list[str] | None) -> list[str] | None:
    """The columns to drop: ``--drop-col``, plus the deprecated ``--id-col`` spelling (with a warning)."""
    if id_col:
        typer.echo("modelqa: --id-col is deprecated for a dropped column list; use --drop-col (the same meaning; "
                   "--id-col will go in the next release)", err=True)
    cols = list(drop_col or []) + list(id_col or [])
    return cols or None


# Training options of `train text` and `train tabular` (and `sweep text` where the meaning is the same).
# Sweeps take comma-separated lists for the swept ones (cli/sweep.py), so those stay separate there.
Epochs = Annotated[int, typer.Option("--epochs", min=1, help="Most epochs to train.")]
TrainBatchSize = Annotated[int, typer.Option("--batch-size", min=1, help="Training batch size.")]
Patience = Annotated[int, typer.Option("--patience", min=0, help="Epochs without improvement before stopping "
                                                                 "(0: never stop early).")]
MinDelta = Annotated[float, typer.Option("--min-delta", help="Smallest change that counts as improvement.")]
ClassWeight = Annotated[str, typer.Option("--class-weight", help="'none' or 'balanced' (weights classes by inverse "
                                                                 "frequency).")]
TrainSeed = Annotated[int, typer.Option("--seed", help="Seed for the split, shuffling and initialisation.")]
Target = Annotated[str, typer.Option("--target", help="Column to predict (Yes/No, class names or numbers).")]


def out_option(help: str):
    """``--out``: one flag in every command; what it names (a run folder, a file) is the command's
    own help text."""
    return typer.Option("--out", help=help)


def lr_option(help: str):
    """``--lr``: the learning rate; the help says which optimiser and schedule it feeds."""
    return typer.Option("--lr", help=help)


def monitor_option(help: str):
    """``--monitor``: the validation metric for early stopping; the help lists the command's choices."""
    return typer.Option("--monitor", help=help)
