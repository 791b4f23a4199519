"""modelqa train tabular"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelqa.cli import options as o
from modelqa.train.tabular import TabularTrainConfig

D = TabularTrainConfig()


def train_tabular_cmd(
    data: o.Data,
    target: o.Target,
    out: Annotated[Path, o.out_option("Folder for the model, history and test evaluation.")],
    task: Annotated[str | None, typer.Option("--task", help="binary, multiclass or regression (default: "
                                             "inferred from the target; see docs/tabular.md).")] = None,
    hidden: Annotated[str, typer.Option("--hidden", help="Hidden layer widths, comma-separated.")]
    = ",".join(map(str, D.hidden)),
    dropout: Annotated[float, typer.Option("--dropout", help="Dropout after each hidden layer.")] = D.dropout,
    batch_norm: Annotated[bool, typer.Option("--batch-norm/--no-batch-norm", help="Batch normalisation after "
                                             "each hidden linear layer.")] = D.batch_norm,
    weight_decay: Annotated[float, typer.Option("--weight-decay", help="AdamW (L2) weight decay.")]
    = D.weight_decay,
    class_weight: o.ClassWeight = "none",
    epochs: o.Epochs = D.epochs,
    lr: Annotated[float, o.lr_option("AdamW learning rate.")] = D.lr,
    batch_size: o.TrainBatchSize = D.batch_size,
    patience: o.Patience = D.patience,
    monitor: Annotated[str, o.monitor_option("Early stopping on val_loss (default), val_accuracy or val_f1_macro "
                                             "(classification), val_rmse (regression).")] = D.monitor,
    seed: o.TrainSeed = D.seed,
    test_data: o.TestData = None,
    val_data: o.ValData = None,
    drop_col: o.DropCol = None,
    id_col: o.DroppedIdCol = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run in --out from its last "
                                         "complete epoch.")] = False,
    encoding: o.Encoding = None,
    sheet: o.Sheet = None,
    quiet: o.Quiet = False,
) -> None:
    """Train a tabular MLP (classification or regression), keep the best epoch, and evaluate
    the test split. Saves model.safetensors, modelqa.json (with the preprocessing) and
    history.json into --out, and the test evaluation into --out/evaluation/."""
    from modelqa.api.tabular import train_tabular
    from modelqa.report.console import make_progress
    from modelqa.report.profile import print_tabular_training

    o.check_choice(class_weight, "--class-weight", ("none", "balanced"))
    if task is not None:
        o.check_choice(task, "--task", ("binary", "multiclass", "regression"))
    progress = make_progress(quiet)
    result = train_tabular(data=data, target=target, out=out, task=task, test_data=test_data, val_data=val_data,
                           id_cols=o.drop_columns(drop_col, id_col), encoding=encoding,
                           sheet=o.sheet_value(sheet), resume=resume,
                           progress=_EpochLines(progress), command=o.command_line(), hidden=hidden,
                           dropout=dropout, batch_norm=batch_norm, weight_decay=weight_decay,
                           class_weight=class_weight, epochs=epochs, lr=lr, batch_size=batch_size,
                           patience=patience, monitor=monitor, seed=seed)
    from modelqa.analysis.curves import diagnose_records

    diagnosis = diagnose_records(result.history).messages(exclude=("best_epoch",)) if result.history else []
    print_tabular_training(result, diagnosis=diagnosis)


class _EpochLines:
    """Epochs of a tabular MLP take milliseconds: log lines only, no per-epoch progress bars."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def start(self, total: int, description: str) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass

    def log(self, message: str) -> None:
        self.inner.log(message)
